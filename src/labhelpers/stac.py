"""Search a STAC API for scenes over an area and a period.

STAC (SpatioTemporal Asset Catalog) describes each scene as an *item*: a GeoJSON Feature with
a footprint, a datetime, properties such as ``eo:cloud_cover`` and *assets* (one file per band).
A STAC API answers searches over items; the Planetary Computer runs one, and the offline
stand-in runs the same server software locally.

MPC's files sit in Azure Blob Storage and need a short-lived SAS token to read. Opening the
catalog with ``modifier=planetary_computer.sign_inplace`` adds a token to every asset href as
items arrive. Non-Azure hrefs (the offline stand-in's) pass through unchanged, so the same call
works in both worlds. Tokens expire (about an hour): search again, or re-sign, if reads start
failing with 403.

Every request has a timeout (:func:`labhelpers.settings.timeouts`) and is retried once after a
dropped connection, a timeout or an HTTP 5xx; then a :class:`~labhelpers.errors.ServiceError` says
which API failed and what to do, instead of a search that hangs.
"""

from __future__ import annotations

import warnings

import planetary_computer
import pystac
import pystac_client
import requests
from pystac import ItemCollection
from pystac_client.stac_api_io import StacApiIO
from urllib3 import Retry

from labhelpers import _checks
from labhelpers._net import RETRIES, scrub
from labhelpers.errors import EmptySearchError, ServiceError, SuspiciousInputWarning, UnknownCollectionError
from labhelpers.settings import get_settings, timeouts

__all__ = ["open_catalog", "cloud_query", "search"]


#: What a failing STAC API raises through pystac-client (pystac wraps it in STACError when it
#: follows a link, e.g. to the root catalog, during a search).
_FAILURES = (requests.exceptions.RequestException, pystac_client.exceptions.APIError, pystac.errors.STACError, OSError)


def _hint(url: str) -> str:
    if url.startswith(("http://127.0.0.1", "http://localhost")):
        return "Check the stand-in with `labhelpers offline status`; restart it with `labhelpers offline up`."
    return "Check your internet connection and try again, or use profile='offline' with `labhelpers offline up`."


def _service_error(what: str, url: str, err: Exception) -> ServiceError:
    read = timeouts()[1]
    while err.__cause__ is not None:  # the root cause: a timeout, a refused connection, an HTTP status
        err = err.__cause__
    return ServiceError(
        f"The STAC API at {url} failed while {what} ({scrub(err).splitlines()[0][:300] if str(err) else type(err).__name__}; "
        f"tried {RETRIES + 1} times, waiting up to {read:.0f} s for each answer). {_hint(url)}"
    )


def open_catalog(profile: str | None = None) -> pystac_client.Client:
    """Open the STAC API of ``profile``, signing asset hrefs as items arrive.

    Parameters
    ----------
    profile : str, optional
        ``"planetary-computer"`` or ``"offline"`` (see :mod:`labhelpers.settings`); default
        ``LABHELPERS_PROFILE``, else the Planetary Computer.

    Returns
    -------
    pystac_client.Client
        Opened with ``modifier=planetary_computer.sign_inplace``, a timeout on every request and
        one retry after a failed one.

    Raises
    ------
    ServiceError
        When the API does not answer in time; the message says how to start or reach it.
    ConfigError
        When the profile is unknown or the offline stand-in is not running.
    """
    settings = get_settings(profile)
    retry = Retry(total=RETRIES, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=None, raise_on_status=False)
    io = StacApiIO(max_retries=retry)
    try:  # timeout= must be given here too: Client.open resets the stac_io's timeout to its own argument
        return pystac_client.Client.open(settings.stac_url, modifier=planetary_computer.sign_inplace, stac_io=io,
                                         timeout=timeouts())
    except _FAILURES as err:
        raise _service_error("opening the catalog", settings.stac_url, err) from None
    except (ValueError, KeyError) as err:  # an answer, but not a STAC catalog (an HTML page, a proxy's error)
        raise ServiceError(f"{settings.stac_url} answered, but not with a STAC catalog ({type(err).__name__}). Check "
                           "LABHELPERS_STAC_URL (it should end in /api/stac/v1 on the Planetary Computer).") from None


def cloud_query(max_cloud: float) -> dict:
    """The STAC ``query`` extension filter for scenes with less than ``max_cloud`` % cloud.

    Parameters
    ----------
    max_cloud : float
        Largest accepted ``eo:cloud_cover``, in percent (0-100).

    Returns
    -------
    dict
        ``{"eo:cloud_cover": {"lt": max_cloud}}``, the lab's query.

    Raises
    ------
    InputError
        When ``max_cloud`` is not a number from 0 to 100.

    Warns
    -----
    SuspiciousInputWarning
        For a value between 0 and 1: a fraction (0.25) where a percentage (25) is meant.
    """
    max_cloud = _checks.number("max_cloud", max_cloud, 0, 100, unit="percent (0-100)")
    if 0 < max_cloud < 1:
        warnings.warn(f"max_cloud={max_cloud} means less than {max_cloud} % cloud, almost cloud-free. max_cloud is a "
                      f"percentage: for {max_cloud:.0%} write max_cloud={max_cloud * 100:g}.",
                      SuspiciousInputWarning, stacklevel=2)
    return {"eo:cloud_cover": {"lt": max_cloud}}


def search(
    catalog: pystac_client.Client,
    bbox,
    datetime: str,
    collection: str = "sentinel-2-l2a",
    max_cloud: float = 25,
    limit: int = 500,
) -> ItemCollection:
    """All items of ``collection`` over ``bbox`` in ``datetime`` with ``eo:cloud_cover < max_cloud``.

    Parameters
    ----------
    catalog : pystac_client.Client
        From :func:`open_catalog`.
    bbox : sequence of 4 float
        ``(west, south, east, north)`` in degrees, e.g. from :func:`labhelpers.aoi.bbox_of`.
    datetime : str
        An ISO 8601 date or interval such as ``"2016-01-01/2021-12-31"`` (``".."`` for an open end).
    collection : str, default "sentinel-2-l2a"
    max_cloud : float, default 25
        Percent; see :func:`cloud_query`.
    limit : int, default 500
        The page size (1-1000): the API returns at most that many items per request, and
        pystac-client follows the ``next`` links until every matching item has arrived.

    Returns
    -------
    pystac.ItemCollection

    Raises
    ------
    EmptySearchError
        When nothing matches; the message names the AOI, dates and cloud limit.
    UnknownCollectionError
        When the catalog has no such collection (a typo, or upper case).
    InputError
        For a bbox that is not (west, south, east, north) in degrees, a date that is not ISO 8601
        (``"03/04/2019"`` is ambiguous), or a cloud limit or page size out of range.
    ServiceError
        When the API fails or does not answer in time.
    """
    if not callable(getattr(catalog, "search", None)):
        raise _checks.InputTypeError(f"catalog must be the Client from labhelpers.stac.open_catalog(), not {catalog!r}.")
    bbox = _checks.bbox(bbox)
    datetime = _checks.interval(datetime)
    _checks.text("collection", collection)
    query = cloud_query(max_cloud)
    limit = _checks.number("limit", limit, 1, 1000, integer=True)
    try:
        items = catalog.search(collections=[collection], bbox=bbox, datetime=datetime, query=query,
                               limit=limit).item_collection()
    except _FAILURES as err:
        raise _service_error("searching", catalog.self_href or "?", err) from None
    if len(items) == 0:
        _check_collection(catalog, collection)
        raise EmptySearchError(
            f"No {collection} items over bbox {tuple(round(v, 5) for v in bbox)} in {datetime} with "
            f"eo:cloud_cover < {query['eo:cloud_cover']['lt']:g}. Widen the dates, raise max_cloud, or check the AOI is "
            "[longitude, latitude] and lies where the collection has data."
        )
    return items


def _check_collection(catalog: pystac_client.Client, collection: str) -> None:
    """Raise UnknownCollectionError when the catalog has no collection ``collection``."""
    try:
        ids = [c.id for c in catalog.get_collections()]
    except _FAILURES as err:
        raise _service_error("listing collections", catalog.self_href or "?", err) from None
    if collection not in ids:
        _checks.choice("collection", collection, sorted(ids), what="STAC collection", error=UnknownCollectionError)
