"""The blob route: list a tile's HDF4 files for a day in Azure Blob Storage, and download them.

MPC keeps the MODIS 6.1 HDF4 files in the ``modis-061`` container of the ``modiseuwest``
storage account (the collection's ``msft:storage_account`` and ``msft:container``), laid out as
``<product>/<hh>/<vv>/<YYYYDDD>/<file>.hdf`` (the original lab used the retired ``modissa/modis-006``).

On Azure every request needs a short-lived SAS token (about 45 minutes, less from some regions).
A long loop must not outlive it, so a token is taken from the Planetary Computer's token API
with a timeout, cached (the cache ``planetary_computer.sign`` uses too) and fetched again when
less than :data:`TOKEN_MARGIN` seconds remain; every listing and every download uses a current
one, and an HTTP 403 in the middle of a loop is retried once with a brand-new token. The offline
stand-in's containers are public: no token there.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
from pathlib import Path

from labhelpers import _checks
from labhelpers._net import RETRIES, reason, redact, scrub
from labhelpers.errors import DownloadError, FallbackWarning, InputError, InputTypeError, ServiceError, \
    UnknownProductError
from labhelpers.modis._product import COLLECTION
from labhelpers.modis.days import day_string
from labhelpers.settings import get_settings, timeouts

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_CONTAINER", "TOKEN_MARGIN", "container_client", "list_hdf", "blob_url",
           "download"]

#: MPC's storage account and container of the MODIS 6.1 HDF4 files (2024), used when the
#: collection does not say (or the STAC API does not answer).
DEFAULT_ACCOUNT, DEFAULT_CONTAINER = "modiseuwest", "modis-061"
#: A cached SAS token with fewer seconds than this left is replaced before it is used.
TOKEN_MARGIN = 300


# --- SAS tokens ----------------------------------------------------------------------------------

def _is_azure(url: str) -> bool:
    return (urllib.parse.urlsplit(url).hostname or "").endswith(".blob.core.windows.net")


def _account_container(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    segments = parts.path.lstrip("/").split("/")
    if (parts.hostname or "").endswith(".blob.core.windows.net"):
        return parts.hostname.split(".")[0], segments[0]
    return segments[0], segments[1]  # path-style, as the stand-in's blob server


def _token(account: str, container: str, fresh: bool = False) -> str:
    """A SAS token for ``account/container`` with at least TOKEN_MARGIN seconds left (``fresh``: a new one)."""
    from planetary_computer import sas
    from planetary_computer.settings import Settings

    pc = Settings.get()
    url = f"{pc.sas_url}/{account}/{container}"
    cached = sas.TOKEN_CACHE.get(url)
    if cached is not None and not fresh and cached.ttl() > TOKEN_MARGIN:
        return cached.token
    headers = {"Ocp-Apim-Subscription-Key": pc.subscription_key} if pc.subscription_key else {}
    import requests

    for attempt in range(RETRIES + 1):
        try:
            r = requests.get(url, headers=headers, timeout=timeouts())
            r.raise_for_status()
            token = sas.SASToken(**r.json())
            break
        except (requests.RequestException, ValueError, TypeError) as err:
            failure = err
            if attempt < RETRIES:
                time.sleep(attempt + 0.5)
    else:
        raise ServiceError(f"The Planetary Computer's token API ({pc.sas_url}) gave no SAS token for {account}/"
                           f"{container} ({reason(failure)}; tried {RETRIES + 1} times). Try again in a minute; "
                           "check your connection.")
    sas.TOKEN_CACHE[url] = token
    return token.token


def _sign(url: str, fresh: bool = False) -> str:
    """``url`` with a current SAS token when it is on Azure (any old token replaced), else unchanged."""
    if not _is_azure(url):
        return url
    base = url.split("?", 1)[0]
    return f"{base}?{_token(*_account_container(base), fresh=fresh)}"


# --- the container ------------------------------------------------------------------------------

def _storage_of(profile: str | None) -> tuple[str, str]:
    """``msft:storage_account`` and ``msft:container`` of the MCD43A4 collection, else MPC's 2024 values."""
    import requests

    url = f"{get_settings(profile).stac_url}/collections/{COLLECTION}"
    try:
        r = requests.get(url, timeout=(timeouts()[0], min(timeouts()[1], 15)))
        r.raise_for_status()
        extra = r.json()
        return extra.get("msft:storage_account") or DEFAULT_ACCOUNT, extra.get("msft:container") or DEFAULT_CONTAINER
    except (requests.RequestException, ValueError, AttributeError) as err:
        warnings.warn(f"Could not read the storage account of {COLLECTION} from {url} ({reason(err)}); using "
                      f"{DEFAULT_ACCOUNT}/{DEFAULT_CONTAINER}.", FallbackWarning, stacklevel=3)
        return DEFAULT_ACCOUNT, DEFAULT_CONTAINER


def container_client(profile: str | None = None, account: str | None = None, container: str | None = None):
    """An ``azure.storage.blob.ContainerClient`` for a MODIS container of the profile's blob storage.

    On Azure (``*.blob.core.windows.net``) the Planetary Computer's containers need a short-lived
    read-only SAS token, which is fetched for you (no account needed) and renewed by
    :func:`list_hdf` before it expires. The token is a secret: it is held by the client's
    credential and never printed. The offline stand-in's containers are public.

    Parameters
    ----------
    profile : str, optional
        See :mod:`labhelpers.settings`.
    account, container : str, optional
        Storage account and container; default the collection's ``msft:storage_account`` and
        ``msft:container`` (:data:`DEFAULT_ACCOUNT`/:data:`DEFAULT_CONTAINER` when it does not say).

    Returns
    -------
    azure.storage.blob.ContainerClient
        With a timeout on every request and one retry.

    Raises
    ------
    InputError
        For an account or container name that Azure would refuse.
    ServiceError
        When no SAS token can be had.

    Warns
    -----
    FallbackWarning
        When the collection could not be read and MPC's default account and container are used.
    """
    from azure.core.credentials import AzureSasCredential
    from azure.storage.blob import ContainerClient, LinearRetry

    if account is None or container is None:
        found = _storage_of(profile)
        account, container = account or found[0], container or found[1]
    if not (isinstance(account, str) and re.fullmatch(r"[a-z0-9]{3,24}", account)):
        raise InputError(f"account={account!r} is not a storage account name (3-24 lower-case letters and digits, "
                         f"e.g. {DEFAULT_ACCOUNT!r}).")
    if not (isinstance(container, str) and re.fullmatch(r"[a-z0-9](-?[a-z0-9]){2,62}", container)):
        raise InputError(f"container={container!r} is not a container name (lower case, e.g. {DEFAULT_CONTAINER!r}).")
    account_url = get_settings(profile).blob_account_url(account)
    credential = AzureSasCredential(_token(account, container)) if _is_azure(account_url) else None
    connect, read = timeouts()
    return ContainerClient(account_url=account_url, container_name=container, credential=credential,
                           connection_timeout=connect, read_timeout=read,
                           retry_policy=LinearRetry(backoff=1, random_jitter_range=0.5, retry_total=RETRIES))


def _check_client(client) -> None:
    if not callable(getattr(client, "list_blobs", None)):
        raise InputTypeError(f"Expected the client from labhelpers.modis.container_client(), not {type(client).__name__}.")


def _with_token(client, what: str, call):
    """``call()`` with a current token; on HTTP 403 once more with a new one; failures as ServiceError."""
    from azure.core.credentials import AzureSasCredential
    from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

    signed = isinstance(getattr(client, "credential", None), AzureSasCredential)
    for attempt in range(2):
        if signed:
            client.credential.update(_token(client.account_name, client.container_name, fresh=attempt == 1))
        try:
            return call()
        except ResourceNotFoundError:
            raise InputError(f"There is no container {client.container_name!r} in {client.primary_hostname}: check the "
                             f"container name (MPC's MODIS files are in {DEFAULT_CONTAINER!r}).") from None
        except HttpResponseError as err:
            if err.status_code == 403 and signed and attempt == 0:
                continue
            failure = err
        except AzureError as err:
            failure = err
        break
    hint = ("check the blob server: `labhelpers offline status` (restart: `labhelpers offline up`)" if not signed else
            "HTTP 403 with a new token means access is refused; otherwise check your connection and try again")
    code = getattr(failure, "status_code", None)
    raise ServiceError(f"The blob server {client.primary_hostname} failed while {what} "
                       f"({f'HTTP {code}: ' if code else ''}{reason(failure)}; tried {RETRIES + 1} times, waiting up to "
                       f"{timeouts()[1]:.0f} s for each answer). To fix: {hint}.")


_PRODUCT = re.compile(r"M[OYC]D\d{2}[A-Z0-9]{1,6}")


def list_hdf(container_client, product: str, h: int, v: int, day) -> list[str]:
    """Blob names of ``product``'s HDF4 files for tile ``h, v`` on ``day`` (``"YYYYDDD"`` or a date).

    MPC lays them out as ``<product>/<hh>/<vv>/<YYYYDDD>/<product>.A<YYYYDDD>.h<hh>v<vv>.061.<prod>.hdf``
    (``<prod>`` is when the file was produced), so one listing of that folder finds them. The
    result is sorted, so when a day was reprocessed the newest file is last. An empty list means
    the day is missing from the archive; this happens (MODIS has gaps), so check for it. A product
    the container does not hold is an error, not an empty list.

    Parameters
    ----------
    container_client : azure.storage.blob.ContainerClient
        From :func:`container_client`.
    product : str
        E.g. ``"MCD43A4"`` (upper case, as MODIS names products).
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
    UnknownProductError
        For a product name that is not a MODIS product or not in the container.
    InputError
        For a tile off the grid or an unreadable day.
    ServiceError
        When the blob server fails or does not answer in time.
    """
    from labhelpers.modis.grid import _check_tile

    _check_client(container_client)
    _checks.text("product", product)
    if not _PRODUCT.fullmatch(product):
        hint = f" MODIS names are upper case: {product.upper()!r}." if _PRODUCT.fullmatch(product.upper()) else ""
        raise UnknownProductError(f"product={product!r} is not a MODIS product name such as 'MCD43A4'.{hint}")
    h, v = _check_tile(h, v)
    prefix = f"{product}/{h:02d}/{v:02d}/{day_string(day)}/"
    names = _with_token(container_client, f"listing {prefix}",
                        lambda: [b.name for b in container_client.list_blobs(name_starts_with=prefix)])
    hdf = sorted(n for n in names if n.endswith(".hdf"))
    if not hdf:
        def products():
            return [p.name.rstrip("/") for p in container_client.walk_blobs(delimiter="/") if p.name.endswith("/")]

        have = _with_token(container_client, "listing the products", products)
        if product not in have:
            raise UnknownProductError(f"The container {container_client.container_name!r} has no product {product!r}: "
                                      f"it has {', '.join(sorted(have)[:30]) or 'none'}.")
    return hdf


def blob_url(container_client, name: str) -> str:
    """The download URL of blob ``name``; on Azure signed with a current SAS token (keep it private).

    Parameters
    ----------
    container_client : azure.storage.blob.ContainerClient
    name : str
        A blob name from :func:`list_hdf`.

    Returns
    -------
    str
        :func:`download` signs it again with a current token, so a URL kept for a while still works.

    Raises
    ------
    InputTypeError
        When ``container_client`` is not a container client or ``name`` not a string.
    """
    _check_client(container_client)
    _checks.text("name", name)
    return _sign(container_client.get_blob_client(name).url)


# --- downloads ------------------------------------------------------------------------------------

class _Incomplete(OSError):
    pass


def _fetch(url: str, out: Path | None = None, progress: bool = False) -> bytes:
    """GET ``url`` (signed afresh on Azure) into ``out`` or memory, with timeouts and retries.

    Retries: RETRIES times after a dropped connection, a timeout, an incomplete body or HTTP 5xx/429;
    once with a new SAS token after an HTTP 403 from Azure.
    """
    attempt, fresh = 0, False
    while True:
        try:
            with urllib.request.urlopen(_sign(url, fresh=fresh), timeout=timeouts()[1]) as resp:
                total, done, chunks = int(resp.headers.get("Content-Length") or -1), 0, []
                with open(out, "wb") if out else _Memory(chunks) as sink:
                    while block := resp.read(1 << 20):
                        sink.write(block)
                        done += len(block)
                        if progress:
                            print(f"\r{Path(urllib.parse.urlsplit(url).path).name}: {done / 1e6:.1f} MB"
                                  + (f" of {total / 1e6:.1f} MB" if total >= 0 else ""), end="", file=sys.stderr)
                if total >= 0 and done != total:
                    raise _Incomplete(f"retrieval incomplete: got {done} of {total} bytes")
                return b"".join(chunks)
        except urllib.error.HTTPError as err:
            if err.code == 403 and _is_azure(url) and not fresh:
                fresh = True
                continue
            if err.code not in (429, 500, 502, 503, 504) or attempt >= RETRIES:
                hint = {404: "the file does not exist: list it again (list_hdf)",
                        403: "access refused" + (" even with a new SAS token" if _is_azure(url) else "")
                        }.get(err.code, "try again later")
                raise DownloadError(f"Download of {redact(url)} failed (HTTP {err.code} {err.reason}): {hint}.") from None
        except (urllib.error.URLError, OSError) as err:
            if attempt >= RETRIES:
                where = "`labhelpers offline status`, restart: `labhelpers offline up`" if not _is_azure(url) else \
                    "your connection"
                raise DownloadError(f"Download of {redact(url)} failed ({scrub(reason(err))}; tried {RETRIES + 1} times, "
                                    f"waiting up to {timeouts()[1]:.0f} s for each answer). Check the blob server "
                                    f"({where}) and that the file exists.") from None
        attempt += 1
        time.sleep(attempt)


class _Memory:
    def __init__(self, chunks: list):
        self.write = chunks.append

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def download(url: str, dest: str | os.PathLike, progress: bool = True) -> Path:
    """Download ``url`` to ``dest``; return the file's path.

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
    * **Bounded**: each answer is awaited at most :func:`labhelpers.settings.timeouts`; a dropped
      connection or an incomplete file is retried once; on Azure the URL is signed with a current
      SAS token, and an HTTP 403 is retried once with a new token.

    The URL's query string (where SAS tokens live) is never printed or put in an error message.

    Parameters
    ----------
    url : str
        E.g. from :func:`blob_url`.
    dest : str or path
        A folder, or a file path with the URL's extension.
    progress : bool, default True
        Show how many MB have arrived.

    Returns
    -------
    pathlib.Path
        The downloaded (or already cached) file.

    Raises
    ------
    DownloadError
        When the server cannot be reached or refuses the file (a ``ConnectionError``).
    InputError
        When ``url`` is not an http(s) URL or no file name can be told from it.
    """
    if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        raise InputTypeError(f"url must be an http:// or https:// URL (e.g. from blob_url), not {redact(url)!r}.")
    _checks.flag("progress", progress)
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    name = "" if path.endswith("/") else Path(path).name
    if not name:
        raise InputError(f"Cannot tell a file name from {redact(url)}: pass dest as a file path.")
    if not isinstance(dest, (str, os.PathLike)):
        raise InputTypeError(f"dest must be a folder or file path, not {dest!r}.")
    dest = Path(dest)
    is_file = not dest.is_dir() and dest.suffix.lower() == Path(name).suffix.lower() != ""
    target = dest if is_file else dest / name
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        _fetch(url, Path(part), progress)
        if progress:
            print(file=sys.stderr)
        os.replace(part, target)
    finally:
        Path(part).unlink(missing_ok=True)
    return target
