"""Reliability tests: hostile input, restarts, failing dependencies."""
