"""Build the Sentinel-2 L2A part of the archive: schedule, render and write every scene, in parallel.

Every scene has its own seed, so the bytes do not depend on how many worker processes write
them or in which order.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from labhelpers_standin.archive import writer
from labhelpers_standin.archive.sentinel2.geography import CRS, Window
from labhelpers_standin.archive.sentinel2.products import write_scene
from labhelpers_standin.archive.sentinel2.render import Model
from labhelpers_standin.archive.sentinel2.schedule import Scene, plan, schedule
from labhelpers_standin.archive.sentinel2.stac import collection
from labhelpers_standin.archive.sentinel2.truth import truth

__all__ = ["LANDCOVER_RASTER", "build"]

#: The land-cover codes on the window's 10 m grid, relative to the archive.
LANDCOVER_RASTER = "truth/s2_landcover.tif"
_WORKER: dict = {}


def _init_worker(window: Window, root: Path) -> None:
    """Compute the landscape once per worker process."""
    _WORKER.update(model=Model.build(window), root=root)


def _write_in_worker(scene: Scene) -> dict:
    return write_scene(scene, _WORKER["model"], _WORKER["root"])


def build(root: Path, size: str = "ci", workers: int = 2) -> dict:
    """Write the Sentinel-2 L2A archive of ``size`` into ``root`` and return its truth.

    Writes ``root/blobs/sentinel2l2a01/sentinel2-l2/...`` (every product's COGs, metadata and
    previews), ``root/stac/collections/sentinel-2-l2a.json``, ``root/stac/items/sentinel-2-l2a.ndjson``
    (sorted by datetime, id) and ``root/truth/s2_landcover.tif`` (land-cover codes on the
    window's 10 m grid). Not ``manifest.json`` nor ``BUILD_OK``: the caller
    (:mod:`labhelpers_standin.archive.build`) stores the truth and marks the build complete.

    Parameters
    ----------
    root : pathlib.Path
        The archive folder being built.
    size : {"ci", "full", "test"}
        ``ci``: 381 scenes, a 2.9 x 3.2 km window; ``full``: every pass 2016-2024 (1206 scenes),
        a ~10 km window; ``test``: 24 scenes, a ~2 km window.
    workers : int
        Processes rendering and writing scenes in parallel.

    Returns
    -------
    dict
        The truth (see :func:`labhelpers_standin.archive.sentinel2.truth.truth`).

    Raises
    ------
    ValueError
        For an unknown size.
    """
    p = plan(size)
    root = Path(root)
    window = Window.around_aoi(p.margin_m)
    scenes = schedule(p)
    model = Model.build(window)
    writer.write_cog(root / LANDCOVER_RASTER, model.land.classes, transform=window.transform(10), crs=CRS,
                     size=(window.width, window.height), resampling="nearest")
    if workers <= 1:
        items = [write_scene(s, model, root) for s in tqdm(scenes, disable=None, desc="S2 L2A")]
    else:
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(window, root)) as pool:
            results = pool.map(_write_in_worker, scenes, chunksize=p.workers_chunk)
            items = list(tqdm(results, total=len(scenes), disable=None, desc="S2 L2A"))
    items.sort(key=lambda it: (it["properties"]["datetime"], it["id"]))
    writer.write_stac(root, collection(items), items)
    return truth(items, p, window, model.land, LANDCOVER_RASTER)
