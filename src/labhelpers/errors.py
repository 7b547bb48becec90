"""Every exception and warning labhelpers raises, in one place.

Each message says what went wrong *and* what to change. Catch :class:`LabError` to catch any of
them; each class also derives from the built-in exception a student would expect (a bad value is
a ``ValueError``, an unreachable service a ``RuntimeError``), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = ["LabError", "ConfigError", "ServiceError", "EmptySearchError", "AOIWarning"]


class LabError(Exception):
    """Base class of every labhelpers error."""


class ConfigError(LabError, RuntimeError):
    """The configuration does not point at a usable world.

    Raised when the profile is unknown, an environment override is malformed, or the offline
    profile is chosen while the stand-in is not running (no state file).
    """


class ServiceError(LabError, RuntimeError):
    """A service the lab needs (STAC API, blob storage, Dask Gateway) did not answer in time.

    The message names the service, its address and what to do; it never contains a SAS token.
    """


class EmptySearchError(LabError, ValueError):
    """A STAC search matched no items; the message repeats the AOI, dates and cloud limit."""


class AOIWarning(UserWarning):
    """An AOI was accepted after an unambiguous fix (closing the ring, adding the outer list)."""
