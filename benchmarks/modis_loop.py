"""The MODIS loop of notebook 05, per day: the lab's blob route vs the STAC route.

``python -m benchmarks.modis_loop ROUTE`` runs one route in a fresh process (cold GDAL and
download caches) on the notebook's case (MCD43A4, tile of Chicago, days 2019135-2019160) and
prints JSON: wall time for the whole route, days with data, and seconds per day.

* ``blob``: per day, list the tile's folder in the blob container, download the HDF4 file
  (into a fresh folder, so nothing is cached), open it, clip to the AOI, mean NDVI;
* ``stac``: one STAC search, ``odc-stac`` load of the per-band COGs clipped to the AOI, NDVI
  mean per day (one dask compute).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from labhelpers_standin.archive.modis import CHICAGO, CHICAGO_POINT

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = "MCD43A4"
LAT, LON = CHICAGO_POINT  # the handout's Chicago, 41.881832, -87.623177
FIRST_DAY, LAST_DAY = "2019135", "2019160"
AOI_BBOX = CHICAGO[1]  # the city's box, which contains the point (from the archive that defines it)
RED, NIR = "Nadir_Reflectance_Band1", "Nadir_Reflectance_Band2"


def blob_route(folder: Path) -> int:
    """The notebook's loop over days; returns the number of days with data."""
    import labhelpers.modis as modis

    h, v = modis.tile_of(LAT, LON)
    client = modis.container_client("offline")
    start = modis.day_to_date(FIRST_DAY)
    n_days = (modis.day_to_date(LAST_DAY) - start).days + 1
    done = 0
    for day in (modis.day_string(start + timedelta(days=i)) for i in range(n_days)):
        names = modis.list_hdf(client, PRODUCT, h, v, day)
        if not names:
            continue
        path = modis.download(modis.blob_url(client, names[-1]), folder, progress=False)
        aoi = modis.clip_lonlat(modis.open_hdf(path, variables=[RED, NIR]), AOI_BBOX)
        float(modis.ndvi(aoi).mean())
        done += 1
    return done


def stac_route() -> int:
    """The notebook's STAC cell; returns the number of days (items) loaded."""
    import labhelpers.modis as modis
    import labhelpers.stac

    h, v = modis.tile_of(LAT, LON)
    items = modis.search_stac(labhelpers.stac.open_catalog("offline"), h, v, FIRST_DAY, LAST_DAY)
    ds = modis.clip_lonlat(modis.load_stac(items, bbox=AOI_BBOX), AOI_BBOX)
    modis.ndvi(ds).mean(["x", "y"]).compute()
    return len(items)


def main(route: str) -> dict:
    import labhelpers.modis  # noqa: F401  (imports are not timed)
    import labhelpers.stac  # noqa: F401

    with tempfile.TemporaryDirectory(prefix="bench-modis-") as folder:
        t0 = time.perf_counter()
        days = blob_route(Path(folder)) if route == "blob" else stac_route()
        seconds = time.perf_counter() - t0
    return {"route": route, "seconds": seconds, "days": days, "seconds_per_day": seconds / max(days, 1)}


def measure(route: str) -> dict:
    """One run of ``route`` in a fresh process."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.modis_loop", route], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"MODIS {route} route failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
