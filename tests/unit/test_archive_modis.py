"""The stand-in's MODIS archive builder (``test`` size): deterministic, MPC-shaped, readable by both
HDF4 readers (pyhdf and Debian's GDAL, an independent implementation), and true to its truth."""

from __future__ import annotations

import json
import shutil
import subprocess
from importlib import resources
from pathlib import Path

import numpy as np
import pyproj
import pytest

from labhelpers import modis
from labhelpers_standin.archive import modis as modisarchive

DATA = Path(__file__).parents[1] / "data"

@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("modis-test")
    truth = modisarchive.build(root, "test", workers=1)
    return root, truth


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_build_is_deterministic_wherever_it_is_built(tiny, tmp_path):
    """Another folder, another worker count, the same bytes: the HDF4 files store their path
    relative to the archive root, not where it was built."""
    root, truth = tiny
    again = modisarchive.build(tmp_path, "test", workers=2)
    assert {k: v for k, v in again.items() if k != "blob_bytes"} == {k: v for k, v in truth.items() if k != "blob_bytes"}
    a, b = _files(root), _files(tmp_path)
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a), [k for k in a if a[k] != b.get(k)]
    hdf = next(k for k in a if k.endswith(".hdf"))
    assert str(root).encode() not in a[hdf] and str(tmp_path).encode() not in b[hdf]  # never absolute ...
    assert b"blobs/modiseuwest/modis-061/MCD43A4/10/03/2021120/" in a[hdf]  # ... but relative to the root


def test_the_build_does_not_change_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import os

    before = os.getcwd()
    modisarchive.build(tmp_path / "archive", "test", workers=1)
    assert os.getcwd() == before


def test_write_hdf_refuses_an_absolute_path(tmp_path):
    from labhelpers_standin.archive.modis import hdf

    with pytest.raises(ValueError, match="relative to the archive root"):
        hdf.write_hdf(str(tmp_path / "x.hdf"), None, "2021120", "2021129000000", [], None)


def test_chicago_is_the_handouts_point_in_h11v04():
    from labhelpers_standin.archive.modis import tiles

    lat, lon = tiles.CHICAGO_POINT
    assert (lat, lon) == (41.881832, -87.623177)
    west, south, east, north = tiles.CHICAGO[1]
    assert west < lon < east and south < lat < north  # the box of the city contains the city
    assert modis.tile_of(lat, lon) == (11, 4)
    ci = {s.name: s for s in tiles.plan("ci")}
    assert (ci["h11v04"].first, ci["h11v04"].last) == ("2019135", "2019160")
    assert (ci["h10v03"].first, ci["h10v03"].last) == ("2021091", "2021151")  # exercise 2: April and May 2021
    with pytest.raises(ValueError, match="choose one of ci, full, test"):
        tiles.plan("tiny")


def test_build_layout_and_truth(tiny):
    root, truth = tiny
    t = truth["tiles"]["h10v03"]
    assert t["present"] == ["2021120", "2021122"] and t["missing"] == ["2021121"]
    container = root / "blobs" / "modiseuwest" / "modis-061"
    assert (container / "sn_bound_10deg.txt").read_bytes() == (Path(str(resources.files("labhelpers") / "data")) / "sn_bound_10deg.txt").read_bytes()
    assert not (container / "MCD43A4" / "10" / "03" / "2021121").exists()
    for name in t["hdf_blobs"]:
        assert (container / name).stat().st_size < 3_000_000
        stem = Path(name).name[: -len(".hdf")]
        cogs = sorted((root / "blobs" / "modiseuwest" / "modis-061-cogs" / Path(name).parent).glob(f"{stem}_*.tif"))
        assert len(cogs) == 14
    assert 0 < t["aoi"]["mean_ndvi"]["2021120"] < 1 and t["aoi"]["trend"]["slope_per_day"] > 0


def test_items_are_shaped_like_mpc(tiny):
    root, _ = tiny
    ref = json.loads((DATA / "modis_stactools_item_MCD43A4.A2022032.h14v10.061.json").read_text())
    items = [json.loads(line) for line in (root / "stac" / "items" / "modis-43A4-061.ndjson").read_text().splitlines()]
    assert [it["id"] for it in items] == ["MCD43A4.A2021120.h10v03.061", "MCD43A4.A2021122.h10v03.061"]
    it = items[0]
    assert set(it["properties"]) == set(ref["properties"])
    assert set(it["assets"]) == set(ref["assets"]) and set(it["stac_extensions"]) == set(ref["stac_extensions"])
    for key, asset in ref["assets"].items():
        assert {k: v for k, v in it["assets"][key].items() if k != "href"} == {k: v for k, v in asset.items() if k != "href"}
    p = it["properties"]
    assert p["proj:epsg"] is None and p["proj:wkt2"] == ref["properties"]["proj:wkt2"]
    assert (p["modis:horizontal-tile"], p["modis:vertical-tile"], p["modis:tile-id"]) == (10, 3, "51010003")
    assert (p["datetime"], p["start_datetime"][:10], p["end_datetime"][:10]) == ("2021-04-30T00:00:00Z", "2021-04-22", "2021-05-07")
    assert p["proj:transform"][:3] == pytest.approx([463.3127165279167, 0.0, -8895604.157333])
    assert it["assets"]["hdf"]["href"].startswith("https://modiseuwest.blob.core.windows.net/modis-061/MCD43A4/10/03/2021120/")
    coll = json.loads((root / "stac" / "collections" / "modis-43A4-061.json").read_text())
    assert set(coll["item_assets"]) == set(ref["assets"]) and coll["msft:storage_account"] == "modiseuwest"


def test_written_hdf_pyhdf_and_gdal_agree(tiny, tmp_path):
    """Debian's gdal_translate (GDAL with HDF4/HDF-EOS) is the independent reader of our files."""
    if not shutil.which("gdal_translate"):
        pytest.fail("Debian gdal-bin is missing: `apt-get install gdal-bin` (scripts/setup.sh installs it)")
    root, truth = tiny
    path = root / "blobs" / "modiseuwest" / "modis-061" / truth["tiles"]["h10v03"]["hdf_blobs"][0]
    ours = modis.open_hdf(path, engine="pyhdf")
    raw = modis.open_hdf(path, engine="pyhdf", mask_and_scale=False)
    info = json.loads(subprocess.run(["gdalinfo", "-json", str(path)], check=True, capture_output=True, text=True).stdout)
    subs = [v for k, v in info["metadata"]["SUBDATASETS"].items() if k.endswith("_NAME")]
    assert len(subs) == 14 and all(s.startswith("HDF4_EOS:EOS_GRID:") for s in subs)
    xmin, ymin, xmax, ymax = modis.tile_bounds(10, 3)
    for band in ("Nadir_Reflectance_Band1", "Nadir_Reflectance_Band2", "BRDF_Albedo_Band_Mandatory_Quality_Band1"):
        tif = tmp_path / f"{band}.tif"
        subprocess.run(["gdal_translate", "-q", f'HDF4_EOS:EOS_GRID:"{path}":MOD_Grid_BRDF:{band}', str(tif)], check=True)
        import rasterio

        with rasterio.open(tif) as src:
            gdal_raw, t = src.read(1), src.transform
            assert (t.c, t.f) == pytest.approx((xmin, ymax), abs=1e-3)
            assert (t.c + t.a * src.width, t.f + t.e * src.height) == pytest.approx((xmax, ymin), abs=1e-3)
            assert pyproj.CRS(src.crs.to_wkt()).equals(pyproj.CRS.from_wkt(modis.SINUSOIDAL_WKT2), ignore_axis_order=True)
            if band.startswith("Nadir"):
                assert src.scales[0] == pytest.approx(0.0001) and src.nodata == 32767
        np.testing.assert_array_equal(gdal_raw, raw[band].values)
        assert ours.x.values[0] == pytest.approx(t.c + t.a / 2) and ours.y.values[0] == pytest.approx(t.f + t.e / 2)
        if band.startswith("Nadir"):
            expect = np.where(gdal_raw == 32767, np.nan, gdal_raw.astype("float32") * np.float32(0.0001))
            np.testing.assert_array_equal(ours[band].values, expect)


def test_whole_tile_means_read_back_exactly(tiny):
    """The handout averages band 1 over the whole tile per day; the truth has those numbers exactly."""
    root, truth = tiny
    t = truth["tiles"]["h10v03"]
    for day, name in zip(t["present"], t["hdf_blobs"]):
        path = root / "blobs" / "modiseuwest" / "modis-061" / name
        ds = modis.open_hdf(path, variables=[modis.RED, modis.NIR])
        raw = modis.open_hdf(path, variables=[modis.RED], mask_and_scale=False)
        assert float(ds[modis.RED].astype("float64").mean()) == pytest.approx(t["tile_mean_band1"][day], abs=1e-6)
        assert float(np.nanmean(raw[modis.RED].values.astype("float64"))) == pytest.approx(t["tile_mean_band1_raw"][day], abs=1e-6)
        assert float(modis.ndvi(ds).mean()) == pytest.approx(t["tile_mean_ndvi"][day], abs=1e-5)
        got = float(modis.ndvi(modis.clip_lonlat(ds, t["aoi"]["bbox"])).mean())
        assert got == pytest.approx(t["aoi"]["mean_ndvi"][day], abs=0.01)
    # h10v03 holds ocean: the unmasked mean (the handout's np.nanmean of raw integers) is not a reflectance
    assert min(t["tile_mean_band1_raw"].values()) > 10000 * max(t["tile_mean_band1"].values())


