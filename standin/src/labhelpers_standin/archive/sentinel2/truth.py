"""The Sentinel-2 archive's known truth: what tests and hidden tests compare answers with.

Stored as ``manifest["sentinel-2-l2a"]`` (see :func:`truth` for every key). Land-cover facts
and the per-class monthly means are computed over the pixels of the AOI's bounding box (what
the lab stacks with ``bbox=aoi_bbox``) from the noise-free model, texture included: the mean of
each pixel's index over the class's pixels and over every day of the calendar month.
"""

from __future__ import annotations

import calendar
from datetime import date

import numpy as np
from shapely.geometry import Polygon

from labhelpers_standin.archive.cog import overview_sizes
from labhelpers_standin.archive.sentinel2.geography import (
    AOI, AOI_BBOX, EPSG, MGRS_TILE, TILE_BBOX, Window, tile_shape, to_utm,
)
from labhelpers_standin.archive.sentinel2.landscape import CLASS_NAMES, Landscape
from labhelpers_standin.archive.sentinel2.products import BLOCKSIZE
from labhelpers_standin.archive.sentinel2.schedule import (
    BASELINE_OFFSET_FROM, BASELINES, BOA_ADD_OFFSET, LAB_QUERY, Plan, boa_add_offset,
)
from labhelpers_standin.archive.sentinel2.spectra import SNOW_MONTHS, Surface, ndsi, ndvi

__all__ = ["aoi_bbox_mask", "monthly_class_means", "truth"]

_INDEX_BANDS = ("B03", "B04", "B08", "B11")


def aoi_bbox_mask(window: Window) -> tuple[slice, slice]:
    """Rows and columns of the window's 10 m grid inside the AOI's bounding box (projected to
    EPSG:32610 as stackstac does with ``bounds_latlon``: the box around the projected corners).

    Parameters
    ----------
    window : Window

    Returns
    -------
    (slice, slice)
    """
    west, south, east, north = AOI_BBOX
    xs, ys = to_utm().transform([west, east, east, west], [south, south, north, north])
    xmin, xmax, ymin, ymax = min(xs), max(xs), min(ys), max(ys)
    cx, cy = window.centers(10)
    cols = np.flatnonzero((cx >= xmin) & (cx <= xmax))
    rows = np.flatnonzero((cy >= ymin) & (cy <= ymax))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def monthly_class_means(land: Landscape) -> dict:
    """Per land-cover class and calendar month, the clear-sky mean NDVI and NDSI of the
    noise-free model over ``land``: pixel indices averaged over the class's pixels and the
    month's days (of 2021; the model repeats every year).

    Parameters
    ----------
    land : Landscape

    Returns
    -------
    dict
        ``{class name: {"ndvi": {"1": ..., "12": ...}, "ndsi": {...}}}``, rounded to 4 decimals;
        classes absent from ``land`` are left out.
    """
    surface = Surface(land, _INDEX_BANDS)
    present = [c for c in CLASS_NAMES if (land.classes == c).any()]
    out = {CLASS_NAMES[c]: {"ndvi": {}, "ndsi": {}} for c in present}
    for month in range(1, 13):
        days = [date(2021, month, d) for d in range(1, calendar.monthrange(2021, month)[1] + 1)]
        sums = {c: np.zeros(2) for c in present}
        for d in days:
            refl = surface.reflectance(d).astype(np.float64)
            nd, ns = ndvi(refl, _INDEX_BANDS), ndsi(refl, _INDEX_BANDS)
            for c in present:
                mask = land.classes == c
                sums[c] += (nd[mask].mean(), ns[mask].mean())
        for c in present:
            out[CLASS_NAMES[c]]["ndvi"][str(month)] = round(float(sums[c][0] / len(days)), 4)
            out[CLASS_NAMES[c]]["ndsi"][str(month)] = round(float(sums[c][1] / len(days)), 4)
    return out


def _fractions(classes: np.ndarray) -> dict[str, float]:
    codes, counts = np.unique(classes, return_counts=True)
    return {CLASS_NAMES[int(c)]: round(int(n) / classes.size, 4) for c, n in zip(codes, counts)}


def truth(items: list[dict], plan: Plan, window: Window, land: Landscape, raster: str) -> dict:
    """The facts tests and notebooks check against.

    Keys: ``collection``, ``size``; ``aoi`` (verbatim), ``aoi_bbox``, ``epsg``, ``mgrs_tile``;
    ``tile`` (the MGRS tile every asset covers: ``proj:bbox``, ``proj:shape`` per gsd, block
    size and overview sizes of the COGs; ``stack_100m_shape``, the shape of the lab's no-bounds
    stack at 100 m); ``window`` (the full-resolution part: ``proj:bbox``, shapes at 10 m and
    20 m); ``items`` (per id: datetime, eo:cloud_cover, cloud_lt_25, intersects_aoi,
    processing baseline, ``boa_add_offset`` with ESA's meaning, -1000 or 0); ``counts``
    (archive size, clear items, by platform and year, ``lab_query`` = items intersecting the
    AOI in 2016-2021 with eo:cloud_cover < 25, the same without the cloud filter, the clear ones
    per year-month); ``lab_query`` (parameters and ids); ``snow_months``; ``baseline`` (the
    2022-01-25 cut, ``boa_add_offset`` -1000, the baseline periods); ``landcover`` (raster,
    codes, ``pixel_fraction`` over the AOI bbox, ``window_pixel_fraction`` over the window);
    ``class_monthly_means`` (over the AOI bbox, see :func:`monthly_class_means`).

    Parameters
    ----------
    items : list of dict
        The archive's items.
    plan : Plan
    window : Window
    land : Landscape
        The landscape on the window's 10 m grid.
    raster : str
        Path of the land-cover raster, relative to the archive.

    Returns
    -------
    dict
    """
    aoi = Polygon(AOI)
    start, end = (date.fromisoformat(s) for s in LAB_QUERY["datetime"].split("/"))
    per_item, lab_ids, by_platform, by_year, clear_per_month = {}, [], {}, {}, {}
    for it in items:
        p = it["properties"]
        day = date.fromisoformat(p["datetime"][:10])
        cloud = p["eo:cloud_cover"]
        hits = Polygon(it["geometry"]["coordinates"][0]).intersects(aoi)
        per_item[it["id"]] = {
            "datetime": p["datetime"], "eo:cloud_cover": cloud, "cloud_lt_25": cloud < 25, "intersects_aoi": hits,
            "s2:processing_baseline": p["s2:processing_baseline"],
            "boa_add_offset": boa_add_offset(p["s2:processing_baseline"]),
        }
        by_platform[p["platform"]] = by_platform.get(p["platform"], 0) + 1
        by_year[str(day.year)] = by_year.get(str(day.year), 0) + 1
        if hits and start <= day <= end and cloud < LAB_QUERY["eo:cloud_cover_lt"]:
            lab_ids.append(it["id"])
            clear_per_month[f"{day:%Y-%m}"] = clear_per_month.get(f"{day:%Y-%m}", 0) + 1
    rows, cols = aoi_bbox_mask(window)
    in_bbox = land.subset(rows, cols)
    return {
        "collection": "sentinel-2-l2a",
        "size": plan.size,
        "aoi": AOI,
        "aoi_bbox": AOI_BBOX,
        "epsg": EPSG,
        "mgrs_tile": MGRS_TILE,
        "tile": {
            "proj:bbox": list(TILE_BBOX),
            "proj:shape": {str(g): list(tile_shape(g)) for g in (10, 20, 60)},
            "blocksize": BLOCKSIZE,
            "overviews": {str(g): [list(s) for s in overview_sizes(*tile_shape(g), BLOCKSIZE)] for g in (10, 20, 60)},
            "stack_100m_shape": list(tile_shape(100)),
        },
        "window": {"proj:bbox": window.bbox, "shape_10m": list(window.shape(10)), "shape_20m": list(window.shape(20))},
        "items": per_item,
        "counts": {
            "archive": len(items),
            "archive_cloud_lt_25": sum(v["cloud_lt_25"] for v in per_item.values()),
            "by_platform": by_platform,
            "by_year": by_year,
            "lab_query": len(lab_ids),
            "lab_query_intersecting_any_cloud": sum(
                v["intersects_aoi"] and start <= date.fromisoformat(v["datetime"][:10]) <= end for v in per_item.values()
            ),
            "lab_query_per_month": clear_per_month,
        },
        "lab_query": {**LAB_QUERY, "intersects": {"type": "Polygon", "coordinates": [AOI + [AOI[0]]]}, "ids": lab_ids},
        "snow_months": list(SNOW_MONTHS),
        "baseline": {
            "offset_from": BASELINE_OFFSET_FROM.isoformat(),
            "boa_add_offset": BOA_ADD_OFFSET,
            "first_offset_baseline": "04.00",
            "baselines": [[s.isoformat(), b] for s, b, _ in BASELINES],
        },
        "landcover": {
            "raster": raster,
            "classes": {str(k): v for k, v in CLASS_NAMES.items()},
            "region": "aoi_bbox",
            "pixel_fraction": _fractions(in_bbox.classes),
            "window_pixel_fraction": _fractions(land.classes),
        },
        "class_monthly_means": monthly_class_means(in_bbox),
    }
