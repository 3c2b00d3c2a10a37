"""Fixtures shared with the component tests (real Home Assistant harness)."""

from __future__ import annotations

from tests.components.conftest import (  # noqa: F401
    auto_enable_custom_integrations,
    mock_entry,
    timers_due_now_run,
)
