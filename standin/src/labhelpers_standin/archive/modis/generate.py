"""Build the MODIS part of the archive: MCD43A4 v061 granules as MPC serves them, with their truth.

What is written (inside the archive ``root``, see :mod:`labhelpers_standin.archive.layout`)::

    blobs/modiseuwest/modis-061/sn_bound_10deg.txt                      NASA's tile table
    blobs/modiseuwest/modis-061/MCD43A4/HH/VV/YYYYDDD/MCD43A4.AYYYYDDD.hHHvVV.061.<prod>.hdf(.xml)
    blobs/modiseuwest/modis-061-cogs/MCD43A4/HH/VV/YYYYDDD/<same stem>_<asset>.tif   one COG per band
    stac/collections/modis-43A4-061.json, stac/items/modis-43A4-061.ndjson

Granules are written in worker processes whose working directory is the archive being built (so
the HDF4 files store their path relative to it: see :mod:`.hdf`); every random draw is seeded
from the tile and day and nothing records a time of writing, so two builds give identical bytes.

``sn_bound_10deg.txt`` is NASA MODLAND's public-domain tile table
(https://modis-land.gsfc.nasa.gov/pdf/sn_bound_10deg.txt), shipped in ``labhelpers/data``.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from importlib import resources
from pathlib import Path

import numpy as np
import rasterio.transform

from labhelpers import modis
from labhelpers_standin.archive import writer
from labhelpers_standin.archive.modis.granules import (
    ACCOUNT, COG_CONTAINER, HDF_CONTAINER, PRODUCT, folder, metadata_xml, production, stem,
)
from labhelpers_standin.archive.modis.hdf import write_hdf
from labhelpers_standin.archive.modis.model import N, day_arrays, tile_fields
from labhelpers_standin.archive.modis.stac import make_collection, make_item
from labhelpers_standin.archive.modis.tiles import CHICAGO_POINT, TileSpec, plan

__all__ = ["build"]

_COG_BLOCKSIZE = 512


def _write_cog(path: Path, data: np.ndarray, spec: TileSpec, nodata: int, overviews: str | None) -> None:
    """A COG of one band on the tile's sinusoidal grid (as MPC's ``modis-061-cogs``)."""
    xmin, _, _, ymax = modis.tile_bounds(spec.h, spec.v)
    transform = rasterio.transform.from_origin(xmin, ymax, modis.PIXEL_SIZE_500M, modis.PIXEL_SIZE_500M)
    writer.write_cog(path, data, transform=transform, crs=modis.SINUSOIDAL_WKT2, size=(N, N), nodata=nodata,
                     blocksize=_COG_BLOCKSIZE, resampling=overviews)


def _write_day(spec: TileSpec, day: str, overviews: bool) -> dict:
    """Write one granule (HDF4, XML, 14 COGs) into the working directory (the archive root)."""
    prod = production(day)
    name, where = stem(spec, day, prod), folder(spec, day)
    bands, stats = day_arrays(spec, day)
    qa = tile_fields(spec).qa
    hdf_dir = Path("blobs", ACCOUNT, HDF_CONTAINER, where)
    cog_dir = Path("blobs", ACCOUNT, COG_CONTAINER, where)
    hdf_dir.mkdir(parents=True, exist_ok=True)
    write_hdf((hdf_dir / f"{name}.hdf").as_posix(), spec, day, prod, bands, qa)
    writer.write_text(hdf_dir / f"{name}.hdf.xml", metadata_xml(spec, day, prod))
    for band_name, band in zip(modis.NBAR_BANDS, bands):
        _write_cog(cog_dir / f"{name}_{band_name}.tif", band, spec, modis.NBAR_FILL, "average" if overviews else None)
    first_qa = cog_dir / f"{name}_{modis.QA_BANDS[0]}.tif"
    _write_cog(first_qa, qa, spec, 255, "nearest" if overviews else None)
    for qa_name in modis.QA_BANDS[1:]:  # the seven QA bands are identical here: encode once
        writer.write_bytes(cog_dir / f"{name}_{qa_name}.tif", first_qa.read_bytes())
    return {"day": day, "prod": prod, **{k: round(v, 6) for k, v in stats.items()}}


def _trend(days: list[str], values: list[float]) -> dict:
    doy = np.array([int(d[4:]) for d in days], dtype="float64")
    slope = float(np.polyfit(doy, np.array(values), 1)[0]) if len(days) > 1 else 0.0
    return {"slope_per_day": round(slope, 6), "first": values[0], "last": values[-1]}


def build(root: Path, size: str = "ci", workers: int = 2) -> dict:
    """Write the MODIS part of the archive into ``root`` and return its truth (``manifest["modis"]``).

    Parameters
    ----------
    root : pathlib.Path
        The archive folder being built.
    size : {"ci", "full", "test"}
        ``ci``: the lab's periods (h11v04 2019135-2019160, 24 granules; h10v03 April-May 2021,
        57 granules), COGs without overviews; ``full``: the same tiles over longer periods, COGs
        with overviews, for benchmarks; ``test``: one tile, two granules, for unit tests.
    workers : int
        Processes writing granules (at least one: granules are always written in a worker whose
        working directory is ``root``).

    Returns
    -------
    dict
        ``tiles`` (per tile: days present and missing, HDF blob paths, and per day
        ``tile_mean_ndvi``, ``tile_mean_band1``, ``tile_mean_band1_raw`` of the pixels written,
        ``aoi`` with its bbox and noise-free ``mean_ndvi``, and spring ``trend``\\ s) and where the
        files are (account, containers, the tile table).

    Raises
    ------
    ValueError
        For an unknown size.
    """
    specs = plan(size)
    root = Path(root).resolve()
    sn_bound = resources.files("labhelpers").joinpath("data", modis.SN_BOUND_FILE).read_bytes()
    writer.write_bytes(root / "blobs" / ACCOUNT / HDF_CONTAINER / modis.SN_BOUND_FILE, sn_bound)

    jobs = [(spec, day) for spec in specs for day in spec.present()]
    overviews = size == "full"
    context = multiprocessing.get_context("spawn")  # a fresh HDF4 library per worker
    with ProcessPoolExecutor(max(workers, 1), mp_context=context, initializer=os.chdir, initargs=(str(root),)) as pool:
        results = list(pool.map(_write_day, *zip(*jobs), [overviews] * len(jobs)))

    items = sorted((make_item(spec, r["day"], r["prod"]) for (spec, _), r in zip(jobs, results)), key=lambda it: it["id"])
    writer.write_stac(root, make_collection(), items)

    tiles = {}
    for spec in specs:
        rows = [r for (s, _), r in zip(jobs, results) if s == spec]
        present = [r["day"] for r in rows]
        aoi = {"name": spec.aoi_name, "bbox": list(spec.aoi_bbox),
               "mean_ndvi": {r["day"]: r["aoi_mean_ndvi"] for r in rows},
               "trend": _trend(present, [r["aoi_mean_ndvi"] for r in rows])}
        if spec.aoi_name == "chicago":
            aoi["point"] = list(CHICAGO_POINT)
        tiles[spec.name] = {
            "h": spec.h, "v": spec.v, "first_day": spec.first, "last_day": spec.last,
            "present": present, "missing": list(spec.missing),
            "hdf_blobs": [f"{folder(spec, r['day'])}/{stem(spec, r['day'], r['prod'])}.hdf" for r in rows],
            **{key: {r["day"]: r[key] for r in rows} for key in ("tile_mean_ndvi", "tile_mean_band1", "tile_mean_band1_raw")},
            "aoi": aoi,
            "trend": _trend(present, [r["tile_mean_ndvi"] for r in rows]),
        }
    nbytes = sum(p.stat().st_size for p in (root / "blobs" / ACCOUNT).rglob("*") if p.is_file())
    return {
        "collection": modis.COLLECTION, "product": PRODUCT, "account": ACCOUNT,
        "hdf_container": HDF_CONTAINER, "cog_container": COG_CONTAINER, "items": len(items), "tiles": tiles,
        "blob_bytes": nbytes,
        "means_note": (
            "tile_mean_ndvi / tile_mean_band1: mean over the tile's non-fill pixels of the values written (band 1 "
            "and 2 scaled by 0.0001); tile_mean_band1_raw: mean of band 1's raw int16 values with the 32767 fill "
            "included (np.nanmean of an unmasked read, as the handout's loop); aoi.mean_ndvi: noise-free model over "
            "the pixel centres inside aoi.bbox"
        ),
        "sn_bound_10deg": {
            "blob": f"{HDF_CONTAINER}/{modis.SN_BOUND_FILE}",
            "source": "NASA MODLAND, https://modis-land.gsfc.nasa.gov/pdf/sn_bound_10deg.txt (US Government work, "
                      "public domain); copy taken from github.com/geattiah/modis_analysis @ a845c76",
        },
    }
