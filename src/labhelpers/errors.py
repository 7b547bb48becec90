"""Every exception and warning labhelpers raises, in one place.

Each message says what went wrong *and* what to change. Catch :class:`LabError` to catch any of
them; each class also derives from the built-in exception a student would expect (a bad value is
a ``ValueError``, a value of the wrong type also a ``TypeError``, an unreachable service a
``RuntimeError``, a failed download a ``ConnectionError``), so ``except ValueError`` keeps working.

No message ever holds a SAS token, a signed URL's query string or an account key: they are
redacted (``sig=<redacted>``) before an error is raised.
"""

from __future__ import annotations

__all__ = [
    "LabError", "ConfigError", "InputError", "InputTypeError", "MissingFileError", "UnknownCollectionError", "UnknownProductError",
    "StackTooLargeError", "EmptySearchError", "ServiceError", "DownloadError",
    "LabWarning", "AOIWarning", "SuspiciousInputWarning", "SizeWarning", "FallbackWarning",
]


class LabError(Exception):
    """Base class of every labhelpers error."""


class ConfigError(LabError, RuntimeError):
    """The configuration does not point at a usable world.

    Raised when the profile is unknown, an environment override is malformed (a STAC URL
    without ``http://``), or the offline profile is chosen while the stand-in is not running.
    """


class InputError(LabError, ValueError):
    """An argument has a value the function cannot use; the message names the argument and the fix.

    Examples: a bounding box in (lat, lon) order, a date written ``03/04/2019`` (ISO
    ``2019-03-04`` only), a resolution in degrees for a CRS in metres.
    """


class InputTypeError(InputError, TypeError):
    """An argument has the wrong type (text where a number is needed, one item instead of a list)."""


class MissingFileError(InputError, FileNotFoundError):
    """A local file named in an argument does not exist (also a ``FileNotFoundError``)."""


class UnknownCollectionError(InputError):
    """A STAC collection id that the catalog does not have (not the same as a search with no results)."""


class UnknownProductError(InputError):
    """A MODIS product that is not in the blob container (not the same as a day without a file)."""


class StackTooLargeError(InputError):
    """A stack would be larger than :data:`labhelpers.sentinel2.MAX_STACK_BYTES`; the message gives its size."""


class EmptySearchError(LabError, ValueError):
    """A STAC search matched no items; the message repeats the AOI, dates and cloud limit."""


class ServiceError(LabError, RuntimeError):
    """A service the lab needs (STAC API, blob storage, Dask Gateway, the token API) failed or did not
    answer in time, after the retries.

    The message names the service, its address, what was tried and what to do.
    """


class DownloadError(ServiceError, ConnectionError):
    """A file could not be downloaded (server down, file missing, access refused); nothing half-written is left."""


class LabWarning(UserWarning):
    """Base class of every labhelpers warning."""


class AOIWarning(LabWarning):
    """An AOI was accepted after an unambiguous fix (closing the ring, adding the outer list)."""


class SuspiciousInputWarning(LabWarning):
    """A value is valid but probably not what was meant (``max_cloud=0.25``: a fraction, not 25 %)."""


class SizeWarning(LabWarning):
    """A lazy array is larger than a worker's memory: computing it whole (``.compute()``) would fail."""


class FallbackWarning(LabWarning):
    """A configured service did not answer and a documented fallback is used (a LocalCluster, MPC's
    default storage account)."""
