"""The org layer: org.yaml's model, loading with positions, validation, per-environment
resolution."""
