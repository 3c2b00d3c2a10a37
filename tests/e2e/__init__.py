"""Browser tests against the running demo home (scripts/e2e)."""
