"""Reports on a plan: policy check, cost, diff, the plan tree."""
