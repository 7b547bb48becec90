"""Run methods in fresh processes, interleaved, and summarise: medians, ratios, agreement.

Interleaving: run ``r`` runs every case once, in the case order for even ``r`` and reversed for
odd ``r``. On a shared machine the load drifts during a benchmark; in this ABBA order each case
sees the same share of early and late slots, so drift cancels in the medians instead of
favouring whichever case ran first.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.workload import Workload

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Case:
    """One row of a table: a method with its options on a workload."""

    name: str
    method: str
    workload: Workload
    options: dict = field(default_factory=dict)
    vs: str | None = "odc-stac median"  # the row whose time this one is divided by
    same_pixels_as: str = "odc-stac median"  # the row whose composite this one must equal
    runs: list[dict] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(r[key] for r in self.runs)


def run_once(case: Case, out: Path, timeout: float = 1800) -> dict:
    """One measurement of ``case`` in a fresh Python process (see :mod:`benchmarks.worker`).

    GDAL counts the process's HTTP requests and bytes (``CPL_VSIL_SHOW_NETWORK_STATS``, printed
    at exit, after the clock has stopped); they are added as ``head``, ``get`` and ``mb``.
    """
    spec = {"workload": asdict(case.workload), "method": case.method, "options": case.options, "out": str(out)}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.worker", json.dumps(spec)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "CPL_VSIL_SHOW_NETWORK_STATS": "YES"})
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark case {case.name!r} failed:\n{proc.stderr[-3000:]}")
    result = next(line for line in proc.stdout.splitlines() if line.startswith('{"seconds"'))
    return {**json.loads(result), **network_stats(proc.stdout + proc.stderr)}


def network_stats(output: str) -> dict:
    """HEAD and GET counts and MB downloaded from GDAL's exit report (zeros when there is none)."""
    at = output.find("Network statistics:")
    if at < 0:
        return {"head": 0, "get": 0, "mb": 0.0}
    stats, _ = json.JSONDecoder().raw_decode(output[output.index("{", at):])
    methods = stats.get("methods", {})
    return {"head": methods.get("HEAD", {}).get("count", 0), "get": methods.get("GET", {}).get("count", 0),
            "mb": methods.get("GET", {}).get("downloaded_bytes", 0) / 1e6}


def interleaved(cases: list[Case], runs: int, scratch: Path, say=print) -> None:
    """Measure every case ``runs`` times in ABBA order; each case's last composite stays in ``scratch``."""
    for r in range(runs):
        for case in cases if r % 2 == 0 else reversed(cases):
            result = run_once(case, scratch / f"{case.name}.npy")
            case.runs.append(result)
            say(f"  run {r + 1}/{runs} {case.name:<34} {result['seconds']:7.2f} s  peak {result['peak_mb']:6.0f} MB")


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> dict:
    """Largest |a - b| where both have data, and how many pixels have data in one but not the other."""
    if a.shape != b.shape:
        return {"max_abs_diff": None, "nan_mismatch": None, "shape_mismatch": [list(a.shape), list(b.shape)]}
    both = ~np.isnan(a) & ~np.isnan(b)
    diff = float(np.max(np.abs(a[both] - b[both]))) if both.any() else 0.0
    return {"max_abs_diff": diff, "nan_mismatch": int(np.sum(np.isnan(a) != np.isnan(b))), "compared": int(both.sum())}
