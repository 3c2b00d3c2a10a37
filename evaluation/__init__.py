"""Evaluation tasks behind scripts/evaluate (not shipped with the integration)."""
