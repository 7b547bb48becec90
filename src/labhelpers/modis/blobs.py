"""The blob route: list a tile's HDF4 files for a day in Azure Blob Storage, and download them.

MPC keeps the MODIS 6.1 HDF4 files in the ``modis-061`` container of the ``modiseuwest``
storage account, laid out as ``<product>/<hh>/<vv>/<YYYYDDD>/<file>.hdf`` (the original lab used
the retired ``modissa/modis-006``).
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.parse
from pathlib import Path

from labhelpers._net import reason as _reason
from labhelpers._net import redact as _safe
from labhelpers.modis.days import day_string

__all__ = ["container_client", "list_hdf", "blob_url", "download"]


def container_client(profile: str | None = None, account: str = "modiseuwest", container: str = "modis-061"):
    """An ``azure.storage.blob.ContainerClient`` for a MODIS container of the profile's blob storage.

    On Azure (``*.blob.core.windows.net``) the Planetary Computer's containers need a short-lived
    read-only SAS token, which the ``planetary_computer`` package fetches for you (no account
    needed). The token is a secret: it is passed as the client's credential and never printed.
    The offline stand-in's containers are public, so no token is asked for there.

    Parameters
    ----------
    profile : str, optional
        See :mod:`labhelpers.settings`.
    account, container : str
        MPC's storage account and container of the MODIS 6.1 HDF4 files.

    Returns
    -------
    azure.storage.blob.ContainerClient
    """
    from azure.storage.blob import ContainerClient

    from labhelpers.settings import get_settings

    account_url = get_settings(profile).blob_account_url(account)
    credential = None
    if urllib.parse.urlsplit(account_url).hostname.endswith(".blob.core.windows.net"):
        import planetary_computer

        credential = planetary_computer.sas.get_token(account, container).token
    return ContainerClient(account_url=account_url, container_name=container, credential=credential)


def list_hdf(container_client, product: str, h: int, v: int, day) -> list[str]:
    """Blob names of ``product``'s HDF4 files for tile ``h, v`` on ``day`` (``"YYYYDDD"`` or a date).

    MPC lays them out as ``<product>/<hh>/<vv>/<YYYYDDD>/<product>.A<YYYYDDD>.h<hh>v<vv>.061.<prod>.hdf``
    (``<prod>`` is when the file was produced), so one listing of that folder finds them. The
    result is sorted, so when a day was reprocessed the newest file is last. An empty list means
    the day is missing from the archive; this happens (MODIS has gaps), so check for it.

    Parameters
    ----------
    container_client : azure.storage.blob.ContainerClient
        From :func:`container_client`.
    product : str
        E.g. ``"MCD43A4"``.
    h, v : int
        The tile, e.g. from :func:`labhelpers.modis.tile_of`.
    day : str or date
        ``"YYYYDDD"`` or anything :func:`labhelpers.modis.day_string` accepts.

    Returns
    -------
    list of str
        Sorted blob names; empty when the day is missing.

    Raises
    ------
    ValueError
        For a tile off the grid or an unreadable day.
    """
    from labhelpers.modis.grid import _check_tile

    _check_tile(h, v)
    prefix = f"{product}/{int(h):02d}/{int(v):02d}/{day_string(day)}/"
    names = (b.name for b in container_client.list_blobs(name_starts_with=prefix))
    return sorted(n for n in names if n.endswith(".hdf"))


def blob_url(container_client, name: str) -> str:
    """The download URL of blob ``name`` (with the client's SAS token when it has one: keep it private).

    Parameters
    ----------
    container_client : azure.storage.blob.ContainerClient
    name : str
        A blob name from :func:`list_hdf`.

    Returns
    -------
    str
    """
    return container_client.get_blob_client(name).url


def download(url: str, dest: str | os.PathLike, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` with ``wget``; return the file's path.

    ``dest`` is a folder (created if needed; the file keeps the URL's name), or a file path when
    it has the same extension as the URL's file (``"data/chicago.hdf"`` for an ``.hdf`` URL).

    * **Cached**: if the file is already there, nothing is downloaded. That is safe to trust
      because of the next point.
    * **Atomic**: bytes go to a hidden temporary file in the same folder, which is checked
      against the server's Content-Length and only then renamed to the final name
      (``os.replace``: on one file system a rename is all-or-nothing). A download that is
      interrupted (error, Ctrl-C, a killed kernel) never leaves a file under the final name, so
      the cache can never serve half a file. Temporary files of a crashed process are named
      ``.<name>.*.part`` and are safe to delete.
    * ``progress``: wget's progress bar.

    The URL's query string (where SAS tokens live) is never printed or put in an error message.
    Raises ConnectionError when the server cannot be reached or refuses the file.

    Parameters
    ----------
    url : str
        E.g. from :func:`blob_url`.
    dest : str or path
        A folder, or a file path with the URL's extension.
    progress : bool, default True
        Show wget's progress bar.

    Returns
    -------
    pathlib.Path
        The downloaded (or already cached) file.

    Raises
    ------
    ConnectionError
        When the server cannot be reached or refuses the file.
    ValueError
        When no file name can be told from the URL.
    """
    import wget

    name = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    if not name:
        raise ValueError(f"Cannot tell a file name from {_safe(url)}: pass dest as a file path.")
    dest = Path(dest)
    is_file = not dest.is_dir() and dest.suffix.lower() == Path(name).suffix.lower() != ""
    target = dest if is_file else dest / name
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    os.unlink(part)  # wget must not see an existing file (it would pick another name)
    try:
        # wget stages into its own temp file named after ``out`` (same folder, as ``out`` is absolute).
        wget.download(url, out=str(Path(part).resolve()), bar=wget.bar_adaptive if progress else None)
        if progress:
            print()
        os.replace(part, target)
    except (urllib.error.URLError, urllib.error.ContentTooShortError, OSError) as err:
        hint = (
            "Check that the blob server is up (offline: `labhelpers offline up`) and the file exists; "
            "on Azure an HTTP 403 usually means the SAS token expired: make a new container_client()."
        )
        raise ConnectionError(f"Download of {_safe(url)} failed ({_reason(err)}). {hint}") from None
    finally:
        for leftover in target.parent.glob(f"{Path(part).name}*"):
            leftover.unlink(missing_ok=True)
    return target


