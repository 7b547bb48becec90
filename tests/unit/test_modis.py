"""labhelpers.modis without services.

The tile maths is checked against pyproj's sinusoidal projection, the reader against real MODIS
files (tests/data/modis_*, see modis_SOURCES.txt), downloads against a local HTTP server. The
stand-in's MODIS archive is tested in test_archive_modis.py, the routes against running servers
in tests/services/test_modis_services.py.
"""

from __future__ import annotations

import http.server
import json
import math
import shutil
import subprocess
import threading
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import pytest

from labhelpers import modis

DATA = Path(__file__).parents[1] / "data"
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
    text = (Path(str(resources.files("labhelpers") / "data")) / modis.SN_BOUND_FILE).read_text()
    short = tmp_path / "sn_bound_10deg.txt"
    short.write_text("\n".join(text.splitlines()[:-3]) + "\n")
    with pytest.raises(ValueError, match="645 tile rows"):
        modis.tile_extents(short)


@pytest.mark.parametrize("lat, lon, tile", [(41.88, -87.63, (11, 4)), (53.9, -122.8, (10, 3)), (0.0, 0.0, (18, 9))])
def test_tile_of_known_places(lat, lon, tile):
    assert modis.tile_of(lat, lon) == tile


@pytest.mark.filterwarnings("ignore::labhelpers.errors.SuspiciousInputWarning")  # sweeps the poles too
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


@pytest.mark.filterwarnings("ignore::labhelpers.errors.SuspiciousInputWarning")  # sweeps the poles too
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


@pytest.mark.filterwarnings("ignore::labhelpers.errors.SuspiciousInputWarning")  # near the poles on purpose
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
    (91, 0, "not on Earth"), (0, 181, "not on Earth"), (144.96, -37.81, "swap"), (float("nan"), 0, "finite"),
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
    shutil.copy(Path(str(resources.files("labhelpers") / "data")) / "sn_bound_10deg.txt", tmp_path / "served")
    assert len(modis.tile_extents(f"{server.url}/sn_bound_10deg.txt")) == 648


