"""The STAC route: MCD43A4 items of one tile and period, read lazily as COGs with odc-stac."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import xarray as xr

from labhelpers.modis._product import COLLECTION, NBAR_FILL, NBAR_SCALE, NIR, RED
from labhelpers.modis.days import day_to_date
from labhelpers.modis.grid import _check_tile

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
        Sorted by date.

    Raises
    ------
    ValueError
        For a tile off the grid or ``start`` after ``end``.
    """
    _check_tile(h, v)
    first, last = day_to_date(start), day_to_date(end)
    if first > last:
        raise ValueError(f"start {first} is after end {last}.")
    search = catalog.search(
        collections=[collection],
        datetime=f"{first - dt.timedelta(days=8)}/{last + dt.timedelta(days=8)}",
        query={"modis:horizontal-tile": {"eq": int(h)}, "modis:vertical-tile": {"eq": int(v)}},
    )
    items = [it for it in search.items() if first <= it.datetime.date() <= last]
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
    ValueError
        When ``items`` is empty.
    """
    import odc.stac

    items = list(items)
    if not items:
        raise ValueError("No items to load: search_stac() found nothing for that tile and period.")
    cfg = {"*": {"assets": {b: {"nodata": NBAR_FILL, "data_type": "int16"} for b in bands}}}
    raw = odc.stac.load(items, bands=list(bands), bbox=None if bbox is None else tuple(bbox), chunks=chunks,
                        stac_cfg=cfg)
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
