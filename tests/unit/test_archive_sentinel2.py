"""The synthetic Sentinel-2 L2A archive is deterministic, shaped like MPC's, and tells the truth.

Everything here runs on the ``test`` size (a winter and two summer months, a ~2 km window, a few
seconds to build); ``ci`` and ``full`` only differ in how many passes and how large a window
they write.
"""

from __future__ import annotations

import hashlib
import json
import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from shapely.geometry import Polygon, shape

from labhelpers_standin.archive import sentinel2 as s2
from labhelpers_standin.archive.layout import blob_path
from labhelpers_standin.archive.sentinel2 import geography, landscape, render, schedule, spectra, truth as truthmod
from labhelpers_standin.archive.sentinel2.render import (
    SCL_CIRRUS, SCL_CLOUD_HIGH, SCL_CLOUD_MEDIUM, SCL_SHADOW, SCL_SNOW, SCL_NOT_VEGETATED, SCL_VEGETATION, SCL_WATER,
)

DATA = Path(__file__).parents[1] / "data"
CLOUD_CODES = (SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH, SCL_CIRRUS)
CLEAR_CODES = (SCL_VEGETATION, SCL_NOT_VEGETATED, SCL_WATER, SCL_SNOW)
HANDOUT_AOI = [[-122.8226566, 53.9006842], [-122.826519, 53.8837441], [-122.8019714, 53.8829854],
               [-122.8004265, 53.9007348], [-122.8227425, 53.9006842]]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("s2archive")
    return root, s2.build(root, "test", workers=1)


@pytest.fixture(scope="module")
def items(archive) -> list[dict]:
    root, _ = archive
    lines = (root / "stac/items/sentinel-2-l2a.ndjson").read_text().splitlines()
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def window(archive) -> geography.Window:
    return geography.Window.around_aoi(schedule.plan("test").margin_m)


def reference(name: str) -> dict:
    return json.loads((DATA / f"s2archive_mpc_item_{name}.json").read_text())


def read(root: Path, item: dict, asset: str, window: geography.Window, gsd: int) -> np.ndarray:
    """The written window of an asset (the only part of the full tile that holds data)."""
    with rasterio.open(blob_path(root, item["assets"][asset]["href"])) as src:
        (r, c), (h, w) = window.offset(gsd), window.shape(gsd)
        return src.read(window=((r, r + h), (c, c + w)))


def reflectance(root, item, band, window, gsd=10) -> np.ndarray:
    """Surface reflectance the way a careful reader gets it: ESA's BOA_ADD_OFFSET, then /10000."""
    offset = -1000 if item["properties"]["s2:processing_baseline"] >= "04.00" else 0
    return (read(root, item, band, window, gsd)[0].astype(float) + offset) / 10000


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
    return [it for it in items
            if int(it["properties"]["datetime"][5:7]) == month and it["properties"]["eo:cloud_cover"] < max_cloud]


def file_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --- determinism, layout, place ------------------------------------------------------------------
def test_two_builds_with_different_worker_counts_are_byte_identical(archive, tmp_path):
    root, truth = archive
    again = s2.build(tmp_path, "test", workers=2)
    first, second = file_hashes(root), file_hashes(tmp_path)
    assert len(first) > 500
    assert first == second
    assert json.dumps(truth, sort_keys=True) == json.dumps(again, sort_keys=True)


def test_only_the_contracted_files_are_written_and_every_href_resolves(archive, items):
    root, _ = archive
    assert {p.name for p in root.iterdir()} == {"blobs", "stac", "truth"}  # no manifest/BUILD_OK: build.py's job
    assert not list(root.rglob("*.tmp"))
    written = {p for p in (root / "blobs").rglob("*") if p.is_file()}
    referenced = {blob_path(root, a["href"]) for it in items for a in it["assets"].values()}
    referenced |= {blob_path(root, link["href"]) for it in items for link in it["links"] if link["rel"] == "preview"}
    assert written == referenced


def test_aoi_is_the_handouts_verbatim_and_lies_in_tile_10UEE_only():
    assert s2.AOI == HANDOUT_AOI  # five positions, not closed, no outer list level
    assert len(s2.AOI) == 5 and s2.AOI[0] != s2.AOI[-1] and isinstance(s2.AOI[0][0], float)
    assert s2.AOI_BBOX == [-122.826519, 53.8829854, -122.8004265, 53.9007348]
    xs, ys = geography.to_utm().transform(*zip(*s2.AOI))
    assert 499980 < min(xs) and max(xs) < 609780 and 5890220 < min(ys) and max(ys) < 6000020  # 10UEE
    assert min(xs) > 509760 and max(ys) < 5990220  # not in its neighbours 10UDE and 10UEF
    win = geography.Window.around_aoi(600)
    assert (win.xmin - 499980) % 60 == 0 and (6000020 - win.ymax) % 60 == 0
    assert win.bbox[0] < min(xs) and win.bbox[2] > max(xs) and win.bbox[1] < min(ys) and win.bbox[3] > max(ys)


def test_no_invented_aoi_is_left_in_the_generator():
    package = Path(s2.__file__).parent
    for source in package.glob("*.py"):
        assert "53.8907286" not in source.read_text(), source


# --- STAC shape -------------------------------------------------------------------------------------
def test_items_are_key_for_key_like_real_mpc_items(items):
    old, new = reference("2019_baseline0212"), reference("2024_baseline0510")
    assert [it["id"] for it in items] == [it["id"] for it in sorted(items, key=lambda it: (it["properties"]["datetime"], it["id"]))]
    for item in items:
        ref = new if item["properties"]["s2:processing_baseline"] >= "05.10" else old
        assert set(item) == set(ref)
        assert list(item["properties"]) == list(old["properties"])  # same keys, same order
        assert item["stac_extensions"] == ref["stac_extensions"]  # projection v1.1.0 only on 05.10 items
        assert set(item["assets"]) == set(ref["assets"])  # all 24, the data-API ones included
        for key, asset in ref["assets"].items():
            assert set(item["assets"][key]) == set(asset), key
            for field in ("type", "roles", "title", "eo:bands", "rel"):
                if field in asset:
                    assert item["assets"][key][field] == asset[field], (key, field)
        assert [link["rel"] for link in item["links"]] == [link["rel"] for link in ref["links"]]
        assert item["properties"]["proj:epsg"] == 32610 and item["properties"]["s2:mgrs_tile"] == "10UEE"
        assert re.fullmatch(r"S2[AB]_MSIL2A_\d{8}T\d{6}_R(013|113)_T10UEE_\d{8}T\d{6}", item["id"])
        assert "raster:bands" not in json.dumps(item)
        assert re.fullmatch(
            r"https://sentinel2l2a01\.blob\.core\.windows\.net/sentinel2-l2/10/U/EE/\d{4}/\d\d/\d\d/"
            r"S2[AB]_MSIL2A_\w+_N\d{4}_R\d{3}_T10UEE_\w+\.SAFE/GRANULE/L2A_T10UEE_A\d{6}_\w+/"
            r"IMG_DATA/R10m/T10UEE_\d{8}T\d{6}_B04_10m\.tif", item["assets"]["B04"]["href"])
        loaded = pystac.Item.from_dict(item)
        assert loaded.id == item["id"] and loaded.datetime is not None


def test_assets_describe_the_whole_mgrs_tile(items):
    shapes = {10: [10980, 10980], 20: [5490, 5490], 60: [1830, 1830]}
    for item in items:
        for key, asset in item["assets"].items():
            if "proj:shape" not in asset:
                continue
            gsd = int(asset["gsd"])
            assert asset["proj:shape"] == shapes[gsd], key
            assert asset["proj:bbox"] == [499980.0, 5890220.0, 609780.0, 6000020.0]
            assert asset["proj:transform"] == [gsd, 0.0, 499980.0, 0.0, -gsd, 6000020.0]
    full = [it for it in items if it["properties"]["sat:relative_orbit"] == 13]
    tile = geography.tile_footprint()
    for it in full:
        utm = Polygon(zip(*geography.to_utm().transform(*zip(*it["geometry"]["coordinates"][0]))))
        assert utm.symmetric_difference(tile).area / tile.area < 1e-4  # the whole tile
        assert it["properties"]["s2:nodata_pixel_percentage"] == 0


def test_swath_edge_scenes_lose_the_part_beyond_the_edge(archive, items, window):
    root, _ = archive
    edge = [it for it in items if it["properties"]["sat:relative_orbit"] == 113]
    assert edge
    tile = geography.tile_footprint()
    for it in edge:
        utm = Polygon(zip(*geography.to_utm().transform(*zip(*it["geometry"]["coordinates"][0]))))
        assert utm.area / tile.area == pytest.approx(1 - it["properties"]["s2:nodata_pixel_percentage"] / 100, abs=1e-3)
        assert shape(it["geometry"]).intersects(Polygon(s2.AOI))
        scl, b02 = read(root, it, "SCL", window, 20)[0], read(root, it, "B02", window, 10)[0]
        assert (b02[::2, ::2][scl == 0] == 0).all() and (b02[::2, ::2][scl != 0] > 0).all()
        assert (scl == 0).any() and (scl != 0).any()


def test_collection_keeps_mpc_keys_and_covers_the_items(archive, items):
    root, _ = archive
    coll = json.loads((root / "stac/collections/sentinel-2-l2a.json").read_text())
    real_keys = {"id", "type", "links", "title", "assets", "extent", "license", "keywords", "providers", "summaries",
                 "description", "item_assets", "stac_version", "msft:container", "stac_extensions",
                 "msft:storage_account", "msft:short_description", "msft:region"}
    assert set(coll) == real_keys | {"labhelpers:source"}
    assert "SYNTHETIC" in coll["description"]
    assert set(coll["item_assets"]) == set(reference("2024_baseline0510")["assets"]) - {"tilejson", "rendered_preview"}
    (xmin, ymin, xmax, ymax), = coll["extent"]["spatial"]["bbox"]
    assert all(xmin <= it["bbox"][0] and it["bbox"][2] <= xmax for it in items)
    pystac.Collection.from_dict(coll)


def test_metadata_assets_and_data_api_stand_ins_are_real_files(archive, items):
    root, _ = archive
    for item in items[:4] + items[-4:]:
        a = item["assets"]
        mtd = ET.parse(blob_path(root, a["product-metadata"]["href"])).getroot()
        assert mtd.tag.endswith("Level-2A_User_Product")
        baseline = mtd.find(".//PROCESSING_BASELINE").text
        assert baseline == item["properties"]["s2:processing_baseline"]
        offsets = {int(e.text) for e in mtd.iter("BOA_ADD_OFFSET")}
        assert offsets == ({-1000} if baseline >= "04.00" else set())
        assert mtd.find(".//BOA_QUANTIFICATION_VALUE").text == "10000"
        for key in ("granule-metadata", "datastrip-metadata", "inspire-metadata", "safe-manifest"):
            ET.parse(blob_path(root, a[key]["href"]))
        manifest = blob_path(root, a["safe-manifest"]["href"]).read_text()
        assert "_B04_10m.tif" in manifest and "MTD_MSIL2A.xml" in manifest
        png = blob_path(root, a["rendered_preview"]["href"]).read_bytes()
        assert png.startswith(b"\x89PNG")
        tilejson = json.loads(blob_path(root, a["tilejson"]["href"]).read_text())
        assert tilejson["tilejson"] == "3.0.0" and tilejson["bounds"] == item["bbox"]
        page = next(link for link in item["links"] if link["rel"] == "preview")
        assert "rendered_preview.png" in blob_path(root, page["href"]).read_text()
        with rasterio.open(blob_path(root, a["preview"]["href"])) as pvi:
            assert pvi.shape == (343, 343) and pvi.count == 3 and pvi.crs.to_epsg() == 32610


def test_pre_2017_07_is_sentinel_2a_only_and_both_fly_later():
    scenes = schedule.schedule(schedule.plan("ci"))
    assert {sc.platform for sc in scenes if sc.sensing.date() < date(2017, 7, 1)} == {"Sentinel-2A"}
    assert {sc.platform for sc in scenes if sc.sensing.year == 2018} == {"Sentinel-2A", "Sentinel-2B"}


def test_unknown_sizes_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="choose one of ci, full, test"):
        schedule.plan("tiny")


# --- COGs ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "asset, dtype, count, gsd, overviews",
    [("B04", "uint16", 1, 10, [2, 4, 8, 16]), ("B11", "uint16", 1, 20, [2, 4, 8]), ("SCL", "uint8", 1, 20, [2, 4, 8]),
     ("B01", "uint16", 1, 60, [2]), ("visual", "uint8", 3, 10, [2, 4, 8, 16]), ("AOT", "uint16", 1, 10, [2, 4, 8, 16])],
)
def test_assets_are_sparse_full_tile_cogs_described_by_their_proj_fields(archive, items, asset, dtype, count, gsd, overviews):
    root, _ = archive
    meta = items[0]["assets"][asset]
    path = blob_path(root, meta["href"])
    with rasterio.open(path) as src:
        assert src.driver == "GTiff" and src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.profile["tiled"] and src.profile["compress"] == "deflate" and src.block_shapes == [(1024, 1024)] * count
        assert src.overviews(1) == overviews
        assert src.nodata == 0 and src.dtypes == (dtype,) * count
        assert src.crs.to_epsg() == 32610
        assert list(src.shape) == meta["proj:shape"]
        assert list(src.transform)[:6] == meta["proj:transform"]
        assert list(src.bounds) == meta["proj:bbox"]
        assert meta["gsd"] == gsd
        full_size = src.width * src.height * count * np.dtype(dtype).itemsize
    assert path.stat().st_size < full_size / 200  # sparse: the empty blocks take no bytes


# --- the processing baseline ---------------------------------------------------------------------
def test_baseline_04_writes_the_same_surface_1000_higher(archive, items, window):
    root, truth = archive
    assert truth["baseline"]["offset_from"] == "2022-01-25" and truth["baseline"]["boa_add_offset"] == -1000
    scenes = {sc.id: sc for sc in schedule.schedule(schedule.plan("test"))}
    model = render.Model.build(window)
    for item in items:
        baseline = item["properties"]["s2:processing_baseline"]
        after = item["properties"]["datetime"] >= "2022-01-25"
        assert (baseline >= "04.00") == after
        assert truth["items"][item["id"]]["boa_add_offset"] == schedule.boa_add_offset(baseline) == (-1000 if after else 0)
        if not after:
            continue
        pixels = render.render(scenes[item["id"]], model)
        valid = pixels.valid10
        dn = read(root, item, "B08", window, 10)[0].astype(int)
        old_model = render.encode_dn(pixels.r10[3], "03.01", valid).astype(int)
        assert (dn[valid] - 1000 == old_model[valid]).all()
        assert (dn[~valid] == 0).all()
        aot = read(root, item, "AOT", window, 10)[0]
        assert aot[valid].max() < 1000  # AOT, WVP and SCL carry no offset
    assert any(it["properties"]["s2:nodata_pixel_percentage"] > 0 and it["properties"]["datetime"] > "2022" for it in items)


def test_a_2021_and_a_2023_summer_agree_once_the_offset_is_removed(archive, items, window):
    root, _ = archive
    classes = pure_classes_20m(root)
    means = {}
    for year in ("2021", "2023"):
        item = min((it for it in items if it["properties"]["datetime"].startswith(year)),
                   key=lambda it: it["properties"]["eo:cloud_cover"])
        scl = read(root, item, "SCL", window, 20)[0]
        ok = np.isin(scl, CLEAR_CODES) & (classes == landscape.FOREST)
        raw = to_20m(read(root, item, "B08", window, 10)[0].astype(float))[ok] / 10000
        means[year] = (raw.mean(), to_20m(reflectance(root, item, "B08", window))[ok].mean())
    assert abs(means["2021"][1] - means["2023"][1]) < 0.02  # offset removed: the same surface
    assert abs(means["2021"][0] - means["2023"][0]) > 0.08  # naive DN/10000: a fake jump of 0.1


# --- SCL and cloud cover -------------------------------------------------------------------------------
def test_eo_cloud_cover_and_percentages_come_from_the_scl_written(archive, items, window):
    root, truth = archive
    for item in items:
        scl = read(root, item, "SCL", window, 20)[0]
        valid = scl != 0
        props = item["properties"]
        assert props["eo:cloud_cover"] == pytest.approx(100 * np.isin(scl, CLOUD_CODES).sum() / valid.sum(), abs=1e-5)
        assert props["s2:snow_ice_percentage"] == pytest.approx(100 * (scl == 11).sum() / valid.sum(), abs=1e-5)
        assert truth["items"][item["id"]]["eo:cloud_cover"] == props["eo:cloud_cover"]
    covers = [it["properties"]["eo:cloud_cover"] for it in items]
    assert min(covers) < 25 < max(covers) and 100.0 in covers


def test_scl_agrees_with_the_pixels(archive, items, window):
    root, _ = archive
    classes = pure_classes_20m(root)
    for item in items:
        scl = read(root, item, "SCL", window, 20)[0]
        valid = scl != 0
        green, swir = to_20m(reflectance(root, item, "B03", window))[valid], reflectance(root, item, "B11", window, 20)[valid]
        blue, scl = to_20m(reflectance(root, item, "B02", window))[valid], scl[valid]
        ndsi = (green - swir) / (green + swir)
        assert (ndsi[scl == SCL_SNOW] > 0.4).all()
        assert (blue[scl == SCL_CLOUD_MEDIUM] > 0.2).all()  # half transparent: may be snow below
        assert (blue[scl == SCL_CLOUD_HIGH] > 0.4).all() and (ndsi[scl == SCL_CLOUD_HIGH] < 0.4).all()
        if item in clear_items(items, 1):
            clear_fields = (classes[valid] == landscape.FIELDS) & ~np.isin(scl, CLOUD_CODES + (SCL_SHADOW,))
            assert (scl[clear_fields] == SCL_SNOW).mean() > 0.95
    assert [it for it in items if it["properties"]["s2:cloud_shadow_percentage"] > 1]


# --- the landscape ------------------------------------------------------------------------------------
def test_the_landscape_looks_like_a_place(window):
    """Fields of many shapes and sizes, a meandering river across the window, a town on a street
    grid, textured forest: not the flat rectangles of a block diagram."""
    land = landscape.landscape(*window.centers(10))
    c = land.classes
    fields = c == landscape.FIELDS
    parcels = np.unique(land.vigor[fields])
    assert len(parcels) > 25  # parcels (and strips) each with their own vigour
    river_rows = [np.flatnonzero(c[:, col] == landscape.RIVER) for col in range(c.shape[1])]
    assert all(len(r) for r in river_rows)  # the river crosses the whole window
    centre = np.array([r.mean() for r in river_rows])
    assert centre.max() - centre.min() > 10  # ... and meanders (> 100 m north-south)
    assert np.abs(np.diff(centre)).max() < 3  # ... continuously
    town = c == landscape.TOWN
    assert (land.urban[town] == 1).mean() > 0.1 and len(np.unique(land.roof[town])) > 20  # streets and blocks
    forest = c == landscape.FOREST
    assert len(np.unique(land.canopy[forest])) > 100 and land.canopy[forest].std() > 0.2  # stands
    refl = spectra.Surface(land, ("B04", "B08")).reflectance(date(2021, 7, 15))
    nir = refl[1][forest]
    assert nir.std() / nir.mean() > 0.03  # per-pixel spectral variation within a class
    assert {landscape.CLASS_NAMES[k] for k in np.unique(c)} == set(landscape.CLASS_NAMES.values())


def test_the_preview_covers_the_whole_tile_with_the_same_place(window):
    model = render.Model.build(window)
    tile = model.tile_surface.land.classes
    assert tile.shape == (343, 343)
    assert set(np.unique(tile)) >= {landscape.FOREST, landscape.FIELDS, landscape.TOWN}


# --- truth ----------------------------------------------------------------------------------------------
def test_truth_fractions_are_exact_over_the_aoi_bbox(archive, window):
    root, truth = archive
    with rasterio.open(root / "truth/s2_landcover.tif") as src:
        lc = src.read(1)
        assert src.transform == window.transform(10)
    rows, cols = truthmod.aoi_bbox_mask(window)
    box = lc[rows, cols]
    for code, name in landscape.CLASS_NAMES.items():
        assert truth["landcover"]["pixel_fraction"][name] == round(float((box == code).mean()), 4)
        assert truth["landcover"]["window_pixel_fraction"][name] == round(float((lc == code).mean()), 4)
    assert truth["landcover"]["region"] == "aoi_bbox"
    assert truth["tile"]["stack_100m_shape"] == [1098, 1098]
    assert truth["tile"]["proj:shape"]["10"] == [10980, 10980] and len(truth["tile"]["overviews"]["10"]) == 4


def test_truth_matches_the_written_pixels_of_clear_scenes(archive, items, window):
    root, truth = archive
    classes = pure_classes_20m(root)
    means = truth["class_monthly_means"]
    january, july = clear_items(items, 1), clear_items(items, 7)
    assert len(january) >= 2 and len(july) >= 2
    for item in january:
        scl = read(root, item, "SCL", window, 20)[0]
        ok = (classes == landscape.FIELDS) & np.isin(scl, CLEAR_CODES)
        green, swir = to_20m(reflectance(root, item, "B03", window))[ok], reflectance(root, item, "B11", window, 20)[ok]
        ndsi = ((green - swir) / (green + swir)).mean()
        assert ndsi > 0.4
        assert ndsi == pytest.approx(means["agricultural fields"]["ndsi"]["1"], abs=0.05)
    for item in july:
        scl = read(root, item, "SCL", window, 20)[0]
        ok = (classes == landscape.FOREST) & np.isin(scl, CLEAR_CODES)
        red, nir = to_20m(reflectance(root, item, "B04", window))[ok], to_20m(reflectance(root, item, "B08", window))[ok]
        ndvi = ((nir - red) / (nir + red)).mean()
        assert ndvi > 0.6
        assert ndvi == pytest.approx(means["conifer forest"]["ndvi"]["7"], abs=0.05)


def test_truth_counts_agree_with_the_items(archive, items):
    _, truth = archive
    aoi = Polygon(s2.AOI)
    lab = [it["id"] for it in items
           if "2016-01-01" <= it["properties"]["datetime"][:10] <= "2021-12-31"
           and it["properties"]["eo:cloud_cover"] < 25 and Polygon(it["geometry"]["coordinates"][0]).intersects(aoi)]
    assert truth["counts"]["lab_query"] == len(lab) == len(truth["lab_query"]["ids"]) > 0
    assert truth["counts"]["archive"] == len(items) == len(truth["items"])
    assert truth["snow_months"] == [12, 1, 2, 3]
    assert truth["aoi"] == HANDOUT_AOI and truth["size"] == "test"
    assert set(truth["landcover"]["classes"].values()) == set(landscape.CLASS_NAMES.values())
    assert set(truth["landcover"]["pixel_fraction"]) == set(landscape.CLASS_NAMES.values())
    json.dumps(truth)


def test_calendar_months_have_clear_scenes_but_cloudy_year_months_have_none():
    """groupby-month composites always have data; resample-month ones have empty winter months."""
    scenes = [sc for sc in schedule.schedule(schedule.plan("ci")) if 2016 <= sc.sensing.year <= 2021]
    clear = [sc for sc in scenes if sc.cloud_target < 20.5]
    per_calendar_month = {m: sum(sc.sensing.month == m for sc in clear) for m in range(1, 13)}
    assert min(per_calendar_month.values()) >= 2, per_calendar_month
    year_months = {(y, m) for y in range(2016, 2022) for m in range(1, 13)}
    empty = year_months - {(sc.sensing.year, sc.sensing.month) for sc in clear}
    assert len(empty) >= 6, "a realistic archive has year-months without any clear scene"
    assert sum(m in (11, 12, 1, 2, 3) for _, m in empty) > len(empty) / 2  # mostly in winter
    assert sum(sc.cloud_target >= 25 for sc in scenes) > len(scenes) / 4  # clouds stay common
    assert sum(sc.cloud_target == 100 for sc in scenes) > 10


def test_the_model_has_the_seasons_the_lab_teaches(window):
    land = landscape.landscape(*window.centers(10))
    rows, cols = truthmod.aoi_bbox_mask(window)
    means = truthmod.monthly_class_means(land.subset(rows, cols))
    fields, forest = means["agricultural fields"], means["conifer forest"]
    assert fields["ndsi"]["1"] > 0.4 and forest["ndvi"]["7"] > 0.6
    assert fields["ndvi"]["7"] > 0.6 > fields["ndvi"]["5"] and fields["ndvi"]["10"] < 0.35
    assert means["river"]["ndvi"]["7"] < 0 and 0.1 < means["town"]["ndvi"]["7"] < 0.45
    assert all(forest["ndvi"][str(m)] > 0.75 for m in range(4, 12))  # evergreen
    # the lab's AOI as a whole: snow months look like snow, summer does not (exercise 1's check)
    fractions = {landscape.CLASS_NAMES[c]: float((land.subset(rows, cols).classes == c).mean()) for c in landscape.CLASS_NAMES}
    mix = {m: sum(f * means[c]["ndsi"][str(m)] for c, f in fractions.items()) for m in range(1, 13)}
    assert all(mix[m] > 0.45 for m in spectra.SNOW_MONTHS) and all(mix[m] < 0 for m in (6, 7, 8))
