"""The benchmark's methods make the same composite (correctness only: benchmarks are never timed in tests).

One summer month of the stand-in's archive at 100 m: ours (as shipped and with the proposed
overview reader), odc-stac, the naive rioxarray loop and the raw-read limit
must agree pixel for pixel, NaNs included, when they read the same pixels.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks import methods  # noqa: E402
from benchmarks.measure import max_abs_diff  # noqa: E402
from benchmarks.workload import Workload, aoi_bbox, save_items  # noqa: E402

pytestmark = pytest.mark.services


@pytest.fixture(scope="module")
def workload(offline_pc, tmp_path_factory) -> Workload:
    import labhelpers.stac

    path = tmp_path_factory.mktemp("bench") / "items.json"
    save_items(labhelpers.stac.open_catalog("offline"), "2021-07-01/2021-07-31", path, max_cloud=100)
    return Workload(str(path), aoi_bbox(), 100)


def _assert_same(composite, reference, name):
    agree = max_abs_diff(composite, reference)
    assert agree["nan_mismatch"] == 0, (name, agree)
    assert agree["max_abs_diff"] < 1e-6, (name, agree)


def test_all_methods_make_the_same_median(workload):
    """Methods reading the same source level agree exactly.

    At 100 m, nearest from the 20 m overview and nearest from full resolution sample different
    10 m pixels, so full-resolution readers are compared with odc-stac told not to use overviews.
    """
    from_overview = methods.odc(workload)
    from_full = methods.odc(workload, overviews=False)
    assert from_overview.shape[0] == len(workload.assets) and np.isfinite(from_overview).any()
    _assert_same(methods.ours(workload), from_full, "ours")
    _assert_same(methods.naive(workload), from_full, "naive")
    _assert_same(methods.ours(workload, overviews=True), from_overview, "ours+proposed")
    _assert_same(methods.limit_composite(workload, methods.limit_reads(workload, threads=2)), from_overview, "limit")


def test_monthly_agrees_with_odc(workload):
    _assert_same(methods.ours(workload, reduce="monthly"), methods.odc(workload, "monthly", overviews=False), "ours")
    _assert_same(methods.ours(workload, reduce="monthly", overviews=True),
                 methods.odc(workload, "monthly"), "ours+proposed")
