"""Fixtures shared with the component tests (real Home Assistant harness)."""

from __future__ import annotations

from tests.components.conftest import auto_enable_custom_integrations, mock_entry  # noqa: F401
