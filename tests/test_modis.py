"""MODIS helpers and the offline MODIS archive.

Unit tests need no services: the tile maths is checked against pyproj's sinusoidal projection,
the reader against real MODIS files (tests/data/modis_*, see modis_SOURCES.txt) and against
Debian's GDAL (an independent HDF4 reader), downloads against a local HTTP server. Tests
marked ``services`` read the running offline stand-in (Azurite blobs, the STAC API).
"""

from __future__ import annotations

import http.server
import json
import math
import shutil
import subprocess
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest

from labhelpers import modis
from labhelpers.offline import modisarchive

DATA = Path(__file__).parent / "data"
MOD10A2 = DATA / "modis_MOD10A2.A2022033.h09v05.061.2022042050729.hdf"
MOD09GA = DATA / "modis_MOD09GA.A2008296.h14v17.006.2015181011753.hdf"
SINU = pyproj.Transformer.from_crs("EPSG:4326", "+proj=sinu +R=6371007.181 +units=m +no_defs", always_xy=True)


def pyproj_tile(lat, lon):
    """The tile by the definition of the grid, with pyproj doing the projection."""
    x, y = SINU.transform(lon, lat)
    h = min(max(math.floor((x + 20015109.354) / 1111950.5196666666), 0), 35)
    v = min(max(math.floor((10007554.677 - y) / 1111950.5196666666), 0), 17)
    return h, v


# ---------------------------------------------------------------------------------------------
# tile_extents / tile_of
# ---------------------------------------------------------------------------------------------
def test_tile_extents_keeps_all_648_rows_and_flags_fill():
    df = modis.tile_extents()
    assert len(df) == 648
    assert (df["iv"].min(), df["iv"].max(), df["ih"].min(), df["ih"].max()) == (0, 17, 0, 35)
    # the last rows are fill rows: a skip_footer=3 reader would have lost them
    assert df.iloc[-1][["iv", "ih"]].tolist() == [17, 35] and bool(df.iloc[-1]["fill"])
    assert df["fill"].sum() == 188 and not df.loc[~df["fill"], "lon_min"].le(-999).any()
    row = df[(df.iv == 5) & (df.ih == 9)].iloc[0]  # MANIFEST: lon -117.4867..-92.3664, lat 30..40
    assert (row.lon_min, row.lon_max, row.lat_min, row.lat_max) == (-117.4867, -92.3664, 30.0, 40.0)


def test_tile_extents_rejects_a_truncated_file(tmp_path):
    text = (Path(modis.__file__).parent / "data" / modis.SN_BOUND_FILE).read_text()
    short = tmp_path / "sn_bound_10deg.txt"
    short.write_text("\n".join(text.splitlines()[:-3]) + "\n")
    with pytest.raises(ValueError, match="645 tile rows"):
        modis.tile_extents(short)


@pytest.mark.parametrize("lat, lon, tile", [(41.88, -87.63, (11, 4)), (53.9, -122.8, (10, 3)), (0.0, 0.0, (18, 9))])
def test_tile_of_known_places(lat, lon, tile):
    assert modis.tile_of(lat, lon) == tile


def test_tile_of_agrees_with_pyproj_on_a_global_grid():
    """Away from edges the tile is pyproj's; on an edge (within 1 mm) it is the east/south one unless fill."""
    fill = modis.tile_extents().set_index(["ih", "iv"])["fill"]
    lats = np.arange(-90, 90.01, 2.5)  # includes every 10-degree tile edge and both poles
    lons = np.arange(-180, 180.01, 3.0)
    on_edges = 0
    for lat in lats:
        for lon in lons:
            x, y = SINU.transform(lon, lat)
            fh, fv = (x + 20015109.354) / 1111950.5196666666, (10007554.677 - y) / 1111950.5196666666
            # within 1 cm of an edge (pyproj's pi*R and the grid's rounded X0 differ by 2 mm)
            hs = [round(fh), round(fh) - 1] if abs(fh - round(fh)) < 1e-8 else [math.floor(fh)]
            vs = [round(fv), round(fv) - 1] if abs(fv - round(fv)) < 1e-8 else [math.floor(fv)]
            hs, vs = [min(max(h, 0), 35) for h in hs], [min(max(v, 0), 17) for v in vs]
            options = [(h, v) for h in hs for v in vs if not fill[(h, v)]]
            assert modis.tile_of(lat, lon) == options[0], (lat, lon, options)
            on_edges += len(hs) * len(vs) > 1
    assert on_edges > 100


def test_tile_of_at_tile_edges_and_in_overlapping_boxes():
    """Points 1 m inside each corner of every land tile; many fall in two boxes of the NASA table."""
    df = modis.tile_extents()
    boxes = df[~df["fill"]]
    ambiguous = 0
    for row in boxes.itertuples():
        xmin, ymin, xmax, ymax = modis.tile_bounds(row.ih, row.iv)
        for x, y in [(xmin + 1, ymax - 1), (xmax - 1, ymax - 1), (xmin + 1, ymin + 1), (xmax - 1, ymin + 1)]:
            lon, lat = modis.sinusoidal_to_lonlat(x, y)
            if abs(lon) > 180:  # this corner of the tile is off the globe
                continue
            assert modis.tile_of(lat, lon) == (row.ih, row.iv) == pyproj_tile(lat, lon)
            # the true tile's box contains the point (NASA rounds to 4 decimals)
            assert row.lon_min - 1e-4 <= lon <= row.lon_max + 1e-4 and row.lat_min - 1e-4 <= lat <= row.lat_max + 1e-4
            inside = ((boxes.lon_min <= lon) & (lon <= boxes.lon_max) & (boxes.lat_min <= lat) & (lat <= boxes.lat_max))
            ambiguous += int(inside.sum() > 1)
    assert ambiguous > 500  # why a box search (the original lab's loop) is not enough


def test_tile_of_poles_never_land_in_fill_rows():
    df = modis.tile_extents().set_index(["ih", "iv"])
    for lon in np.linspace(-180, 180, 73):
        for lat in (90.0, -90.0, 89.999, -89.999):
            h, v = modis.tile_of(lat, lon)
            assert not df.loc[(h, v), "fill"], (lat, lon, h, v)


def test_tile_of_refuses_a_tile_the_table_marks_as_fill():
    df = modis.tile_extents()
    df.loc[(df.ih == 11) & (df.iv == 4), "fill"] = True
    with pytest.raises(ValueError, match="h11v04.*fill tile"):
        modis.tile_of(41.88, -87.63, extents=df)


@pytest.mark.parametrize("lat, lon, message", [
    (91, 0, "not on Earth"), (0, 181, "not on Earth"), (144.96, -37.81, "swap"), (float("nan"), 0, "not on Earth"),
])
def test_tile_of_rejects_points_off_the_earth(lat, lon, message):
    with pytest.raises(ValueError, match=message):
        modis.tile_of(lat, lon)


def test_day_string():
    assert modis.day_string("2019-05-15") == "2019135" == modis.day_string(pd.Timestamp("2019-05-15"))
    assert modis.day_string("2020366") == "2020366" and str(modis.day_to_date("2021091")) == "2021-04-01"
    with pytest.raises(ValueError, match="001-365"):
        modis.day_string("2021366")


# ---------------------------------------------------------------------------------------------
# open_hdf on real files
# ---------------------------------------------------------------------------------------------
def test_open_real_mod10a2_snow_codes_on_the_right_corners():
    ds = modis.open_hdf(MOD10A2, engine="pyhdf")
    px = modis.PIXEL_SIZE_500M
    assert ds.attrs["grid"] == "MOD_Grid_Snow_500m" and ds.sizes == {"y": 2400, "x": 2400}
    assert ds.x.values[0] - px / 2 == pytest.approx(-10007554.677, abs=1e-3)
    assert ds.y.values[0] + px / 2 == pytest.approx(4447802.078667, abs=1e-3)
    assert ds.x.values[-1] + px / 2 == pytest.approx(-8895604.157333, abs=1e-3)
    assert ds.rio.crs == pyproj.CRS.from_wkt(modis.SINUSOIDAL_WKT2)
    snow = ds["Maximum_Snow_Extent"]  # class codes: no scale_factor, so they stay integers
    assert snow.dtype == np.uint8 and snow.attrs["_FillValue"] == 255 and 25 in np.unique(snow.values)
    assert modis.tile_of(*reversed(modis.sinusoidal_to_lonlat(ds.x.values[1200], ds.y.values[1200]))) == (9, 5)


def test_open_real_mod09ga_two_grids_scaled_reflectance():
    with pytest.raises(ValueError, match="2 grids"):
        modis.open_hdf(MOD09GA, engine="pyhdf")
    ds = modis.open_hdf(MOD09GA, engine="pyhdf", grid="MODIS_Grid_500m_2D", variables="sur_refl_b0[12]_1")
    assert list(ds.data_vars) == ["sur_refl_b01_1", "sur_refl_b02_1"]
    assert ds.rio.bounds() == pytest.approx((-4447802.078667, -10007554.677, -3335851.559, -8895604.157333))
    red = ds["sur_refl_b01_1"]
    assert red.dtype == np.float32 and int(red.count()) == 14643  # the rest is fill -28672 -> NaN
    assert 0 < float(red.min()) and float(red.max()) < 1.6  # scale_factor 10000 is a divisor
    km = modis.open_hdf(MOD09GA, engine="pyhdf", grid="MODIS_Grid_1km_2D", variables="SensorZenith_1")
    assert km.sizes == {"y": 1200, "x": 1200} and float(km["SensorZenith_1"].max()) <= 180


def test_open_hdf_explains_missing_gdal_hdf4():
    if modis.gdal_has_hdf4():
        pytest.skip("this rasterio has HDF4; the error path cannot happen")
    with pytest.raises(ValueError, match="engine='pyhdf'"):
        modis.open_hdf(MOD10A2, engine="gdal")


# ---------------------------------------------------------------------------------------------
# The archive builder (tiny variant)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("modis-tiny")
    truth = modisarchive.build(root, "tiny", workers=1)
    return root, truth


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_build_is_deterministic(tiny, tmp_path):
    root, truth = tiny
    again = modisarchive.build(tmp_path, "tiny", workers=2)
    assert again == truth
    a, b = _files(root), _files(tmp_path)
    assert a.keys() == b.keys() and all(a[k] == b[k] for k in a), [k for k in a if a[k] != b.get(k)]


def test_build_layout_and_truth(tiny):
    root, truth = tiny
    t = truth["tiles"]["h10v03"]
    assert t["present"] == ["2021120", "2021122"] and t["missing"] == ["2021121"]
    container = root / "blobs" / "modiseuwest" / "modis-061"
    assert (container / "sn_bound_10deg.txt").read_bytes() == (Path(modis.__file__).parent / "data" / "sn_bound_10deg.txt").read_bytes()
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


def test_aoi_ndvi_read_back_matches_the_truth(tiny):
    root, truth = tiny
    t = truth["tiles"]["h10v03"]
    for day, name in zip(t["present"], t["hdf_blobs"]):
        ds = modis.open_hdf(root / "blobs" / "modiseuwest" / "modis-061" / name, variables=[modis.RED, modis.NIR])
        got = float(modis.ndvi(modis.clip_lonlat(ds, t["aoi"]["bbox"])).mean())
        assert got == pytest.approx(t["aoi"]["mean_ndvi"][day], abs=0.01)
        assert float(modis.ndvi(ds).mean()) == pytest.approx(t["tile_mean_ndvi"][day], abs=0.01)


# ---------------------------------------------------------------------------------------------
# download: cached, atomic, no secrets in messages
# ---------------------------------------------------------------------------------------------
class _Server:
    """A local HTTP server; ``cut`` makes it send the headers and only half of the body."""

    def __init__(self, folder: Path):
        self.requests, self.cut = 0, False
        outer = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=str(folder), **kw)

            def log_message(self, *a):
                pass

            def do_GET(self):
                outer.requests += 1
                if not outer.cut:
                    return super().do_GET()
                body = (folder / self.path.split("?")[0].lstrip("/")).read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "granule.hdf").write_bytes(MOD10A2.read_bytes())
    srv = _Server(served)
    yield srv
    srv.close()


def test_download_is_cached(server, tmp_path):
    dest = tmp_path / "cache"
    dest.mkdir()
    path = modis.download(f"{server.url}/granule.hdf?sig=SECRET", dest, progress=False)
    assert path == dest / "granule.hdf" and path.read_bytes() == MOD10A2.read_bytes()
    assert modis.download(f"{server.url}/granule.hdf?sig=SECRET", dest, progress=False) == path
    assert server.requests == 1 and [p.name for p in dest.iterdir()] == ["granule.hdf"]


def test_interrupted_download_leaves_nothing_the_cache_trusts(server, tmp_path):
    dest = tmp_path / "cache" / "granule.hdf"
    server.cut = True
    with pytest.raises(ConnectionError) as err:
        modis.download(f"{server.url}/granule.hdf?sv=2021&sig=SECRET", dest, progress=False)
    assert "SECRET" not in str(err.value) and "retrieval incomplete" in str(err.value)
    assert list(dest.parent.iterdir()) == []  # neither the file nor a temporary part
    server.cut = False
    assert modis.download(f"{server.url}/granule.hdf", dest, progress=False).read_bytes() == MOD10A2.read_bytes()


def test_download_from_a_server_that_is_down(tmp_path):
    srv = _Server(tmp_path)
    url = f"{srv.url}/granule.hdf?se=2030&sig=SECRET"
    srv.close()
    with pytest.raises(ConnectionError, match="offline up") as err:
        modis.download(url, tmp_path / "x.hdf", progress=False)
    assert "SECRET" not in str(err.value) and "<redacted>" in str(err.value)
    assert not (tmp_path / "x.hdf").exists()


def test_tile_extents_from_a_url(server, tmp_path):
    shutil.copy(Path(modis.__file__).parent / "data" / "sn_bound_10deg.txt", tmp_path / "served")
    assert len(modis.tile_extents(f"{server.url}/sn_bound_10deg.txt")) == 648


# ---------------------------------------------------------------------------------------------
# daily_means over a fake container (the archive's folder, served as file:// URLs)
# ---------------------------------------------------------------------------------------------
class _FolderContainer:
    """Just enough of ``ContainerClient`` for list_hdf/blob_url, over a local folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    def list_blobs(self, name_starts_with: str):
        from types import SimpleNamespace

        base = self.folder / name_starts_with
        files = sorted(base.glob("*")) if base.is_dir() else []
        return [SimpleNamespace(name=str(p.relative_to(self.folder))) for p in files]

    def get_blob_client(self, name: str):
        from types import SimpleNamespace

        return SimpleNamespace(url=(self.folder / name).as_uri())


def test_daily_means_reports_and_skips_a_missing_day(tiny, tmp_path):
    root, truth = tiny
    t = truth["tiles"]["h10v03"]
    client = _FolderContainer(root / "blobs" / "modiseuwest" / "modis-061")
    with pytest.warns(UserWarning, match="No MCD43A4 file for h10v03 on 2021121"):
        series = modis.daily_means(["2021120", "2021121", "2021122"], 10, 3, bbox=t["aoi"]["bbox"], client=client,
                                   cache_dir=tmp_path)
    assert series.attrs["missing_days"] == ["2021121"] and series.attrs["failed_days"] == {}
    assert list(series.index) == [pd.Timestamp("2021-04-30"), pd.Timestamp("2021-05-02")]
    for day, value in zip(t["present"], series.values):
        assert value == pytest.approx(t["aoi"]["mean_ndvi"][day], abs=0.01)


def test_daily_means_skips_a_day_that_cannot_be_read(tiny, tmp_path):
    root, truth = tiny
    copy = tmp_path / "container"
    shutil.copytree(root / "blobs" / "modiseuwest" / "modis-061", copy)
    broken = copy / truth["tiles"]["h10v03"]["hdf_blobs"][0]
    broken.write_bytes(b"not an HDF file")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        series = modis.daily_means(["2021120", "2021122"], 10, 3, variable=modis.RED, client=_FolderContainer(copy),
                                   cache_dir=tmp_path / "cache")
    assert list(series.attrs["failed_days"]) == ["2021120"] and len(series) == 1 and caught


# ---------------------------------------------------------------------------------------------
# Against the running stand-in (Azurite + STAC API)
# ---------------------------------------------------------------------------------------------
@pytest.mark.services
def test_list_hdf_in_azurite(offline_pc, archive_manifest):
    t = archive_manifest["modis"]["tiles"]["h11v04"]
    client = modis.container_client("offline")
    day = t["present"][0]
    assert modis.list_hdf(client, "MCD43A4", 11, 4, day) == [t["hdf_blobs"][0]]
    assert modis.list_hdf(client, "MCD43A4", 11, 4, t["missing"][0]) == []
    assert len(modis.tile_extents(modis.blob_url(client, modis.SN_BOUND_FILE))) == 648


@pytest.mark.services
def test_blob_route_download_and_open(offline_pc, archive_manifest, tmp_path):
    t = archive_manifest["modis"]["tiles"]["h11v04"]
    client = modis.container_client("offline")
    names = modis.list_hdf(client, "MCD43A4", 11, 4, "2019135")
    path = modis.download(modis.blob_url(client, names[-1]), tmp_path, progress=False)
    ds = modis.open_hdf(path, variables=[modis.RED, modis.NIR])
    assert float(modis.ndvi(modis.clip_lonlat(ds, t["aoi"]["bbox"])).mean()) == pytest.approx(
        t["aoi"]["mean_ndvi"]["2019135"], abs=0.01)


@pytest.mark.services
def test_stac_route_matches_the_truth(offline_pc, archive_manifest):
    from labhelpers.stac import open_catalog

    t = archive_manifest["modis"]["tiles"]["h10v03"]
    items = modis.search_stac(open_catalog("offline"), 10, 3, "2021-05-01", "2021-05-10")
    expect = [d for d in t["present"] if "2021121" <= d <= "2021130"]
    assert [it.id for it in items] == [f"MCD43A4.A{d}.h10v03.061" for d in expect]
    ds = modis.load_stac(items[:2], bbox=t["aoi"]["bbox"])
    assert ds[modis.RED].dtype == np.float32 and ds.sizes["time"] == 2
    got = modis.ndvi(modis.clip_lonlat(ds, t["aoi"]["bbox"])).mean(["x", "y"]).values
    assert got == pytest.approx([t["aoi"]["mean_ndvi"][d] for d in expect[:2]], abs=0.01)
