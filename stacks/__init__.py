"""The org layer: the org.yaml model, resolution per environment, the program, engine and CLI."""
