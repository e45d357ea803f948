"""Bodies of the CLI commands: plain functions the click layer in stacks/cli.py calls."""
