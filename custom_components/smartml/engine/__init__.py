"""The SmartML learning engine: plain Python and numpy, no Home Assistant imports."""
