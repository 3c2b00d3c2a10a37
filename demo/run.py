"""Start Home Assistant: `python demo/run.py -c config` is `python -m homeassistant -c config`.

The project's virtualenv may run on CPython 3.13.0, which runs Home Assistant 2026.2 well
(its test suite passes on it) but is below the 3.13.2 that the launcher asks for; only that
launcher check is relaxed here, for 3.13 versions. Run it as a file, not with -m from the
repository root: the root's custom_components package would hide the configuration's.
"""

from __future__ import annotations

import sys

from homeassistant import __main__ as ha_main

if sys.version_info[:2] == (3, 13) and sys.version_info[:3] < ha_main.REQUIRED_PYTHON_VER:
    ha_main.validate_python = lambda: None

if __name__ == "__main__":
    sys.argv[0] = "hass"
    sys.exit(ha_main.main())
