"""Where the offline archive lives on disk, its sizes, and how its MPC hrefs map to the blob server.

The archive is written exactly as MPC publishes it: item hrefs are real Azure Blob URLs such as
``https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/10/U/EE/...``. Only when the items
are loaded into the local STAC API are hrefs pointed at the local blob server (Azurite), with
:func:`localize_href`. That keeps one archive valid for any port, and keeps "what MPC looks
like" and "where it is served" apart.

Sizes (one vocabulary for every generator)::

    ci     what the notebooks, exercises, hidden tests and CI use (the default)
    full   every pass and a larger window, for the benchmarks
    test   seconds to build, for unit tests of the generators only (never built into archive/)

On-disk layout of one archive (``archive_dir(size)``)::

    blobs/<account>/<container>/<blob path>   the files (COGs, HDF4, XML, PNG, ...)
    stac/collections/<collection id>.json     STAC collections
    stac/items/<collection id>.ndjson         STAC items, one JSON per line, MPC hrefs
    truth/                                    rasters the truth refers to (land cover)
    manifest.json                             known truth for tests (written by the builders)
    checksums.json                            {"<account>/<container>/<blob path>":
                                                {"size": <bytes>, "sha256": "<hex>"}} for every
                                              file under blobs/, computed once by the build, so
                                              ``up`` can check what it serves without re-hashing
                                              against anything but this file
    BUILD_OK                                  written last: the build is complete
"""

from __future__ import annotations

import re
from pathlib import Path

from labhelpers_standin.state import offline_dir

__all__ = ["SIZES", "TEST_SIZE", "ALL_SIZES", "check_size", "archive_dir", "blob_path", "blob_name", "mpc_href",
           "localize_href"]

#: The archive sizes ``labhelpers offline build|up --size`` accepts.
SIZES = ("ci", "full")
#: The size unit tests build with (each generator's smallest plan); never served.
TEST_SIZE = "test"
ALL_SIZES = (*SIZES, TEST_SIZE)

AZURE_HREF = re.compile(r"^https://(?P<account>[a-z0-9]+)\.blob\.core\.windows\.net/(?P<rest>.*)$")


def check_size(size: str, allowed: tuple[str, ...] = ALL_SIZES) -> str:
    """Return ``size`` if it is one of ``allowed``.

    Parameters
    ----------
    size : str
    allowed : tuple of str

    Returns
    -------
    str

    Raises
    ------
    ValueError
        Naming the sizes to choose from.
    """
    if size not in allowed:
        raise ValueError(f"Unknown archive size {size!r}: choose one of {', '.join(allowed)}.")
    return size


def archive_dir(size: str = "ci") -> Path:
    """The folder of the ``ci`` or ``full`` archive.

    Parameters
    ----------
    size : {"ci", "full"}

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        For another size.
    """
    return offline_dir() / "archive" / check_size(size, SIZES)


def blob_path(root: Path, href: str) -> Path:
    """The local file behind an MPC blob href inside archive ``root``.

    Parameters
    ----------
    root : pathlib.Path
    href : str
        ``https://<account>.blob.core.windows.net/<container>/<path>``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        When ``href`` is not an Azure Blob URL.
    """
    m = AZURE_HREF.match(href)
    if not m:
        raise ValueError(f"Not an Azure Blob href: {href!r}")
    return root / "blobs" / m["account"] / m["rest"]


def blob_name(root: Path, path: Path) -> str:
    """The ``<account>/<container>/<blob path>`` key of a file under ``root/blobs`` (as in
    ``checksums.json``).

    Parameters
    ----------
    root : pathlib.Path
    path : pathlib.Path
        A file inside ``root/blobs``.

    Returns
    -------
    str
    """
    return Path(path).relative_to(Path(root) / "blobs").as_posix()


def mpc_href(account: str, container: str, path: str) -> str:
    """The MPC URL of a blob.

    Parameters
    ----------
    account, container, path : str

    Returns
    -------
    str
        ``https://{account}.blob.core.windows.net/{container}/{path}``.
    """
    return f"https://{account}.blob.core.windows.net/{container}/{path.lstrip('/')}"


def localize_href(href: str, blob_url: str) -> str:
    """Point an MPC blob href at the local blob server; other hrefs are returned unchanged.

    Parameters
    ----------
    href : str
    blob_url : str
        A template such as ``http://127.0.0.1:10000/{account}`` (Azurite's path-style URLs, one
        account per MPC storage account name).

    Returns
    -------
    str
    """
    m = AZURE_HREF.match(href)
    if not m:
        return href
    return f"{blob_url.format(account=m['account'])}/{m['rest']}"
