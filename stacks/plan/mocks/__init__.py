"""Mock answers of the offline plan: what each cloud would return for a registration."""
