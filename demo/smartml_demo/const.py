"""Constants of the demo home integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "smartml_demo"
SIGNAL_UPDATE: Final = f"{DOMAIN}_update"
ENV_SPEED: Final = "SMARTML_DEMO_SPEED"
# config/demo, next to the custom_components folder this integration is linked into.
DATA_DIR_NAME: Final = "demo"
STORE_KEY: Final = DOMAIN
STORE_VERSION: Final = 1
