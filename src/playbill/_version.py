"""The version of playbill (read by the build, and by sweeps to match their workers)."""

__version__ = "0.1.0.dev0"
"""The installed version of playbill."""
