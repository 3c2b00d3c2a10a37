"""Performance benchmark of SmartML on a real Home Assistant (scripts/bench)."""
