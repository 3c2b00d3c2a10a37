"""Constants of the SmartML integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

from homeassistant.const import Platform

from .engine.constants import ENERGY_TYPES, KIND_ENERGY, KIND_ROUTINE, KIND_SECURITY, ROUTINE_TYPES, SECURITY_TYPES
from .engine.observations import ROLE_WATCHED

DOMAIN: Final = "smartml"
LOGGER = logging.getLogger(__package__)

PLATFORMS: Final = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR, Platform.SWITCH]

# Config entry options: the same keys as the home spec of DESIGN.md.
CONF_AREAS: Final = "areas"
CONF_OCCUPANCY: Final = "occupancy"
CONF_ENVIRONMENT: Final = "environment"
CONF_PRESENCE: Final = "presence"
CONF_POWER: Final = "power"
CONF_ENERGY: Final = "energy"
CONF_CLIMATE: Final = "climate"
CONF_SECURITY: Final = "security"
CONF_OUTDOOR_TEMPERATURE: Final = "outdoor_temperature"
CONF_NOTIFY: Final = "notify"
CONF_HISTORY_DAYS: Final = "history_days"
CONF_SENSITIVITY: Final = "sensitivity"
CONF_ENERGY_ANOMALIES: Final = "energy_anomalies"
# A calendar whose events are days not to learn from (holidays, guests).
CONF_EXCLUDE_CALENDAR: Final = "exclude_calendar"
CONF_ROUTINE_ANOMALIES: Final = "routine_anomalies"
# Numeric sensors watched for unusual values (security), each with a streaming detector.
CONF_SECURITY_SENSORS: Final = "security_sensors"
# Single devices or circuits (power or energy sensors) watched for being left on; not part
# of the house total.
CONF_DEVICES: Final = "devices"

DEFAULT_HISTORY_DAYS: Final = 28
MIN_HISTORY_DAYS: Final = 1
MAX_HISTORY_DAYS: Final = 365
SENSITIVITIES: Final = ["low", "medium", "high"]
DEFAULT_SENSITIVITY: Final = "medium"

# Entity domains each role accepts.
OCCUPANCY_DOMAINS: Final = ["binary_sensor"]
OCCUPANCY_DEVICE_CLASSES: Final = ["motion", "occupancy", "presence"]
PRESENCE_DOMAINS: Final = ["person", "device_tracker"]
ENVIRONMENT_DEVICE_CLASSES: Final = ["carbon_dioxide", "illuminance", "humidity", "temperature", "sound_pressure"]
SECURITY_DOMAINS: Final = ["binary_sensor", "lock", "alarm_control_panel", "cover"]
SECURITY_DEVICE_CLASSES: Final = ["door", "window", "garage_door", "opening", "lock", "motion", "tamper"]
# The role of a watched sensor that no other list uses.
ROLE_WATCHED_SENSOR: Final = ROLE_WATCHED
POWER_UNITS: Final = ["W", "kW"]
ENERGY_UNITS: Final = ["Wh", "kWh", "MWh"]

STORAGE_VERSION: Final = 1
STORAGE_MINOR_VERSION: Final = 6
# The main file (switch, feedback, live scores; a few kB) is written at most this long after
# a change. The observations, which the recorder gives back after a crash, far less often:
# at 200 entities x 28 days the file is about 20 MB, and twice a day keeps the store's
# writes under 50 MB a day (docs/benchmarks/performance.md).
SAVE_INTERVAL: Final = 600
OBSERVATIONS_SAVE_INTERVAL: Final = 12 * 3600
# Days kept beyond what the models learn from, so a longer history_days later still has data.
RETENTION_DAYS_MIN: Final = 56
# Hourly long-term statistics are kept for years; the energy model learns from this many days.
ENERGY_STATISTICS_DAYS: Final = 120

PREDICT_INTERVAL: Final = timedelta(minutes=1)
REFIT_INTERVAL: Final = timedelta(hours=6)


STATUS_COLLECTING: Final = "collecting"
STATUS_TRAINING: Final = "training"
STATUS_READY: Final = "ready"
STATUS_PAUSED: Final = "paused"

EVENT_ANOMALY: Final = "smartml_anomaly"
# Key of the watched sensors' detectors in the learned state's models.
MODEL_SENSOR_WATCH: Final = "sensor_watch"
# An anomaly keeps its binary sensor on this long unless it is marked normal.
ANOMALY_ACTIVE_SECONDS: Final = 30 * 60
MOBILE_ACTION_EVENT: Final = "mobile_app_notification_action"
MOBILE_ACTION_NORMAL: Final = "SMARTML_NORMAL_"
MAX_FEEDBACK: Final = 500
# The event entity's types: each anomaly type, and its kind for types added later.
ANOMALY_TYPES: Final = (KIND_SECURITY, KIND_ENERGY, *SECURITY_TYPES, *ENERGY_TYPES, KIND_ROUTINE, *ROUTINE_TYPES)
# Setpoints closer than this count as the same (thermostats round to 0.5 °C or 1 °F).
SETPOINT_TOLERANCE: Final = 0.3
DEFAULT_MANUAL_HOLD_MINUTES: Final = 120.0
MAX_MANUAL_HOLD_MINUTES: Final = 1440.0
DEFAULT_MIN_SETPOINT: Final = 7.0
DEFAULT_MAX_SETPOINT: Final = 35.0

SERVICE_RETRAIN: Final = "retrain"
SERVICE_IMPORT_HISTORY: Final = "import_history"
SERVICE_GET_FORECAST: Final = "get_forecast"
SERVICE_RESET: Final = "reset"
SERVICE_REPORT_FALSE_ALARM: Final = "report_false_alarm"
SERVICE_APPLY_SETPOINT: Final = "apply_setpoint"
SERVICE_EXCLUDE_PERIOD: Final = "exclude_period"
SERVICE_FORGET_DATA: Final = "forget_data"
SERVICE_REMOVE_EXCLUDED_PERIOD: Final = "remove_excluded_period"

ATTR_PATH: Final = "path"
ATTR_HOURS: Final = "hours"
ATTR_AREAS: Final = "areas"
ATTR_EVENT_ID: Final = "event_id"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_MANUAL_HOLD_MINUTES: Final = "manual_hold_minutes"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
ATTR_ENTITIES: Final = "entities"
ATTR_REASON: Final = "reason"
# An excluded period is at most this long (a season away is a reason to pause learning).
MAX_EXCLUDED_DAYS: Final = 92
DEFAULT_FORECAST_HOURS: Final = 24
MAX_FORECAST_HOURS: Final = 48

ISSUE_STORE_CORRUPT: Final = "store_corrupt"
# The main file was broken; the household's choices came back from their copy, or could not.
ISSUE_STORE_CORRUPT_MAIN: Final = "store_corrupt_main"
ISSUE_STORE_CORRUPT_CHOICES_LOST: Final = "store_corrupt_choices_lost"
ISSUE_RECORDER_EXCLUDES: Final = "recorder_excludes_entities"
ISSUE_RECORDER_KEEP_DAYS: Final = "recorder_keeps_fewer_days"
ISSUE_ENTITY_MISSING: Final = "entity_missing"
ISSUE_SENSOR_SILENT: Final = "sensor_silent"
ISSUE_SETPOINT_REFUSED: Final = "setpoint_refused"
