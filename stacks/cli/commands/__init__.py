"""Bodies of the CLI commands: plain functions the click layer in stacks/cli/app.py calls."""
