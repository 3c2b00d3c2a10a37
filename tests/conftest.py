"""Shared fixtures. The import below puts this repository's custom_components package
first, ahead of the test plugin's own testing_config/custom_components."""

import custom_components  # noqa: F401  # isort: skip
