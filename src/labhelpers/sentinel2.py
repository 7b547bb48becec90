"""Stack Sentinel-2 L2A scenes into one (time, band, y, x) array of surface reflectance.

What turns a list of STAC items into science-ready reflectance, and why each step is needed:

1. **One grid.** Scenes come in different UTM zones and resolutions (10 m and 20 m bands).
   stackstac reprojects every asset onto one grid: a CRS (``epsg``), a ``resolution`` and
   ``bounds``. stackstac 0.5.1 only reads ``proj:epsg``, but pystac >= 1.12 rewrites
   ``proj:epsg`` to ``proj:code`` ("EPSG:32610") when it loads an item; without an EPSG code
   stackstac silently ignores each asset's ``proj:transform``. So we put ``proj:epsg`` back on
   each item and always pass ``epsg=`` explicitly.
2. **No data is not zero reflectance.** A digital number (DN) of 0 marks pixels outside the
   satellite's swath; we turn them into NaN so that medians and means skip them.
3. **DN to reflectance.** L2A stores ``reflectance * 10000`` as integers. Since processing
   baseline 04.00 (products from 2022-01-25 on) ESA also adds 1000 to every DN
   (``BOA_ADD_OFFSET = -1000`` in the product metadata) so that noise below zero survives.
   MPC's items do not describe this offset (no ``raster:bands``), so we decide it per item from
   ``s2:processing_baseline`` and apply it exactly once: ``(DN + offset) / 10000``.
4. **Names you can read.** Bands are labelled by common name (``red``, ``nir``, ``swir16``)
   instead of asset keys (``B04``, ``B08``, ``B11``).
5. **Clouds (optional).** The scene classification layer (SCL) flags clouds, their shadows and
   defective pixels; ``mask_clouds=True`` sets those to NaN and keeps snow (class 11).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone

import numpy as np
import pystac
import stackstac
import xarray as xr

__all__ = ["BASELINE_04_DATE", "COMMON_NAMES", "SCL_MASKED", "boa_offset", "item_epsg", "choose_epsg", "stack"]

#: ESA changed L2A processing on this date (baseline 04.00): DNs carry a +1000 offset since.
BASELINE_04_DATE = datetime(2022, 1, 25, tzinfo=timezone.utc)

#: Asset key -> STAC ``eo:common_name`` for the L2A bands the lab uses.
COMMON_NAMES = {
    "B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge",
    "B06": "rededge", "B07": "rededge", "B08": "nir", "B8A": "nir08", "B09": "nir09",
    "B11": "swir16", "B12": "swir22", "SCL": "scl",
}

#: SCL classes that are not a clear view of the ground: no data (0), saturated or defective (1),
#: cloud shadow (3), cloud medium (8) and high (9) probability, thin cirrus (10). Snow (11) stays.
SCL_MASKED = (0, 1, 3, 8, 9, 10)

#: Assets that are not reflectance: no offset, no scaling.
NOT_REFLECTANCE = {"SCL", "AOT", "WVP", "visual"}


def _baseline_number(baseline: str) -> tuple[int, int]:
    major, _, minor = str(baseline).partition(".")
    return int(major), int(minor or 0)


def boa_offset(item) -> int:
    """The DN offset to add to this item's reflectance bands: -1000 from baseline 04.00, else 0.

    It has ESA's meaning of ``BOA_ADD_OFFSET``: reflectance = (DN + offset) / 10000.

    Parameters
    ----------
    item : pystac.Item or dict
        A Sentinel-2 L2A item. Baselines are compared as numbers ("10.00" > "04.00"; as strings
        "10.00" < "4.00"). An item without ``s2:processing_baseline`` falls back on its date
        (2022-01-25).

    Returns
    -------
    int
        -1000 or 0.
    """
    props = item.properties if isinstance(item, pystac.Item) else item["properties"]
    baseline = props.get("s2:processing_baseline")
    if baseline is None:
        when = item.datetime if isinstance(item, pystac.Item) else datetime.fromisoformat(
            props["datetime"].replace("Z", "+00:00")
        )
        return -1000 if when >= BASELINE_04_DATE else 0
    return -1000 if _baseline_number(baseline) >= (4, 0) else 0


def item_epsg(item) -> int | None:
    """The item's EPSG code from ``proj:epsg`` or ``proj:code`` ("EPSG:32610").

    Parameters
    ----------
    item : pystac.Item or dict

    Returns
    -------
    int or None
        None when the item has neither property (or a non-EPSG ``proj:code``).
    """
    props = item.properties if isinstance(item, pystac.Item) else item["properties"]
    if props.get("proj:epsg") is not None:
        return int(props["proj:epsg"])
    code = props.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:"):
        return int(code.split(":", 1)[1])
    return None


def _as_stackstac_dict(item) -> dict:
    """The item as a dict that stackstac 0.5.1 understands: ``proj:epsg`` restored."""
    # transform_hrefs=False: otherwise pystac fetches the root catalog to resolve relative links
    d = item.to_dict(transform_hrefs=False) if isinstance(item, pystac.Item) else dict(item)
    epsg = item_epsg(item)
    if epsg is not None:
        d["properties"] = {**d["properties"], "proj:epsg": epsg}
    return d


def choose_epsg(items) -> int:
    """The most common EPSG code among ``items`` (ties: the smallest code, so it is repeatable).

    Parameters
    ----------
    items : sequence of pystac.Item or dict

    Returns
    -------
    int

    Raises
    ------
    ValueError
        When no item has ``proj:epsg`` or ``proj:code``; pass ``epsg=`` to :func:`stack` then.
    """
    counts = Counter(e for e in (item_epsg(i) for i in items) if e is not None)
    if not counts:
        raise ValueError("None of the items has proj:epsg or proj:code: pass epsg= explicitly.")
    best = max(counts.values())
    return min(e for e, n in counts.items() if n == best)


def stack(
    items,
    assets=("B04", "B03", "B02", "B08"),
    resolution: float = 100,
    bbox=None,
    epsg: int | None = None,
    mask_clouds: bool = False,
    chunksize: int = 2048,
    harmonize: bool = True,
) -> xr.DataArray:
    """Stack Sentinel-2 L2A ``items`` into float32 surface reflectance ``(time, band, y, x)``.

    Parameters
    ----------
    items : sequence of pystac.Item or dict
        E.g. from :func:`labhelpers.stac.search`.
    assets : sequence of str, default ("B04", "B03", "B02", "B08")
        Asset keys to load; the band coordinate becomes their common names.
    resolution : float, default 100
        Output pixel size in metres (100 m keeps a multi-year stack small).
    bbox : sequence of 4 float, optional
        ``(west, south, east, north)`` in degrees to clip to; None = the union of the items
        (whole MGRS tiles: large).
    epsg : int, optional
        Output CRS; default the most common among the items (MPC hrefs span UTM zones).
    mask_clouds : bool, default False
        Set pixels whose SCL class is in :data:`SCL_MASKED` to NaN (loads SCL too).
    chunksize : int, default 2048
        Dask chunk size in pixels (y and x).
    harmonize : bool, default True
        Apply each item's :func:`boa_offset`; ``False`` only to *see* the baseline jump.

    Returns
    -------
    xarray.DataArray
        Lazy (dask): nothing is read until you ``.compute()`` or ``.persist()``.
        ``attrs["boa_offset_applied"]`` records that the baseline offset has been applied.

    Raises
    ------
    ValueError
        For no items or an unknown asset key.
    """
    items = list(items)
    if not items:
        raise ValueError("No items to stack: run a search that returns items first.")
    assets = list(assets)
    unknown = [a for a in assets if a not in COMMON_NAMES]
    if unknown:
        raise ValueError(f"Unknown Sentinel-2 asset(s) {unknown}: choose from {sorted(COMMON_NAMES)}.")
    load = assets + (["SCL"] if mask_clouds and "SCL" not in assets else [])
    epsg = epsg or choose_epsg(items)

    raw = stackstac.stack(
        [_as_stackstac_dict(i) for i in items],
        assets=load,
        epsg=epsg,
        resolution=resolution,
        bounds_latlon=tuple(bbox) if bbox is not None else None,
        dtype="float32",
        fill_value=np.float32(np.nan),
        rescale=False,  # MPC items carry no raster:bands scale/offset; we apply them below
        chunksize=chunksize,
        xy_coords="center",  # label pixels by their centres, as xarray plotting and rioxarray assume
    )

    # Offset per scene, looked up by id (stackstac sorts items by date).
    offsets = {i.id if isinstance(i, pystac.Item) else i["id"]: boa_offset(i) if harmonize else 0 for i in items}
    offset = xr.DataArray(
        np.array([offsets[i] for i in raw["id"].values], dtype="float32"), dims="time"
    )
    is_reflectance = xr.DataArray([b not in NOT_REFLECTANCE for b in load], dims="band")

    dn = raw.where(raw != 0)  # DN 0 = no data, for every band (SCL 0 too)
    reflectance = xr.where(is_reflectance, (dn + offset) / 10000, dn).transpose(*raw.dims).astype("float32")
    reflectance = reflectance.assign_coords(band=[COMMON_NAMES[b] for b in load])

    if mask_clouds:
        scl = reflectance.sel(band="scl")
        reflectance = reflectance.where(~scl.isin(SCL_MASKED) & scl.notnull())
        if "SCL" not in assets:
            reflectance = reflectance.drop_sel(band="scl")

    reflectance.attrs.update(raw.attrs)
    reflectance.attrs.update(
        boa_offset_applied=bool(harmonize),
        units="surface reflectance (0-1)",
        epsg=epsg,
        resolution=resolution,
        cloud_masked=bool(mask_clouds),
    )
    reflectance.name = "reflectance"
    return reflectance
