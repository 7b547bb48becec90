"""The science, end to end through the real local servers: the lab's pipeline must recover the
archive's known truth (where snow is, when vegetation is green, what the baseline offset does).

Every read goes the way a student's does: labhelpers.stac.search against the STAC API, then
stackstac reading COGs over HTTP from Azurite. The truth comes from the archive's manifest and its
land-cover raster (classes drawn before any pixel was rendered), never from the pixels under test.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import rasterio
import requests

from labhelpers import composites, indices, sentinel2, stac

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
LAB_DATES = "2016-01-01/2021-12-31"


@pytest.fixture(scope="module")
def s2truth(archive_manifest):
    return archive_manifest["sentinel-2-l2a"]


@pytest.fixture(scope="module")
def catalog(offline_pc):
    return stac.open_catalog("offline")


@pytest.fixture(scope="module")
def lab_items(catalog, s2truth):
    return stac.search(catalog, s2truth["aoi_bbox"], LAB_DATES, max_cloud=25)


@pytest.fixture(scope="module")
def landcover(offline_pc, s2truth):
    """(codes, transform) of the truth land-cover raster, and name -> code."""
    with rasterio.open(Path(offline_pc["archive"]) / s2truth["landcover"]["raster"]) as src:
        codes, transform = src.read(1), src.transform
    names = {name: int(code) for code, name in s2truth["landcover"]["classes"].items()}
    return codes, transform, names


def _classes_at(da, landcover) -> np.ndarray:
    """Land-cover code at each pixel centre of ``da`` (nearest 10 m truth pixel)."""
    codes, t, _ = landcover
    cols = np.floor((da["x"].values - t.c) / t.a).astype(int)
    rows = np.floor((da["y"].values - t.f) / t.e).astype(int)
    assert cols.min() >= 0 and rows.min() >= 0 and cols.max() < codes.shape[1] and rows.max() < codes.shape[0]
    return codes[np.ix_(rows, cols)]


def _month(items, month):
    return [i for i in items if i.datetime.month == month]


def test_search_through_labhelpers_matches_the_manifest(lab_items, s2truth):
    assert len(lab_items) == s2truth["counts"]["lab_query"]
    assert sorted(i.id for i in lab_items) == sorted(s2truth["lab_query"]["ids"])
    href = lab_items[0].assets["B04"].href
    assert href.startswith("http://127.0.0.1:") and "sig=" not in href  # served by Azurite, unsigned


def _mpc_reference(name: str) -> dict:
    return json.loads((DATA / f"s2archive_mpc_item_{name}.json").read_text())


def test_a_search_result_has_everything_the_real_mpc_items_have(offline_pc, s2truth):
    """Every asset key, asset field, property and link rel of the real MPC items (2019 and 2024),
    as the running STAC API serves them, and the hrefs answer."""
    from pystac_client import Client

    search = Client.open(offline_pc["stac_url"]).search(collections=["sentinel-2-l2a"], bbox=s2truth["aoi_bbox"],
                                                        datetime="2016-01-01/2024-12-31", limit=100)
    served = list(search.items_as_dicts())
    assert len(served) == s2truth["counts"]["archive"]
    for name in ("2019_baseline0212", "2024_baseline0510"):
        ref = _mpc_reference(name)
        same_era = [i for i in served if (i["properties"]["s2:processing_baseline"] >= "05.10") == name.startswith("2024")]
        for item in same_era[:5] + same_era[-5:]:
            assert set(ref) <= set(item)
            assert set(ref["properties"]) <= set(item["properties"])
            assert set(ref["assets"]) <= set(item["assets"])
            for key, asset in ref["assets"].items():
                assert set(asset) <= set(item["assets"][key]), (name, key, set(asset) - set(item["assets"][key]))
            assert {link["rel"] for link in ref["links"]} <= {link["rel"] for link in item["links"]}
    item = served[0]
    hrefs = [a["href"] for a in item["assets"].values()] + [l["href"] for l in item["links"] if l["rel"] == "preview"]
    assert all(h.startswith("http://127.0.0.1:") for h in hrefs)  # every href is served by the stand-in
    for href in hrefs:
        r = requests.get(href, headers={"Range": "bytes=0-99"}, timeout=10)
        assert r.status_code in (200, 206), (href, r.status_code)


def test_b04_is_a_full_tile_cog_with_overviews_over_http(lab_items):
    href = lab_items[0].assets["B04"].href
    with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"), rasterio.open(href) as src:
        assert src.width == src.height == 10980
        assert len(src.overviews(1)) >= 3 and src.block_shapes == [(1024, 1024)]
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"


def test_the_labs_stack_without_bounds_is_as_large_as_on_mpc(lab_items, s2truth):
    """Without ``bbox`` the lab stacks whole MGRS tiles: about 1098 x 1098 px per scene at 100 m.
    Only the shape is looked at (nothing is computed)."""
    whole = sentinel2.stack(lab_items, assets=("B04", "B03", "B02", "B08"), resolution=100)
    aoi = sentinel2.stack(lab_items, assets=("B04", "B03", "B02", "B08"), resolution=100, bbox=s2truth["aoi_bbox"])
    assert s2truth["tile"]["stack_100m_shape"] == [1098, 1098]
    assert 1098 <= whole.sizes["x"] <= 1099 and 1098 <= whole.sizes["y"] <= 1099  # stackstac snaps outward
    assert whole.nbytes > 1e3 * aoi.nbytes  # the AOI is a thousandth of the tile
    assert whole.nbytes / len(lab_items) > 19e6  # ~19 MB per scene of float32 bands, before any compute


def test_empty_search_on_the_real_api_is_a_clear_error(catalog, s2truth):
    with pytest.raises(stac.EmptySearchError, match="eo:cloud_cover < 25"):
        stac.search(catalog, s2truth["aoi_bbox"], "2030-01-01/2030-12-31")


def test_pipeline_reads_cogs_over_http_into_a_median_ndvi(lab_items, s2truth):
    data = sentinel2.stack(lab_items, assets=("B04", "B08"), resolution=100, bbox=s2truth["aoi_bbox"])
    ndvi = indices.ndvi(composites.median(data)).compute()
    assert data.sizes["time"] == len(lab_items) and ndvi.shape == (data.sizes["y"], data.sizes["x"])
    assert np.isfinite(ndvi.values).all() and -1 <= float(ndvi.min()) and float(ndvi.max()) <= 1


def test_january_ndsi_over_fields_is_snow(lab_items, s2truth, landcover):
    january = _month(lab_items, 1)
    assert len(january) >= 2
    data = sentinel2.stack(january, assets=("B03", "B11"), resolution=20, mask_clouds=True, bbox=s2truth["aoi_bbox"])
    ndsi = indices.ndsi(composites.median(data)).compute()
    classes = _classes_at(ndsi, landcover)
    fields = float(np.nanmean(ndsi.values[classes == landcover[2]["agricultural fields"]]))
    expected = s2truth["class_monthly_means"]["agricultural fields"]["ndsi"]["1"]
    assert fields > 0.4
    assert fields == pytest.approx(expected, abs=0.1)


def test_july_forest_ndvi_is_green_and_fields_follow_the_season(lab_items, s2truth, landcover):
    july = _month(lab_items, 7)
    data = sentinel2.stack(july, assets=("B04", "B08"), resolution=20, mask_clouds=True, bbox=s2truth["aoi_bbox"])
    ndvi = indices.ndvi(composites.median(data)).compute()
    classes = _classes_at(ndvi, landcover)
    forest = float(np.nanmean(ndvi.values[classes == landcover[2]["conifer forest"]]))
    assert forest > 0.6
    assert forest == pytest.approx(s2truth["class_monthly_means"]["conifer forest"]["ndvi"]["7"], abs=0.1)
    october = sentinel2.stack(_month(lab_items, 10), assets=("B04", "B08"), resolution=20, mask_clouds=True,
                              bbox=s2truth["aoi_bbox"])
    fields_oct = indices.ndvi(composites.median(october)).compute().values[classes == landcover[2]["agricultural fields"]]
    fields_jul = ndvi.values[classes == landcover[2]["agricultural fields"]]
    assert np.nanmean(fields_jul) > np.nanmean(fields_oct) + 0.3  # harvest / senescence


def test_the_2022_offset_is_removed_exactly_once(catalog, s2truth, landcover):
    """Evergreen forest looks the same every summer: 2021 (baseline 03.0x) and 2023 (05.09) agree
    once harmonised, and differ by the +1000 DN (+0.1 reflectance) when not."""
    medians = {}
    for year in (2021, 2023):
        items = stac.search(catalog, s2truth["aoi_bbox"], f"{year}-06-01/{year}-08-31", max_cloud=10)
        assert {sentinel2.boa_offset(i) for i in items} == ({0} if year == 2021 else {-1000})
        for harmonize in (True, False):
            data = sentinel2.stack(items, assets=("B02", "B03", "B04", "B08"), resolution=20, mask_clouds=True,
                                   harmonize=harmonize, bbox=s2truth["aoi_bbox"])
            composite = composites.median(data).compute()
            forest = _classes_at(composite, landcover) == landcover[2]["conifer forest"]
            medians[year, harmonize] = np.nanmedian(composite.values[:, forest], axis=1)
    np.testing.assert_allclose(medians[2023, True], medians[2021, True], atol=0.02)
    np.testing.assert_allclose(medians[2023, False] - medians[2021, False], 0.1, atol=0.02)


def _outputs(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


@pytest.mark.notebooks
def test_notebook_03_follows_its_parameters(tmp_path, s2truth):
    """One year over a smaller AOI at 200 m: fewer scenes, fewer pixels, fewer year-months."""
    from labhelpers_course import run

    small_aoi = [[-122.8200, 53.8860], [-122.8080, 53.8860], [-122.8080, 53.8960], [-122.8200, 53.8960], [-122.8200, 53.8860]]
    out = tmp_path / "03.ipynb"
    # run.execute as `labhelpers run` does: the lab's own failing stackstac cell (raises-exception) is the lesson
    run.execute(ROOT / "notebooks" / "03_composites.ipynb", out, timeout=600,
                parameters={"profile": "offline", "datetime": "2019-01-01/2019-12-31", "resolution": 200,
                            "aoi": small_aoi})
    text = _outputs(out)
    per_month = {k: n for k, n in s2truth["counts"]["lab_query_per_month"].items() if k.startswith("2019-")}
    assert f"{sum(per_month.values())} scenes with eo:cloud_cover < 25 % in 2019-01-01/2019-12-31" in text

    # the notebook first measures the stack without bounds (float64), then the lab's, bounded by the AOI (float32)
    sizes = re.search(r"\{'time': (\d+), 'band': 4, 'y': (\d+), 'x': (\d+)\} float32", text)
    assert sizes and int(sizes[1]) == sum(per_month.values())
    # ~1.1 km of latitude and ~0.8 km of longitude at 200 m, plus stackstac's snapping: a few pixels
    assert 5 <= int(sizes[2]) <= 8 and 4 <= int(sizes[3]) <= 6

    months = sorted(int(k[5:]) for k in per_month)
    span = range(months[0], months[-1] + 1)
    empty = [f"2019-{m:02d}" for m in span if m not in months]
    listed = re.search(rf"resample: {len(span)} year-months, (\d+) of them without a single clear pixel: (\[.*?\])", text)
    assert listed, text[-2000:]
    # a month without any scene has no clear pixel; a month of cloudy scenes may have none either
    assert set(empty) <= set(ast.literal_eval(listed[2])) and int(listed[1]) == len(ast.literal_eval(listed[2]))
