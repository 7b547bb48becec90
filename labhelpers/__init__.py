"""labhelpers: thin helpers for the Planetary Computer remote-sensing lab."""

__version__ = "0.1.0"
