"""The synthetic Sentinel-2 L2A archive is deterministic, shaped like MPC's, and tells the truth.

Everything here runs on the tiny ``test`` profile (a winter and two summer months, a ~2 km
window, a few seconds to build); the ``ci`` and ``full`` profiles only differ in how many passes
and how large a window they write.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from pyproj import Transformer
from shapely.geometry import Polygon

from labhelpers_standin.archive import sentinel2 as s2
from labhelpers_standin.archive.layout import blob_path

DATA = Path(__file__).parents[1] / "data"
CLOUD_CODES = (s2.SCL_CLOUD_MEDIUM, s2.SCL_CLOUD_HIGH, s2.SCL_CIRRUS)
CLEAR_CODES = (s2.SCL_VEGETATION, s2.SCL_NOT_VEGETATED, s2.SCL_WATER, s2.SCL_SNOW)


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("s2archive")
    return root, s2.build(root, "test", workers=1)


@pytest.fixture(scope="module")
def items(archive) -> list[dict]:
    root, _ = archive
    lines = (root / "stac/items/sentinel-2-l2a.ndjson").read_text().splitlines()
    return [json.loads(line) for line in lines]


def reference(name: str) -> dict:
    return json.loads((DATA / f"s2archive_mpc_item_{name}.json").read_text())


def read(root: Path, item: dict, asset: str) -> np.ndarray:
    with rasterio.open(blob_path(root, item["assets"][asset]["href"])) as src:
        return src.read()


def reflectance(root: Path, item: dict, band: str) -> np.ndarray:
    """Surface reflectance the way a careful reader gets it: subtract the baseline's offset."""
    offset = 1000 if item["properties"]["s2:processing_baseline"] >= "04.00" else 0
    return (read(root, item, band)[0].astype(float) - offset) / 10000


def to_20m(a: np.ndarray) -> np.ndarray:
    h, w = a.shape
    return a.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def pure_classes_20m(root: Path) -> np.ndarray:
    """Land-cover code of every 20 m pixel whose four 10 m pixels agree, else 0."""
    with rasterio.open(root / "truth/s2_landcover.tif") as src:
        lc = src.read(1)
    h, w = lc.shape
    blocks = lc.reshape(h // 2, 2, w // 2, 2)
    pure = blocks.min(axis=(1, 3)) == blocks.max(axis=(1, 3))
    return np.where(pure, blocks[:, 0, :, 0], 0)


def clear_items(items, month: int, max_cloud: float = 25) -> list[dict]:
    return [
        it for it in items
        if int(it["properties"]["datetime"][5:7]) == month and it["properties"]["eo:cloud_cover"] < max_cloud
    ]


def file_hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


# --- determinism and layout --------------------------------------------------------------------
def test_two_builds_with_different_worker_counts_are_byte_identical(archive, tmp_path):
    root, truth = archive
    again = s2.build(tmp_path, "test", workers=2)
    first, second = file_hashes(root), file_hashes(tmp_path)
    assert len(first) > 100
    assert first == second
    assert json.dumps(truth, sort_keys=True) == json.dumps(again, sort_keys=True)


def test_only_the_contracted_files_are_written(archive, items):
    root, _ = archive
    top = {p.name for p in root.iterdir()}
    assert top == {"blobs", "stac", "truth"}  # no manifest.json / BUILD_OK: the orchestrator's job
    assert not [p for p in root.rglob("*.tmp")]
    written = {p for p in (root / "blobs").rglob("*") if p.is_file()}
    referenced = {blob_path(root, a["href"]) for it in items for a in it["assets"].values()}
    assert written == referenced


def test_aoi_is_kept_as_given_and_lies_in_tile_10UEE():
    assert s2.AOI[0] == [-122.8226566, 53.8907286] and len(s2.AOI) == 6 and s2.AOI[0] != s2.AOI[-1]
    assert s2.AOI_BBOX == [-122.8264828, 53.8830494, -122.8003758, 53.9006506]
    xs, ys = Transformer.from_crs(4326, 32610, always_xy=True).transform(*zip(*s2.AOI))
    assert 499980 < min(xs) and max(xs) < 609780 and 5890220 < min(ys) and max(ys) < 6000020
    window = s2.Window.around_aoi(600)
    assert (window.xmin - 499980) % 60 == 0 and (6000020 - window.ymax) % 60 == 0
    assert window.bbox[0] < min(xs) and window.bbox[2] > max(xs)


# --- STAC shape --------------------------------------------------------------------------------
def test_items_have_the_shape_of_real_mpc_items(items):
    old, new = reference("2019_baseline0212"), reference("2024_baseline0510")
    assert [it["id"] for it in items] == [
        it["id"] for it in sorted(items, key=lambda it: (it["properties"]["datetime"], it["id"]))
    ]
    for item in items:
        ref = new if item["properties"]["s2:processing_baseline"] >= "05.10" else old
        assert set(item) == set(ref)
        assert list(item["properties"]) == list(old["properties"])  # same keys, same order
        assert item["stac_extensions"] == ref["stac_extensions"]  # projection v1.1.0 only on 05.10 items
        assert item["properties"]["proj:epsg"] == 32610 and item["properties"]["s2:mgrs_tile"] == "10UEE"
        assert re.fullmatch(r"S2[AB]_MSIL2A_\d{8}T\d{6}_R(013|113)_T10UEE_\d{8}T\d{6}", item["id"])
        assert item["properties"]["platform"] == f"Sentinel-{item['id'][1:3]}"
        assert [link["rel"] for link in item["links"]] == ["collection", "parent", "root", "self", "license"]
        for key in ("B04", "SCL", "visual"):
            assert list(item["assets"][key]) == list(old["assets"][key])
        for key in ("B02", "B03", "B04", "B08", "B11", "B12", "visual"):
            assert item["assets"][key]["eo:bands"] == old["assets"][key]["eo:bands"]
            assert item["assets"][key]["title"] == old["assets"][key]["title"]
        assert "raster:bands" not in json.dumps(item)
        href = item["assets"]["B04"]["href"]
        assert re.fullmatch(
            r"https://sentinel2l2a01\.blob\.core\.windows\.net/sentinel2-l2/10/U/EE/\d{4}/\d\d/\d\d/"
            r"S2[AB]_MSIL2A_\w+_N\d{4}_R\d{3}_T10UEE_\w+\.SAFE/GRANULE/L2A_T10UEE_A\d{6}_\w+/"
            r"IMG_DATA/R10m/T10UEE_\d{8}T\d{6}_B04_10m\.tif",
            href,
        )
        loaded = pystac.Item.from_dict(item)
        assert loaded.id == item["id"] and loaded.datetime is not None


def test_pre_2017_07_is_sentinel_2a_only_and_both_fly_later():
    scenes = s2.schedule(s2.PROFILES["ci"])
    assert {sc.platform for sc in scenes if sc.sensing.date() < date(2017, 7, 1)} == {"Sentinel-2A"}
    assert {sc.platform for sc in scenes if sc.sensing.year == 2018} == {"Sentinel-2A", "Sentinel-2B"}


def test_collection_keeps_mpc_keys_and_covers_the_items(archive, items):
    root, _ = archive
    coll = json.loads((root / "stac/collections/sentinel-2-l2a.json").read_text())
    real_keys = {
        "id", "type", "links", "title", "assets", "extent", "license", "keywords", "providers", "summaries",
        "description", "item_assets", "stac_version", "msft:container", "stac_extensions",
        "msft:storage_account", "msft:short_description", "msft:region",
    }
    assert set(coll) == real_keys | {"labhelpers:source"}
    assert "SYNTHETIC" in coll["description"]
    (xmin, ymin, xmax, ymax), = coll["extent"]["spatial"]["bbox"]
    assert all(xmin <= it["bbox"][0] and it["bbox"][2] <= xmax for it in items)
    assert coll["extent"]["temporal"]["interval"][0] == [items[0]["properties"]["datetime"], items[-1]["properties"]["datetime"]]
    pystac.Collection.from_dict(coll)


# --- COGs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "asset, dtype, count, gsd",
    [("B04", "uint16", 1, 10), ("B11", "uint16", 1, 20), ("SCL", "uint8", 1, 20), ("visual", "uint8", 3, 10)],
)
def test_assets_are_cogs_described_by_their_proj_fields(archive, items, asset, dtype, count, gsd):
    root, _ = archive
    item = items[0]
    meta = item["assets"][asset]
    with rasterio.open(blob_path(root, meta["href"])) as src:
        assert src.driver == "GTiff" and src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.profile["tiled"] and src.profile["compress"] == "deflate"
        assert src.overviews(1), "internal overviews"
        assert src.nodata == 0 and src.dtypes == (dtype,) * count
        assert src.crs.to_epsg() == 32610
        assert list(src.shape) == meta["proj:shape"]
        assert list(src.transform)[:6] == meta["proj:transform"]
        assert list(src.bounds) == meta["proj:bbox"]
        assert meta["gsd"] == gsd


def test_geometry_is_the_valid_data_footprint(archive, items):
    """Swath-edge scenes lose their nodata corner in the geometry; full scenes keep the window."""
    root, _ = archive
    edge = [it for it in items if it["properties"]["s2:nodata_pixel_percentage"] > 5]
    full = [it for it in items if it["properties"]["s2:nodata_pixel_percentage"] == 0]
    assert edge and full
    area = {it["id"]: Polygon(it["geometry"]["coordinates"][0]).area for it in edge + full}
    for it in edge:
        expected = 1 - it["properties"]["s2:nodata_pixel_percentage"] / 100
        assert area[it["id"]] / area[full[0]["id"]] == pytest.approx(expected, abs=0.03)
        scl, b02 = read(root, it, "SCL")[0], read(root, it, "B02")[0]
        assert (b02[::2, ::2][scl == 0] == 0).all() and (b02[::2, ::2][scl != 0] > 0).all()


# --- the processing baseline ---------------------------------------------------------------------
def test_baseline_04_adds_1000_to_the_same_surface(archive, items):
    root, truth = archive
    assert truth["baseline"]["offset_from"] == "2022-01-25" and truth["baseline"]["boa_add_offset"] == -1000
    scenes = {sc.id: sc for sc in s2.schedule(s2.PROFILES["test"])}
    window = s2.Window.around_aoi(s2.PROFILES["test"].margin_m)
    classes, vigor = s2.landscape(window)
    for item in items:
        baseline = item["properties"]["s2:processing_baseline"]
        after = item["properties"]["datetime"] >= "2022-01-25"
        assert (baseline >= "04.00") == after
        if not after:
            continue
        pixels = s2.render(scenes[item["id"]], window, classes, vigor)
        valid = np.repeat(np.repeat(pixels.valid20, 2, 0), 2, 1)
        dn = read(root, item, "B08")[0].astype(int)
        old_model = s2.encode_dn(pixels.refl10[3], "03.01", valid).astype(int)
        assert (dn[valid] - 1000 == old_model[valid]).all()
        assert (dn[~valid] == 0).all()
    assert any(it["properties"]["s2:nodata_pixel_percentage"] > 0 and it["properties"]["datetime"] > "2022" for it in items)


def test_a_2021_and_a_2023_summer_agree_once_the_offset_is_removed(archive, items):
    root, _ = archive
    classes = pure_classes_20m(root)
    means = {}
    for year in ("2021", "2023"):
        item = min(
            (it for it in items if it["properties"]["datetime"].startswith(year)),
            key=lambda it: it["properties"]["eo:cloud_cover"],
        )
        scl = read(root, item, "SCL")[0]
        ok = np.isin(scl, CLEAR_CODES) & (classes == s2.FOREST)
        raw = to_20m(read(root, item, "B08")[0].astype(float))[ok] / 10000
        means[year] = (raw.mean(), to_20m(reflectance(root, item, "B08"))[ok].mean())
    assert abs(means["2021"][1] - means["2023"][1]) < 0.02  # offset removed: same surface
    assert abs(means["2021"][0] - means["2023"][0]) > 0.08  # naive DN/10000: a fake jump of 0.1


# --- SCL and cloud cover ---------------------------------------------------------------------------
def test_eo_cloud_cover_and_percentages_come_from_the_scl_written(archive, items):
    root, truth = archive
    for item in items:
        scl = read(root, item, "SCL")[0]
        valid = scl != 0
        cloud = 100 * np.isin(scl, CLOUD_CODES).sum() / valid.sum()
        props = item["properties"]
        assert props["eo:cloud_cover"] == pytest.approx(cloud, abs=1e-5)
        assert props["s2:snow_ice_percentage"] == pytest.approx(100 * (scl == 11).sum() / valid.sum(), abs=1e-5)
        assert props["s2:nodata_pixel_percentage"] == pytest.approx(100 * (~valid).mean(), abs=1e-5)
        assert truth["items"][item["id"]]["eo:cloud_cover"] == props["eo:cloud_cover"]
    covers = [it["properties"]["eo:cloud_cover"] for it in items]
    assert min(covers) < 25 < max(covers) and 100.0 in covers


def test_scl_agrees_with_the_pixels(archive, items):
    root, _ = archive
    classes = pure_classes_20m(root)
    for item in items:
        scl = read(root, item, "SCL")[0]
        valid = scl != 0
        green, swir = to_20m(reflectance(root, item, "B03"))[valid], reflectance(root, item, "B11")[valid]
        blue, scl = to_20m(reflectance(root, item, "B02"))[valid], scl[valid]
        ndsi = (green - swir) / (green + swir)
        assert (ndsi[scl == s2.SCL_SNOW] > 0.4).all()
        assert (blue[scl == s2.SCL_CLOUD_MEDIUM] > 0.2).all()  # half transparent: may be snow below
        assert (blue[scl == s2.SCL_CLOUD_HIGH] > 0.4).all() and (ndsi[scl == s2.SCL_CLOUD_HIGH] < 0.4).all()
        if item in clear_items(items, 1):
            clear_fields = (classes[valid] == s2.FIELDS) & ~np.isin(scl, CLOUD_CODES + (s2.SCL_SHADOW,))
            assert (scl[clear_fields] == s2.SCL_SNOW).mean() > 0.95
    shadowed = [it for it in items if it["properties"]["s2:cloud_shadow_percentage"] > 1]
    assert shadowed


# --- truth -------------------------------------------------------------------------------------------
def test_truth_matches_the_written_pixels_of_clear_scenes(archive, items):
    root, truth = archive
    classes = pure_classes_20m(root)
    means = truth["class_monthly_means"]
    january = clear_items(items, 1)
    july = clear_items(items, 7)
    assert len(january) >= 2 and len(july) >= 2
    for item in january:
        scl = read(root, item, "SCL")[0]
        ok = (classes == s2.FIELDS) & np.isin(scl, CLEAR_CODES)
        green, swir = to_20m(reflectance(root, item, "B03"))[ok], reflectance(root, item, "B11")[ok]
        ndsi = ((green - swir) / (green + swir)).mean()
        assert ndsi > 0.4
        assert ndsi == pytest.approx(means["agricultural fields"]["ndsi"]["1"], abs=0.05)
    for item in july:
        scl = read(root, item, "SCL")[0]
        ok = (classes == s2.FOREST) & np.isin(scl, CLEAR_CODES)
        red, nir = to_20m(reflectance(root, item, "B04"))[ok], to_20m(reflectance(root, item, "B08"))[ok]
        ndvi = ((nir - red) / (nir + red)).mean()
        assert ndvi > 0.6
        assert ndvi == pytest.approx(means["conifer forest"]["ndvi"]["7"], abs=0.05)


def test_truth_counts_agree_with_the_items(archive, items):
    _, truth = archive
    aoi = Polygon(s2.AOI)
    lab = [
        it["id"] for it in items
        if "2016-01-01" <= it["properties"]["datetime"][:10] <= "2021-12-31"
        and it["properties"]["eo:cloud_cover"] < 25
        and Polygon(it["geometry"]["coordinates"][0]).intersects(aoi)
    ]
    assert truth["counts"]["lab_query"] == len(lab) == len(truth["lab_query"]["ids"]) > 0
    assert truth["counts"]["archive"] == len(items) == len(truth["items"])
    assert truth["snow_months"] == [12, 1, 2, 3]
    assert set(truth["landcover"]["classes"].values()) == set(s2.landcover_classes().values())
    assert set(truth["landcover"]["pixel_fraction"]) == set(s2.landcover_classes().values())
    json.dumps(truth)


def test_calendar_months_have_clear_scenes_but_cloudy_year_months_have_none():
    """groupby-month composites always have data; resample-month ones have empty winter months."""
    scenes = [sc for sc in s2.schedule(s2.PROFILES["ci"]) if 2016 <= sc.sensing.year <= 2021]
    clear = [sc for sc in scenes if sc.cloud_target < 20.5]
    per_calendar_month = {m: sum(sc.sensing.month == m for sc in clear) for m in range(1, 13)}
    assert min(per_calendar_month.values()) >= 2, per_calendar_month
    year_months = {(y, m) for y in range(2016, 2022) for m in range(1, 13)}
    empty = year_months - {(sc.sensing.year, sc.sensing.month) for sc in clear}
    assert len(empty) >= 6, "a realistic archive has year-months without any clear scene"
    assert sum(m in (11, 12, 1, 2, 3) for _, m in empty) > len(empty) / 2  # mostly in winter
    assert sum(sc.cloud_target >= 25 for sc in scenes) > len(scenes) / 4  # clouds stay common
    assert sum(sc.cloud_target == 100 for sc in scenes) > 10


def test_the_model_has_the_seasons_the_lab_teaches():
    window = s2.Window.around_aoi(150)
    classes, vigor = s2.landscape(window)
    means = s2.monthly_class_means(classes, vigor)
    fields, forest = means["agricultural fields"], means["conifer forest"]
    assert fields["ndsi"]["1"] > 0.4 and forest["ndvi"]["7"] > 0.6
    assert fields["ndvi"]["7"] > 0.65 > fields["ndvi"]["5"] and fields["ndvi"]["10"] < 0.3
    assert means["river"]["ndvi"]["7"] < 0 and 0.1 < means["town"]["ndvi"]["7"] < 0.2
    assert all(forest["ndvi"][str(m)] > 0.75 for m in range(4, 12))  # evergreen
