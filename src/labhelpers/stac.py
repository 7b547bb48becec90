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
"""

from __future__ import annotations

import planetary_computer
import pystac_client
import requests
from pystac import ItemCollection

from labhelpers.errors import EmptySearchError, ServiceError
from labhelpers.settings import get_settings

__all__ = ["open_catalog", "cloud_query", "search"]


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
        Opened with ``modifier=planetary_computer.sign_inplace``.

    Raises
    ------
    ServiceError
        When the API does not answer; the message says how to start or reach it.
    ConfigError
        When the profile is unknown or the offline stand-in is not running.
    """
    settings = get_settings(profile)
    try:
        return pystac_client.Client.open(settings.stac_url, modifier=planetary_computer.sign_inplace)
    except (requests.exceptions.ConnectionError, pystac_client.exceptions.APIError) as err:
        hint = (
            "Start the offline stand-in with `labhelpers offline up`."
            if settings.profile == "offline"
            else "Check your internet connection, or use profile='offline' with `labhelpers offline up`."
        )
        raise ServiceError(f"The STAC API at {settings.stac_url} did not answer ({type(err).__name__}). {hint}") from err


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
    ValueError
        When ``max_cloud`` is outside 0-100.
    """
    if not 0 <= max_cloud <= 100:
        raise ValueError(f"max_cloud is a percentage of cloudy pixels: give 0-100, not {max_cloud}.")
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
        A STAC interval such as ``"2016-01-01/2021-12-31"``.
    collection : str, default "sentinel-2-l2a"
    max_cloud : float, default 25
        Percent; see :func:`cloud_query`.
    limit : int, default 500
        The page size: the API returns at most that many items per request, and pystac-client
        follows the ``next`` links until every matching item has arrived.

    Returns
    -------
    pystac.ItemCollection

    Raises
    ------
    EmptySearchError
        When nothing matches; the message names the AOI, dates and cloud limit.
    ValueError
        When ``bbox`` is not (west, south, east, north).
    """
    minx, miny, maxx, maxy = bbox
    if not (minx < maxx and miny < maxy):
        raise ValueError(f"bbox {tuple(bbox)} is not (west, south, east, north) with west < east and south < north.")
    result = catalog.search(
        collections=[collection],
        bbox=bbox,
        datetime=datetime,
        query=cloud_query(max_cloud),
        limit=limit,
    )
    items = result.item_collection()
    if len(items) == 0:
        raise EmptySearchError(
            f"No {collection} items over bbox {tuple(round(v, 5) for v in bbox)} in {datetime} with "
            f"eo:cloud_cover < {max_cloud}. Widen the dates, raise max_cloud, or check the AOI is "
            "[longitude, latitude] and lies where the collection has data."
        )
    return items
