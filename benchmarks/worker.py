"""One measurement in a fresh process: ``python -m benchmarks.worker SPEC_JSON``.

A fresh process per run is what makes runs comparable: GDAL's HTTP caches (file sizes, headers,
blocks), dask's state and Python's heap start empty every time, as in a student's new kernel.

What is measured:

* **time**: ``time.perf_counter`` around the method call only (imports, reading the saved
  items and building the grid happen before the clock starts);
* **peak memory**: the kernel's high-water mark of this process's resident set
  (``getrusage(RUSAGE_SELF).ru_maxrss``; every method runs its threads inside this one
  process, so this is the process tree's peak). It is exact, where sampling RSS with psutil
  would miss short spikes. ``base_mb`` is the same mark just before the clock starts
  (interpreter, libraries, items); ``peak_mb - base_mb`` is what the method itself added.

Prints one JSON line; the composite is saved as .npy for the agreement check.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np

from benchmarks import methods
from benchmarks.workload import Workload, grid, load_items


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main(spec: dict) -> dict:
    wl = Workload.from_json(json.dumps(spec["workload"]))
    method, options = spec["method"], spec.get("options", {})
    fn = {"ours": methods.ours, "odc": methods.odc, "naive": methods.naive, "limit": methods.limit_reads}[method]
    # Warm the imports each method needs and the cached items/grid, so only the work is timed.
    import labhelpers.composites  # noqa: F401
    import labhelpers.sentinel2  # noqa: F401
    import odc.stac  # noqa: F401
    import rioxarray  # noqa: F401

    load_items(wl.items_path)
    grid(wl)
    base = _maxrss_mb()
    t0 = time.perf_counter()
    out = fn(wl, **options)
    seconds = time.perf_counter() - t0
    peak = _maxrss_mb()
    if method == "limit":
        out = methods.limit_composite(wl, out)
    np.save(spec["out"], out)
    return {"seconds": seconds, "peak_mb": peak, "base_mb": base, "items": len(load_items(wl.items_path))}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
