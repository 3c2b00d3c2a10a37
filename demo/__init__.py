"""The demo home that scripts/develop starts: data, preparation and a live feeder."""
