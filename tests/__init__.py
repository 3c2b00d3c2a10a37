"""Tests of SmartML."""
