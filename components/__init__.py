"""Reusable Pulumi components for ML platforms on GCP and AWS.

Components take plain typed arguments (TypedDicts) and know nothing about org.yaml; the org
layer in :mod:`stacks` maps an organisation file onto them.
"""
