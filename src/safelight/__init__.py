"""Safelight: find known material by hash, trace its spread, and refer it to who can act."""

from safelight.errors import SafelightError

__all__ = ["SafelightError", "__version__"]
__version__ = "0.1.0"
