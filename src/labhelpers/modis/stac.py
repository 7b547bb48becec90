"""The STAC route: MCD43A4 items of one tile and period, read lazily as COGs with odc-stac."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pystac
import xarray as xr

from labhelpers import _checks
from labhelpers._net import RETRIES, scrub
from labhelpers.errors import InputError, InputTypeError, ServiceError
from labhelpers.modis._product import COLLECTION, NBAR_BANDS, NBAR_FILL, NBAR_SCALE, NIR, QA_BANDS, RED
from labhelpers.modis.days import day_to_date
from labhelpers.modis.grid import _check_tile
from labhelpers.settings import timeouts

__all__ = ["search_stac", "load_stac"]


def search_stac(catalog, h: int, v: int, start, end, collection: str = COLLECTION) -> list:
    """MCD43A4 items of tile ``h, v`` whose day is between ``start`` and ``end`` (inclusive), in order.

    Items carry the tile as ``modis:horizontal-tile`` / ``modis:vertical-tile`` (integers), so we
    ask the API for exactly that tile with the ``query`` extension. Each MCD43A4 item's
    ``datetime`` is its day, but it also has ``start_datetime``/``end_datetime`` spanning the 16
    days of observations behind it, and the API matches a date range against that span; so the
    search returns neighbours up to 8 days outside the range, which we drop here.

    Parameters
    ----------
    catalog : pystac_client.Client
        From :func:`labhelpers.stac.open_catalog`.
    h, v : int
        The tile.
    start, end : str or date
        First and last day, inclusive (``"YYYYDDD"`` or a date).
    collection : str, default "modis-43A4-061"

    Returns
    -------
    list of pystac.Item
        Sorted by date; empty when the tile has no data in that period.

    Raises
    ------
    InputError
        For a tile off the grid, a day that is not ``YYYYDDD`` or ISO, or ``start`` after ``end``.
    UnknownCollectionError
        When the catalog has no such collection (different from a period without data).
    ServiceError
        When the STAC API fails or does not answer in time.
    """
    from labhelpers.stac import _FAILURES, _check_collection, _service_error

    if not callable(getattr(catalog, "search", None)):
        raise InputTypeError(f"catalog must be the Client from labhelpers.stac.open_catalog(), not {catalog!r}.")
    h, v = _check_tile(h, v)
    first, last = day_to_date(start), day_to_date(end)
    if first > last:
        raise InputError(f"start {first} is after end {last}.")
    _checks.text("collection", collection)
    try:
        search = catalog.search(
            collections=[collection],
            datetime=f"{first - dt.timedelta(days=8)}/{last + dt.timedelta(days=8)}",
            query={"modis:horizontal-tile": {"eq": h}, "modis:vertical-tile": {"eq": v}},
        )
        items = [it for it in search.items() if first <= it.datetime.date() <= last]
    except _FAILURES as err:
        raise _service_error("searching", catalog.self_href or "?", err) from None
    if not items:
        _check_collection(catalog, collection)
    return sorted(items, key=lambda it: it.datetime)


def load_stac(items, bands: Sequence[str] = (RED, NIR), bbox: Sequence[float] | None = None, chunks: dict | None = None):
    """Load MCD43A4 COG bands of ``items`` with odc-stac into a (time, y, x) Dataset, scaled like :func:`open_hdf`.

    Why odc-stac and not stackstac: the items' CRS is the MODIS sinusoid, which has no EPSG code
    (``proj:epsg`` is null, the CRS is only in ``proj:wkt2``); stackstac needs an EPSG code,
    odc-stac reads the WKT. The items' ``raster:bands`` give the scale (0.0001) but no nodata, so
    we tell odc-stac the fill value (32767) and turn it into NaN ourselves.

    ``bbox``: ``(lon_min, lat_min, lon_max, lat_max)`` to read only that area (a whole tile is
    2400 x 2400 pixels per band and day). ``chunks``: e.g. ``{}`` for lazy Dask arrays.
    Items must be signed (``labhelpers.stac.open_catalog()`` signs them).

    Parameters
    ----------
    items : sequence of pystac.Item
        Signed items from :func:`search_stac`.
    bands : sequence of str, default (band 1, band 2)
    bbox : sequence of 4 float, optional
        ``(lon_min, lat_min, lon_max, lat_max)``.
    chunks : dict, optional
        E.g. ``{}`` for lazy Dask arrays.

    Returns
    -------
    xarray.Dataset
        ``(time, y, x)`` float32 reflectance, fill as NaN.

    Raises
    ------
    InputError
        When ``items`` is empty, a band unknown or ``bbox`` not (lon_min, lat_min, lon_max, lat_max).
    ServiceError
        When reading fails (an eager load: ``chunks=None``); reads are bounded by the lab's timeouts.
    """
    import odc.stac
    import rasterio

    if isinstance(items, (pystac.Item, str, dict)) or not hasattr(items, "__iter__"):
        raise InputTypeError("items must be the list search_stac() returns (for one item write [item]).")
    items = list(items)
    if not items:
        raise InputError("No items to load: search_stac() found nothing for that tile and period.")
    if not all(isinstance(it, pystac.Item) for it in items):
        raise InputTypeError("items must be pystac Items, as search_stac() returns them.")
    bands = [bands] if isinstance(bands, str) else list(bands)
    for band in bands:
        _checks.choice("bands", band, [*NBAR_BANDS, *QA_BANDS], what="MCD43A4 band")
    if bbox is not None:
        bbox = _checks.bbox(bbox)
        _checks.overlap([it.bbox for it in items], bbox, "items")
    if chunks is not None and not isinstance(chunks, dict):
        raise InputTypeError(f"chunks must be None (load now) or a dict such as {{}} (lazy), not {chunks!r}.")
    cfg = {"*": {"assets": {b: {"nodata": NBAR_FILL, "data_type": "int16"} for b in bands}}}
    connect, read = timeouts()
    try:
        with rasterio.Env(GDAL_HTTP_CONNECTTIMEOUT=int(connect), GDAL_HTTP_TIMEOUT=int(read),
                          GDAL_HTTP_MAX_RETRY=RETRIES, GDAL_HTTP_RETRY_DELAY=1):
            raw = odc.stac.load(items, bands=bands, bbox=bbox, chunks=chunks, stac_cfg=cfg)
    except (rasterio.errors.RasterioError, OSError, RuntimeError) as err:
        raise ServiceError(f"Reading the MCD43A4 COGs from blob storage failed ({scrub(err).splitlines()[0][:240]}). "
                           "Check the blob server (offline: `labhelpers offline status`) and load again.") from None
    out = xr.Dataset(attrs=raw.attrs, coords=raw.coords)
    for band in bands:
        scale = _asset_scale(items[0], band)
        da = raw[band]
        out[band] = (da.where(da != NBAR_FILL).astype("float32") * np.float32(scale)).assign_attrs(
            long_name=band, units="1")
    return out


def _asset_scale(item, band: str) -> float:
    rb = (item.assets[band].extra_fields.get("raster:bands") or [{}])[0]
    return float(rb.get("scale", NBAR_SCALE))
