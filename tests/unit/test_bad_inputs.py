"""What a student can get wrong, tried on every public helper of the student library.

One table, one row per plausible mistake (and a few correct calls next to them). Each row must
end in one of three ways, never in a wrong answer, a hang or an obscure library error:

* ``error``: a labhelpers error (:class:`labhelpers.errors.LabError`) whose message matches the
  row's pattern, which names the argument or the fix;
* ``warn``: a labhelpers warning matching the pattern, and a result the row's check accepts;
* ``ok``: no labhelpers warning, and a result the row's check confirms is right.

``summary()`` counts the rows per outcome (reported in the issue note).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pandas as pd
import pystac
import pytest
import xarray as xr

from labhelpers import aoi, cluster, composites, indices, modis, sentinel2, settings, stac, tables
from labhelpers.errors import (
    ConfigError, EmptySearchError, InputError, LabError, LabWarning, MissingFileError, StackTooLargeError,
    UnknownCollectionError, UnknownProductError,
)
from s2fixtures import DATA, mpc_item

MOD10A2 = DATA / "modis_MOD10A2.A2022033.h09v05.061.2022042050729.hdf"
MOD09GA = DATA / "modis_MOD09GA.A2008296.h14v17.006.2015181011753.hdf"
LAB_AOI = [[-122.8226566, 53.9006842], [-122.826519, 53.8837441], [-122.8019714, 53.8829854],
           [-122.8004265, 53.9007348], [-122.8227425, 53.9006842]]
BBOX = (-122.83, 53.88, -122.80, 53.90)


@dataclass
class Case:
    name: str
    call: Callable  # (ctx) -> result
    expect: str  # "error" | "warn" | "ok"
    match: str = ""  # regex the error or warning message must match
    check: Callable | None = None  # (result) -> bool, for "warn" and "ok"
    error: type = LabError  # the labhelpers class expected


def E(name, call, match, error=LabError):
    return Case(name, call, "error", match, error=error)


def W(name, call, match, check):
    return Case(name, call, "warn", match, check)


def OK(name, call, check):
    return Case(name, call, "ok", check=check)


# --- fixtures the rows use ---------------------------------------------------------------------

def _s2_item() -> dict:
    """The real 29RKH tile as an MPC item, with its own footprint (bbox in degrees)."""
    import pyproj
    import rasterio

    item = mpc_item()
    with rasterio.open(item["assets"]["B04"]["href"]) as src:
        b = src.bounds
    to = pyproj.Transformer.from_crs(32629, 4326, always_xy=True)
    lon, lat = to.transform([b.left, b.right, b.left, b.right], [b.bottom, b.bottom, b.top, b.top])
    item["bbox"] = [min(lon), min(lat), max(lon), max(lat)]
    w, s, e, n = item["bbox"]
    item["geometry"] = {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}
    return item


ITEM = _s2_item()
ITEM_BBOX = tuple(ITEM["bbox"])
INSIDE = (ITEM_BBOX[0] + 0.1, ITEM_BBOX[1] + 0.1, ITEM_BBOX[0] + 0.3, ITEM_BBOX[1] + 0.3)


def _stack_ok(da, bands, max_pixels=10**7):
    return isinstance(da, xr.DataArray) and list(da.band.values) == bands and da.size < max_pixels


def _cube(time=True, bands=("red", "green", "blue", "nir"), dtype="float32"):
    t = pd.date_range("2020-01-01", periods=4, freq="15D")
    data = np.arange(4 * len(bands) * 3 * 3, dtype="float64").reshape(4, len(bands), 3, 3) / 100
    da = xr.DataArray(data.astype(dtype), dims=("time", "band", "y", "x"),
                      coords={"time": t, "band": list(bands), "y": [3, 2, 1], "x": [1, 2, 3]})
    return da if time else da.isel(time=0, drop=True)


class _Collection:
    def __init__(self, id_):
        self.id = id_


class _Catalog:
    """A pystac-client Client stand-in: records the search, returns ``items``."""

    self_href = "http://127.0.0.1:9/api/stac/v1"

    def __init__(self, items=(), collections=("sentinel-2-l2a", "modis-43A4-061")):
        self._items, self.collections, self.kwargs = list(items), collections, None

    def search(self, **kwargs):
        self.kwargs = kwargs
        return self

    def item_collection(self):
        return pystac.ItemCollection(self._items)

    def items(self):
        return iter(self._items)

    def get_collections(self):
        return [_Collection(c) for c in self.collections]


def _found(result) -> bool:
    return isinstance(result, pystac.ItemCollection) and len(result) == 1


S2_PYSTAC = pystac.Item.from_dict(ITEM)


class _Blob:
    def __init__(self, name):
        self.name = name


class _Container:
    """An azure ContainerClient stand-in holding MCD43A4 for h11v04 on two days."""

    credential, account_name, container_name, primary_hostname = None, "modiseuwest", "modis-061", "fake"
    names = ["MCD43A4/11/04/2019135/MCD43A4.A2019135.h11v04.061.2020001.hdf",
             "MCD43A4/11/04/2019136/MCD43A4.A2019136.h11v04.061.2020002.hdf", "MOD09GA/11/04/2019135/x.hdf"]

    def list_blobs(self, name_starts_with=""):
        return [_Blob(n) for n in self.names if n.startswith(name_starts_with)]

    def walk_blobs(self, delimiter="/"):
        return [_Blob(p + "/") for p in sorted({n.split("/")[0] for n in self.names})]

    def get_blob_client(self, name):
        return SimpleNamespace(url=f"http://127.0.0.1:9/modiseuwest/modis-061/{name}")


def _sinusoidal_ds():
    """A tiny MCD43A4-like dataset around Chicago on the sinusoidal grid (pixel centres)."""
    x0, y0 = modis.lonlat_to_sinusoidal(41.88, -87.62)
    xs = x0 + (np.arange(40) - 20) * modis.PIXEL_SIZE_500M
    ys = y0 - (np.arange(40) - 20) * modis.PIXEL_SIZE_500M
    red = xr.DataArray(np.full((40, 40), 0.05, "float32"), dims=("y", "x"), coords={"y": ys, "x": xs})
    return xr.Dataset({modis.RED: red, modis.NIR: red * 6})


MODIS_DS = _sinusoidal_ds()


def _fill_h11v04():
    df = modis.tile_extents()
    df.loc[(df.ih == 11) & (df.iv == 4), "fill"] = True
    return df
MODIS_ITEM = pystac.Item.from_dict(json.loads((DATA / "modis_stactools_item_MCD43A4.A2022032.h14v10.061.json").read_text()))
RAGGED = [(135, 0.06, 0.30), (136, 0.06)]


def _env(**env):
    """A call that sets environment variables (through the test's monkeypatch) before ``then``."""
    def wrap(then):
        def call(ctx):
            for k, v in env.items():
                ctx.mp.setenv(k, v)
            return then(ctx)
        return call
    return wrap


def _state_file(text):
    def call(ctx):
        (ctx.tmp / "state.json").write_text(text)
        ctx.mp.setenv("LABHELPERS_OFFLINE_DIR", str(ctx.tmp))
        return settings.get_settings("offline")
    return call


def _nan_equal(a, b):
    return np.allclose(np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64"), equal_nan=True)


# --- the table ---------------------------------------------------------------------------------

CASES = [
    # settings: which world, and the environment overrides
    E("profile unknown", lambda c: settings.get_settings("hub"), "Unknown profile 'hub'.*'offline'", ConfigError),
    E("profile capitalised", lambda c: settings.get_settings("Offline"), "Unknown profile", ConfigError),
    E("profile not text", lambda c: settings.get_settings(1), "Unknown profile 1", ConfigError),
    E("STAC URL without http://", _env(LABHELPERS_STAC_URL="planetarycomputer.microsoft.com/api/stac/v1")(
        lambda c: settings.get_settings("planetary-computer")), "LABHELPERS_STAC_URL must be an http", ConfigError),
    E("blob URL without {account}", _env(LABHELPERS_BLOB_URL="http://127.0.0.1:10000")(
        lambda c: settings.get_settings("planetary-computer")), r"\{account\}", ConfigError),
    E("gateway address without scheme", _env(LABHELPERS_GATEWAY_ADDRESS="127.0.0.1:8786")(
        lambda c: settings.get_settings("planetary-computer")), "LABHELPERS_GATEWAY_ADDRESS must be an http", ConfigError),
    E("timeout not a number", _env(LABHELPERS_TIMEOUT="soon")(lambda c: settings.timeouts()), "LABHELPERS_TIMEOUT",
      ConfigError),
    E("timeout zero", _env(LABHELPERS_TIMEOUT="0")(lambda c: settings.timeouts()), "between 0 and 3600", ConfigError),
    E("timeout negative", _env(LABHELPERS_TIMEOUT="-5")(lambda c: settings.timeouts()), "LABHELPERS_TIMEOUT", ConfigError),
    OK("timeout 5", _env(LABHELPERS_TIMEOUT="5")(lambda c: settings.timeouts()), lambda r: r == (5.0, 5.0)),
    OK("default profile", lambda c: settings.get_settings(), lambda s: s.profile == "planetary-computer"),
    E("offline without a stand-in", lambda c: settings.get_settings("offline"), "labhelpers offline up", ConfigError),
    E("offline with a corrupt state file", _state_file("{"), "unreadable or incomplete", ConfigError),
    E("offline with an empty state file", _state_file("{}"), "offline down && labhelpers offline up", ConfigError),
    E("offline with a list state file", _state_file("[1]"), "unreadable or incomplete", ConfigError),

    # aoi
    W("the lab's AOI (ring not closed? no outer list)", lambda c: aoi.bbox_of(LAB_AOI), "outer list",
      lambda b: b == (-122.826519, 53.8829854, -122.8004265, 53.9007348)),
    E("AOI in (lat, lon) order", lambda c: aoi.bbox_of([[53.89, -122.82], [53.88, -122.80], [53.90, -122.81]]),
      r"\[latitude, longitude\].*swap"),
    E("AOI as WKT text", lambda c: aoi.bbox_of("POLYGON((0 0, 1 1, 1 0, 0 0))"), "json.loads"),
    E("AOI as GeoJSON text", lambda c: aoi.as_polygon(json.dumps({"type": "Polygon", "coordinates": []})), "json.loads"),
    E("AOI a Point", lambda c: aoi.bbox_of({"type": "Point", "coordinates": [0, 0]}), "not a Polygon"),
    E("AOI a MultiPolygon", lambda c: aoi.as_polygon({"type": "MultiPolygon", "coordinates": []}), "not a Polygon"),
    E("AOI with two corners", lambda c: aoi.bbox_of([[0, 0], [1, 1], [0, 0]]), "2 distinct position"),
    E("AOI coordinate as text", lambda c: aoi.bbox_of([[0, 0], [1, "1"], [1, 0]]), "finite numbers"),
    E("AOI coordinate NaN", lambda c: aoi.bbox_of([[0, 0], [1, float("nan")], [1, 0]]), "finite numbers"),
    E("AOI longitude 200", lambda c: aoi.bbox_of([[0, 0], [1, 1], [200, 0]]), "longitude 200"),
    E("AOI empty", lambda c: aoi.bbox_of([]), "not a polygon"),
    E("AOI None", lambda c: aoi.bbox_of(None), "not a polygon"),
    E("AOI a bbox instead", lambda c: aoi.bbox_of(list(BBOX)), "Ring 0"),
    E("AOI Feature without geometry", lambda c: aoi.bbox_of({"type": "Feature", "geometry": None}), "not a Polygon"),
    OK("AOI valid Feature", lambda c: aoi.bbox_of({"type": "Feature", "geometry": {
        "type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 1], [0, 0]]]}}), lambda b: b == (0, 0, 2, 1)),
    OK("AOI with a hole", lambda c: aoi.bbox_of({"type": "Polygon", "coordinates": [
        [[0, 0], [4, 0], [4, 4], [0, 0]], [[1, 1], [2, 1], [2, 2], [1, 1]]]}), lambda b: b == (0, 0, 4, 4)),
    OK("AOI positions with height", lambda c: aoi.bbox_of([[[0, 0, 5], [1, 0, 5], [1, 1, 5], [0, 0, 5]]]),
       lambda b: b == (0, 0, 1, 1)),
    W("AOI closed but without outer list", lambda c: aoi.bbox_of([[0, 0], [1, 0], [1, 1], [0, 0]]), "outer list",
      lambda b: b == (0, 0, 1, 1)),

    # stac.cloud_query
    W("max_cloud as a fraction", lambda c: stac.cloud_query(0.25), "max_cloud=25", lambda q: q["eo:cloud_cover"]["lt"] == 0.25),
    E("max_cloud as text", lambda c: stac.cloud_query("25"), "without quotes"),
    E("max_cloud 250", lambda c: stac.cloud_query(250), "out of range.*0 to 100"),
    E("max_cloud negative", lambda c: stac.cloud_query(-1), "out of range"),
    E("max_cloud None", lambda c: stac.cloud_query(None), "must be a number"),
    E("max_cloud True", lambda c: stac.cloud_query(True), "must be a number"),
    E("max_cloud NaN", lambda c: stac.cloud_query(float("nan")), "finite"),
    OK("max_cloud 25", lambda c: stac.cloud_query(25), lambda q: q == {"eo:cloud_cover": {"lt": 25}}),
    OK("max_cloud 1 (percent)", lambda c: stac.cloud_query(1), lambda q: q == {"eo:cloud_cover": {"lt": 1}}),
    OK("max_cloud 0", lambda c: stac.cloud_query(0), lambda q: q == {"eo:cloud_cover": {"lt": 0}}),

    # stac.search / open_catalog
    E("search bbox (lat, lon)", lambda c: stac.search(_Catalog([S2_PYSTAC]), (53.88, -122.83, 53.90, -122.80), "2020"),
      "south, west, north, east"),
    E("search bbox in metres", lambda c: stac.search(_Catalog(), (500000, 5970000, 510000, 5980000), "2020"), "metres"),
    E("search bbox west > east", lambda c: stac.search(_Catalog(), (-122.80, 53.88, -122.83, 53.90), "2020"),
      "west < east"),
    E("search bbox of 3 numbers", lambda c: stac.search(_Catalog(), BBOX[:3], "2020"), "4 numbers"),
    E("search bbox as text", lambda c: stac.search(_Catalog(), "-122.83,53.88,-122.80,53.90", "2020"), "4 numbers"),
    E("search bbox with text inside", lambda c: stac.search(_Catalog(), ("-122.83", 53.88, -122.80, 53.90), "2020"),
      r"bbox\[0\]"),
    E("search date 03/04/2019", lambda c: stac.search(_Catalog(), BBOX, "03/04/2019"), "ambiguous"),
    E("search date 2019/03/04", lambda c: stac.search(_Catalog(), BBOX, "2019/03/04"), "slashes"),
    E("search date day first", lambda c: stac.search(_Catalog(), BBOX, "15-05-2019/2019-06-01"), "ISO 8601"),
    E("search dates reversed", lambda c: stac.search(_Catalog(), BBOX, "2021-12-31/2016-01-01"), "starts after it ends"),
    E("search date 30 February", lambda c: stac.search(_Catalog(), BBOX, "2019-02-30"), "not a real date"),
    E("search date as int", lambda c: stac.search(_Catalog(), BBOX, 2019), "ISO date"),
    E("search date month unpadded", lambda c: stac.search(_Catalog(), BBOX, "2019-5-1/2019-6-1"), "ISO 8601"),
    OK("search date object", lambda c: stac.search(cat := _Catalog([S2_PYSTAC]), BBOX, dt.date(2019, 5, 1)) and cat.kwargs,
       lambda kw: kw["datetime"] == "2019-05-01"),
    OK("search date tuple", lambda c: stac.search(cat := _Catalog([S2_PYSTAC]), BBOX, ("2019-05-01", None)) and cat.kwargs,
       lambda kw: kw["datetime"] == "2019-05-01/.."),
    OK("search open interval", lambda c: stac.search(_Catalog([S2_PYSTAC]), BBOX, "2019-05/.."), _found),
    OK("search year", lambda c: stac.search(_Catalog([S2_PYSTAC]), BBOX, "2019"), _found),
    OK("search RFC 3339", lambda c: stac.search(_Catalog([S2_PYSTAC]), BBOX, "2019-05-01T00:00:00Z/2019-06-01T00:00:00Z"),
       _found),
    E("search limit 0", lambda c: stac.search(_Catalog(), BBOX, "2020", limit=0), "limit=0 is out of range"),
    E("search limit 5000", lambda c: stac.search(_Catalog(), BBOX, "2020", limit=5000), "1 to 1000"),
    E("search limit as text", lambda c: stac.search(_Catalog(), BBOX, "2020", limit="500"), "limit must be a whole"),
    E("search limit fractional", lambda c: stac.search(_Catalog(), BBOX, "2020", limit=2.5), "whole number"),
    E("search collection in capitals", lambda c: stac.search(_Catalog(), BBOX, "2020", collection="Sentinel-2-L2A"),
      "Did you mean 'sentinel-2-l2a'", UnknownCollectionError),
    E("search collection unknown", lambda c: stac.search(_Catalog(), BBOX, "2020", collection="landsat-c2-l2"),
      "Unknown STAC collection", UnknownCollectionError),
    E("search collection None", lambda c: stac.search(_Catalog(), BBOX, "2020", collection=None), "non-empty string"),
    E("search nothing found", lambda c: stac.search(_Catalog(), BBOX, "2020"), "Widen the dates", EmptySearchError),
    E("search catalog is a URL", lambda c: stac.search("https://planetarycomputer.microsoft.com/api/stac/v1", BBOX, "2020"),
      "open_catalog"),
    W("search max_cloud fraction", lambda c: stac.search(_Catalog([S2_PYSTAC]), BBOX, "2020", max_cloud=0.1),
      "max_cloud=10", _found),
    E("search max_cloud text", lambda c: stac.search(_Catalog(), BBOX, "2020", max_cloud="20"), "without quotes"),
    E("open_catalog profile unknown", lambda c: stac.open_catalog("mpc"), "Unknown profile", ConfigError),
    E("open_catalog URL without scheme", _env(LABHELPERS_STAC_URL="127.0.0.1:8011")(
        lambda c: stac.open_catalog("planetary-computer")), "must be an http", ConfigError),

    # sentinel2
    E("stack one item, not a list", lambda c: sentinel2.stack(S2_PYSTAC), r"\[item\]"),
    E("stack an item dict", lambda c: sentinel2.stack(ITEM), r"\[item\]"),
    E("stack text", lambda c: sentinel2.stack("items"), "list of STAC items"),
    E("stack nothing", lambda c: sentinel2.stack([]), "run a search"),
    E("stack numbers", lambda c: sentinel2.stack([1, 2]), "Expected a STAC item"),
    E("stack asset B4", lambda c: sentinel2.stack([ITEM], assets=("B4",)), "Unknown Sentinel-2 asset.*'B04'"),
    E("stack asset lower case", lambda c: sentinel2.stack([ITEM], assets=("b04",)), "Did you mean 'B04'"),
    E("stack common name", lambda c: sentinel2.stack([ITEM], assets=("red", "nir")), "write 'B04' for 'red'"),
    E("stack asset twice", lambda c: sentinel2.stack([ITEM], assets=("B04", "B04")), "once"),
    OK("stack one asset as text", lambda c: sentinel2.stack([ITEM], assets="B04", resolution=1000),
       lambda da: _stack_ok(da, ["red"])),
    E("stack resolution 0", lambda c: sentinel2.stack([ITEM], resolution=0), "more than 0"),
    E("stack resolution negative", lambda c: sentinel2.stack([ITEM], resolution=-10), "out of range"),
    E("stack resolution text", lambda c: sentinel2.stack([ITEM], resolution="100"), "without quotes"),
    E("stack resolution in degrees", lambda c: sentinel2.stack([ITEM], resolution=0.001), "metres.*resolution=100"),
    E("stack EPSG:4326 with metres", lambda c: sentinel2.stack([ITEM], epsg=4326, resolution=100), "degrees"),
    OK("stack EPSG:4326 with degrees", lambda c: sentinel2.stack([ITEM], assets=("B04",), epsg=4326, resolution=0.01),
       lambda da: _stack_ok(da, ["red"]) and da.sizes["x"] > 10),
    E("stack EPSG unknown", lambda c: sentinel2.stack([ITEM], epsg=999999), "not an EPSG code"),
    E("stack EPSG as text", lambda c: sentinel2.stack([ITEM], epsg="EPSG:32629"), "epsg must be a whole number"),
    E("stack EPSG fractional", lambda c: sentinel2.stack([ITEM], epsg=32629.5), "whole number"),
    E("stack bbox (lat, lon)", lambda c: sentinel2.stack([ITEM], bbox=(INSIDE[1], INSIDE[0], INSIDE[3], INSIDE[2])),
      "longitude first"),
    E("stack bbox elsewhere", lambda c: sentinel2.stack([ITEM], bbox=BBOX), "overlaps none of the 1 items"),
    E("stack bbox in metres", lambda c: sentinel2.stack([ITEM], bbox=(200000, 3300000, 210000, 3310000)), "metres"),
    OK("stack bbox inside", lambda c: sentinel2.stack([ITEM], assets=("B04",), bbox=INSIDE, resolution=100),
       lambda da: _stack_ok(da, ["red"]) and 150 < da.sizes["x"] < 300),
    E("stack mask_clouds text", lambda c: sentinel2.stack([ITEM], mask_clouds="yes"), "True or False"),
    E("stack harmonize 'False'", lambda c: sentinel2.stack([ITEM], harmonize="False"), "True or False"),
    E("stack chunksize 0", lambda c: sentinel2.stack([ITEM], chunksize=0), "chunksize=0"),
    E("stack chunksize text", lambda c: sentinel2.stack([ITEM], chunksize="2048"), "chunksize must be a whole"),
    W("stack bigger than a worker", lambda c: sentinel2.stack([ITEM], resolution=5), "GiB as float32.*too big",
      lambda da: da.nbytes > sentinel2.WARN_STACK_BYTES),
    E("stack far too big", lambda c: sentinel2.stack([ITEM] * 40, resolution=1), "GiB as float32.*limit",
      StackTooLargeError),
    E("boa_offset of text", lambda c: sentinel2.boa_offset("S2A_MSIL2A"), "Expected a STAC item"),
    E("boa_offset of empty dict", lambda c: sentinel2.boa_offset({}), "Expected a STAC item"),
    E("item_epsg of None", lambda c: sentinel2.item_epsg(None), "Expected a STAC item"),
    E("choose_epsg without proj", lambda c: sentinel2.choose_epsg([{"properties": {}}]), "pass epsg="),
    OK("choose_epsg of the item", lambda c: sentinel2.choose_epsg([ITEM]), lambda e: e == 32629),

    # composites
    E("median of a numpy array", lambda c: composites.median(np.ones((3, 2, 2))), "xarray.DataArray"),
    E("median without time", lambda c: composites.median(_cube(time=False)), "no 'time' dimension"),
    E("median over a missing dim", lambda c: composites.median(_cube(), dim="month"), "no 'month' dimension"),
    E("median dim not text", lambda c: composites.median(_cube(), dim=0), "dim must be a non-empty string"),
    OK("median of a cube", lambda c: composites.median(_cube()),
       lambda m: _nan_equal(m, _cube().median("time")) and "time" not in m.dims),
    E("monthly without time", lambda c: composites.monthly(_cube(time=False)), "no 'time' dimension"),
    E("monthly on integer times", lambda c: composites.monthly(_cube().assign_coords(time=[1, 2, 3, 4])), "not dates"),
    E("monthly of a Dataset", lambda c: composites.monthly(_cube().to_dataset(name="r")), "xarray.DataArray"),
    OK("monthly of a cube", lambda c: composites.monthly(_cube()), lambda m: list(m.month.values) == [1, 2]),
    E("monthly_resample without time", lambda c: composites.monthly_resample(_cube(time=False)), "no 'time'"),
    OK("monthly_resample of a cube", lambda c: composites.monthly_resample(_cube()),
       lambda m: m.sizes["time"] == 2 and str(m.time.values[0])[:10] == "2020-01-01"),
    E("true_color with time", lambda c: composites.true_color(_cube()), "Reduce time first"),
    E("true_color without blue", lambda c: composites.true_color(_cube(time=False, bands=("red", "green"))),
      r"missing \['blue'\]"),
    E("true_color of numpy", lambda c: composites.true_color(np.ones((3, 3, 3))), "band coordinate"),
    E("true_color negative contrast", lambda c: composites.true_color(_cube(time=False), c=-1), "c=-1"),
    E("true_color threshold 2", lambda c: composites.true_color(_cube(time=False), th=2), "th=2"),
    OK("true_color of a composite", lambda c: composites.true_color(_cube(time=False)),
       lambda rgb: rgb.dtype == np.uint8 and rgb.shape == (3, 3, 4)),

    # indices
    OK("normalized_difference uint16 DataArrays",
       lambda c: indices.normalized_difference(xr.DataArray(np.array([100, 0], "uint16")),
                                               xr.DataArray(np.array([300, 0], "uint16"))),
       lambda r: _nan_equal(r, [-0.5, np.nan])),
    OK("normalized_difference uint16 arrays",
       lambda c: indices.normalized_difference(np.array([100], "uint16"), np.array([300], "uint16")),
       lambda r: _nan_equal(r, [-0.5])),
    OK("normalized_difference lists", lambda c: indices.normalized_difference([0.5], [0.1]),
       lambda r: _nan_equal(r, [0.4 / 0.6])),
    OK("normalized_difference ints", lambda c: indices.normalized_difference([100, 7], [300, 7]),
       lambda r: _nan_equal(r, [-0.5, 0])),
    OK("normalized_difference zeros", lambda c: indices.normalized_difference(0, 0), lambda r: np.isnan(r)),
    OK("normalized_difference int16 negatives",
       lambda c: indices.normalized_difference(np.array([-100], "int16"), np.array([300], "int16")),
       lambda r: _nan_equal(r, [-2.0])),
    E("normalized_difference lengths differ", lambda c: indices.normalized_difference([0.5], [0.1, 0.2]),
      "different shapes"),
    E("normalized_difference text", lambda c: indices.normalized_difference("0.5", "0.1"), "array of reflectances"),
    E("normalized_difference text list", lambda c: indices.normalized_difference(["a"], ["b"]), "numbers only"),
    E("normalized_difference grids differ",
      lambda c: indices.normalized_difference(_cube().sel(band="nir"), _cube().sel(band="red").isel(x=[0, 1])),
      "different grids"),
    E("normalized_difference of a Dataset", lambda c: indices.normalized_difference(MODIS_DS, MODIS_DS), "Dataset"),
    OK("ndvi of a cube", lambda c: indices.ndvi(_cube()),
       lambda r: _nan_equal(r, (_cube().sel(band="nir") - _cube().sel(band="red"))
                            / (_cube().sel(band="nir") + _cube().sel(band="red")))),
    OK("ndvi of integer DNs", lambda c: indices.ndvi(xr.DataArray(np.array([[300], [100]], "uint16"), dims=("band", "x"),
                                                                  coords={"band": ["nir", "red"]})),
       lambda r: _nan_equal(r, [0.5])),
    E("ndvi without nir", lambda c: indices.ndvi(_cube(bands=("red", "green", "blue"))), "Band 'nir' is missing"),
    E("ndvi of a MODIS Dataset", lambda c: indices.ndvi(MODIS_DS), "labhelpers.modis.ndvi"),
    E("ndvi of numpy", lambda c: indices.ndvi(np.ones((2, 3))), "band coordinate"),
    E("ndsi without swir16", lambda c: indices.ndsi(_cube()), "Band 'swir16' is missing"),

    # tables
    E("rows as text", lambda c: tables.rows_to_columns("abc"), "list of sequences"),
    E("rows flat", lambda c: tables.rows_to_columns([1, 2, 3]), r"rows\[0\] is 1"),
    E("rows ragged", lambda c: tables.rows_to_columns(RAGGED), "different lengths"),
    E("rows None", lambda c: tables.rows_to_columns(None), "list of sequences"),
    E("rows of dicts", lambda c: tables.rows_to_columns([{"day": 1}]), "sequence such as a tuple"),
    E("rows of text", lambda c: tables.rows_to_columns(["ab", "cd"]), "sequence such as a tuple"),
    OK("rows to columns", lambda c: tables.rows_to_columns([(1, 2), (3, 4)]), lambda r: r == [(1, 3), (2, 4)]),
    OK("rows empty", lambda c: tables.rows_to_columns([]), lambda r: r == []),
    OK("rows from a generator", lambda c: tables.rows_to_columns((d, d * 2) for d in range(3)),
       lambda r: r == [(0, 1, 2), (0, 2, 4)]),
    E("columns ragged", lambda c: tables.columns_to_rows([(1, 2, 3), (4, 5)]), "different lengths"),
    E("columns as text", lambda c: tables.columns_to_rows("ab"), "list of sequences"),
    OK("columns to rows", lambda c: tables.columns_to_rows([(1, 3), (2, 4)]), lambda r: r == [(1, 2), (3, 4)]),

    # cluster (all refused before a cluster starts)
    E("workers minimum > maximum", lambda c: cluster.start_cluster(minimum=5, maximum=2), "minimum <= maximum"),
    E("workers maximum 0", lambda c: cluster.start_cluster(minimum=0, maximum=0), "maximum=0"),
    E("workers as text", lambda c: cluster.start_cluster(minimum="1", maximum=4), "whole number"),
    E("workers fractional", lambda c: cluster.start_cluster(1, 2.5), "whole number"),
    E("workers negative", lambda c: cluster.start_cluster(-1, 2), "out of range"),
    E("require_gateway text", lambda c: cluster.start_cluster(1, 2, require_gateway="yes"), "True or False"),
    E("dashboard_address None", lambda c: cluster.start_cluster(1, 2, dashboard_address=None), "dashboard_address"),
    OK("shutdown nothing", lambda c: cluster.shutdown(None, None), lambda r: r is None),

    # modis.grid
    W("tile_of Chicago swapped", lambda c: modis.tile_of(-87.623177, 41.881832), "the order is tile_of\\(lat, lon\\)",
      lambda t: t == modis.tile_of(-87.623177, 41.881832)),
    OK("tile_of Chicago", lambda c: modis.tile_of(41.881832, -87.623177), lambda t: t == (11, 4)),
    OK("tile_of Prince George", lambda c: modis.tile_of(53.9, -122.82), lambda t: t == (10, 3)),
    OK("tile_of Melbourne", lambda c: modis.tile_of(-37.81, 144.96), lambda t: t == (29, 12)),
    E("tile_of Melbourne swapped", lambda c: modis.tile_of(144.96, -37.81), "swap"),
    E("tile_of latitude 91", lambda c: modis.tile_of(91, 0), "not on Earth"),
    E("tile_of text", lambda c: modis.tile_of("41.88", -87.6), "without quotes"),
    E("tile_of None", lambda c: modis.tile_of(None, 0), "lat must be a number"),
    E("tile_of NaN", lambda c: modis.tile_of(float("nan"), 0), "finite"),
    E("tile_of a fill tile", lambda c: modis.tile_of(41.88, -87.63, extents=_fill_h11v04()), "h11v04.*fill tile"),
    E("tile_bounds fractional h", lambda c: modis.tile_bounds(11.5, 4), "whole number"),
    E("tile_bounds h as text", lambda c: modis.tile_bounds("11", 4), "h must be a whole number"),
    E("tile_bounds h 36", lambda c: modis.tile_bounds(36, 4), "h is 0-35"),
    E("tile_bounds v -1", lambda c: modis.tile_bounds(11, -1), "v is 0-17"),
    E("tile_bounds h True", lambda c: modis.tile_bounds(True, 4), "whole number"),
    OK("tile_bounds numpy ints", lambda c: modis.tile_bounds(np.int64(11), np.int8(4)),
       lambda b: b == modis.tile_bounds(11, 4)),
    OK("tile_bounds whole floats", lambda c: modis.tile_bounds(11.0, 4.0), lambda b: b == modis.tile_bounds(11, 4)),
    E("lonlat_to_sinusoidal lon 200", lambda c: modis.lonlat_to_sinusoidal(41.9, 200), "not on Earth"),
    E("lonlat_to_sinusoidal (lon, lat)", lambda c: modis.lonlat_to_sinusoidal(-122.8, 53.9), "swap"),
    E("lonlat_to_sinusoidal text", lambda c: modis.lonlat_to_sinusoidal("a", 0), "numbers in degrees"),
    OK("lonlat_to_sinusoidal arrays", lambda c: modis.lonlat_to_sinusoidal(np.array([0, 0]), np.array([0, 90])),
       lambda xy: _nan_equal(xy[0], [0, modis.EARTH_RADIUS * math.pi / 2])),
    E("clip_lonlat bbox (lat, lon)", lambda c: modis.clip_lonlat(MODIS_DS, (41.8, -87.7, 41.95, -87.55)), "longitude first"),
    E("clip_lonlat bbox elsewhere", lambda c: modis.clip_lonlat(MODIS_DS, (-122.83, 53.88, -122.80, 53.90)),
      "No pixel centre"),
    E("clip_lonlat bbox inverted", lambda c: modis.clip_lonlat(MODIS_DS, (-87.5, 41.8, -87.7, 41.9)), "west < east"),
    E("clip_lonlat smaller than a pixel", lambda c: modis.clip_lonlat(MODIS_DS, (-87.6201, 41.8801, -87.6200, 41.8802)),
      "larger than a 463 m pixel"),
    E("clip_lonlat numpy", lambda c: modis.clip_lonlat(xr.DataArray(np.ones(3)), (-88, 41, -87, 42)), "dims x and y"),
    OK("clip_lonlat Chicago", lambda c: modis.clip_lonlat(MODIS_DS, (-87.7, 41.8, -87.55, 41.95)),
       lambda ds: 0 < int(ds[modis.RED].count()) < 40 * 40 and float(ds[modis.RED].mean()) == pytest.approx(0.05)),
    E("tile_extents missing file", lambda c: modis.tile_extents("/no/such/sn_bound_10deg.txt"), "No file",
      MissingFileError),
    E("tile_extents another file", lambda c: modis.tile_extents(MOD10A2), "not a text file"),
    E("tile_extents truncated", lambda c: (c.tmp / "t.txt").write_text("a\n" * 9) and modis.tile_extents(c.tmp / "t.txt"),
      "not NASA's sn_bound_10deg.txt"),

    # modis.days
    E("day 03/04/2019", lambda c: modis.day_string("03/04/2019"), "ambiguous"),
    E("day 2019366", lambda c: modis.day_string("2019366"), "001-365 in 2019"),
    E("day 2019000", lambda c: modis.day_string("2019000"), "001-365"),
    E("day 20190515", lambda c: modis.day_string("20190515"), "'YYYYDDD'"),
    E("day None", lambda c: modis.day_string(None), "'YYYYDDD'"),
    E("day True", lambda c: modis.day_string(True), "'YYYYDDD'"),
    E("day 30 February", lambda c: modis.day_string("2019-02-30"), "not a real date"),
    E("day May 15, 2019", lambda c: modis.day_string("May 15, 2019"), "ISO date"),
    OK("day as int", lambda c: modis.day_string(2019135), lambda s: s == "2019135"),
    OK("day ISO", lambda c: modis.day_string("2019-05-15"), lambda s: s == "2019135"),
    OK("day date", lambda c: modis.day_string(dt.date(2019, 5, 15)), lambda s: s == "2019135"),
    OK("day datetime64", lambda c: modis.day_string(np.datetime64("2020-12-31")), lambda s: s == "2020366"),
    OK("day with spaces", lambda c: modis.day_string(" 2019135 "), lambda s: s == "2019135"),
    E("day_to_date day first", lambda c: modis.day_to_date("15/05/2019"), "ambiguous"),
    E("day_to_date month 13", lambda c: modis.day_to_date("2019-13-01"), "not a real date"),

    # modis.blobs (a fake container client: no server)
    E("list_hdf product lower case", lambda c: modis.list_hdf(_Container(), "mcd43a4", 11, 4, "2019135"),
      "upper case: 'MCD43A4'", UnknownProductError),
    E("list_hdf product not in the container", lambda c: modis.list_hdf(_Container(), "MOD13Q1", 11, 4, "2019135"),
      "has no product 'MOD13Q1'.*MCD43A4", UnknownProductError),
    E("list_hdf product not MODIS", lambda c: modis.list_hdf(_Container(), "NDVI", 11, 4, "2019135"),
      "not a MODIS product name", UnknownProductError),
    OK("list_hdf a missing day", lambda c: modis.list_hdf(_Container(), "MCD43A4", 11, 4, "2019137"), lambda r: r == []),
    OK("list_hdf a day", lambda c: modis.list_hdf(_Container(), "MCD43A4", 11, 4, dt.date(2019, 5, 16)),
       lambda r: r == [_Container.names[1]]),
    E("list_hdf client is a URL", lambda c: modis.list_hdf("https://modiseuwest.blob.core.windows.net", "MCD43A4", 11, 4,
                                                           "2019135"), "container_client"),
    E("list_hdf tile off the grid", lambda c: modis.list_hdf(_Container(), "MCD43A4", 40, 4, "2019135"), "h is 0-35"),
    E("list_hdf tile as text", lambda c: modis.list_hdf(_Container(), "MCD43A4", "11", "04", "2019135"), "whole number"),
    E("list_hdf ambiguous day", lambda c: modis.list_hdf(_Container(), "MCD43A4", 11, 4, "05/15/2019"), "ambiguous"),
    E("blob_url client text", lambda c: modis.blob_url("client", "x.hdf"), "container_client"),
    E("blob_url name None", lambda c: modis.blob_url(_Container(), None), "name must be"),
    OK("blob_url", lambda c: modis.blob_url(_Container(), "a/b.hdf"), lambda u: u.endswith("/modis-061/a/b.hdf")),
    E("download ftp URL", lambda c: modis.download("ftp://example.org/x.hdf", c.tmp), "http://"),
    E("download None", lambda c: modis.download(None, c.tmp), "http://"),
    E("download a folder URL", lambda c: modis.download("http://127.0.0.1:9/modis/", c.tmp), "Cannot tell a file name"),
    E("download dest None", lambda c: modis.download("http://127.0.0.1:9/x.hdf", None), "dest must be"),
    E("download progress text", lambda c: modis.download("http://127.0.0.1:9/x.hdf", c.tmp, progress="no"),
      "True or False"),
    E("container_client account capitalised", lambda c: modis.container_client(account="ModisEUWest", container="modis-061"),
      "lower-case"),
    E("container_client container with _", lambda c: modis.container_client(account="modiseuwest", container="modis_061"),
      "lower case"),

    # modis.hdf
    E("open_hdf missing file", lambda c: modis.open_hdf(c.tmp / "nothing.hdf"), "download it first", MissingFileError),
    E("open_hdf a text file", lambda c: (c.tmp / "x.hdf").write_text("<html>403</html>") and modis.open_hdf(c.tmp / "x.hdf"),
      "download it again"),
    E("open_hdf engine capitalised", lambda c: modis.open_hdf(MOD10A2, engine="GDAL"), "Did you mean 'gdal'"),
    E("open_hdf unknown field", lambda c: modis.open_hdf(MOD10A2, engine="pyhdf", variables="NDVI"), "No field matches"),
    E("open_hdf two grids", lambda c: modis.open_hdf(MOD09GA, engine="pyhdf"), "pass grid="),
    E("open_hdf unknown grid", lambda c: modis.open_hdf(MOD09GA, engine="pyhdf", grid="500m"), "has no grid"),
    E("open_hdf path a number", lambda c: modis.open_hdf(123), "path must be"),
    E("open_hdf mask_and_scale text", lambda c: modis.open_hdf(MOD10A2, mask_and_scale="yes"), "True or False"),
    E("parse_struct_metadata None", lambda c: modis.parse_struct_metadata(None), "text must be"),
    E("parse_struct_metadata a grid without keys", lambda c: modis.parse_struct_metadata(
        "GROUP=GRID_1\n GridName=\"g\"\nEND_GROUP=GRID_1"), "no UpperLeftPointMtrs"),

    # modis.stac
    E("search_stac catalog text", lambda c: modis.search_stac("catalog", 11, 4, "2019135", "2019160"), "open_catalog"),
    E("search_stac tile off the grid", lambda c: modis.search_stac(_Catalog(), 11, 18, "2019135", "2019160"), "v is 0-17"),
    E("search_stac start after end", lambda c: modis.search_stac(_Catalog(), 11, 4, "2019160", "2019135"), "after end"),
    E("search_stac ambiguous day", lambda c: modis.search_stac(_Catalog(), 11, 4, "05/15/2019", "2019160"), "ambiguous"),
    E("search_stac unknown collection", lambda c: modis.search_stac(_Catalog(), 11, 4, "2019135", "2019160",
                                                                    collection="modis-43A4-006"),
      "Did you mean 'modis-43A4-061'", UnknownCollectionError),
    OK("search_stac a period without data", lambda c: modis.search_stac(_Catalog(), 11, 4, "2019135", "2019160"),
       lambda r: r == []),
    OK("search_stac a period with data", lambda c: modis.search_stac(_Catalog([MODIS_ITEM]), 14, 10, "2022032", "2022032"),
       lambda r: [i.id for i in r] == [MODIS_ITEM.id]),
    E("load_stac nothing", lambda c: modis.load_stac([]), "found nothing"),
    E("load_stac one item", lambda c: modis.load_stac(MODIS_ITEM), r"\[item\]"),
    E("load_stac dicts", lambda c: modis.load_stac([MODIS_ITEM.to_dict()]), "pystac Items"),
    E("load_stac band short name", lambda c: modis.load_stac([MODIS_ITEM], bands=["Band1"]), "Unknown MCD43A4 band"),
    E("load_stac bbox (lat, lon)", lambda c: modis.load_stac([MODIS_ITEM], bbox=(-20, -42, -10, -31)), "longitude first"),
    E("load_stac chunks number", lambda c: modis.load_stac([MODIS_ITEM], chunks=5), "chunks must be"),
    E("modis.ndvi of a DataArray", lambda c: modis.ndvi(MODIS_DS[modis.RED]), "labhelpers.indices.ndvi"),
    E("modis.ndvi without band 2", lambda c: modis.ndvi(MODIS_DS[[modis.RED]]), "variables=\\[RED, NIR\\]"),
    OK("modis.ndvi", lambda c: modis.ndvi(MODIS_DS), lambda r: float(r.mean()) == pytest.approx(5 / 7, abs=1e-6)),
]


def summary() -> Counter:
    """Rows per outcome: ``Counter({"error": n, "warn": n, "ok": n})``."""
    return Counter(case.expect for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, monkeypatch, tmp_path):
    ctx = SimpleNamespace(mp=monkeypatch, tmp=tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if case.expect == "error":
            with pytest.raises(case.error) as err:
                case.call(ctx)
            assert isinstance(err.value, LabError), f"{type(err.value).__name__} is not a labhelpers error"
            assert re.search(case.match, str(err.value)), f"{str(err.value)!r} !~ {case.match!r}"
            assert "sig=" not in str(err.value).replace("sig=<redacted>", "")
            return
        result = case.call(ctx)
    ours = [w for w in caught if issubclass(w.category, LabWarning)]
    if case.expect == "warn":
        assert ours and any(re.search(case.match, str(w.message)) for w in ours), \
            [str(w.message) for w in ours]
    else:
        assert not ours, [str(w.message) for w in ours]
    assert case.check(result), f"wrong result: {result!r}"


def test_every_public_function_has_rows():
    """Each public function of the student library (bar plotting, owned elsewhere) is tried here."""
    import inspect

    import labhelpers.modis.blobs
    import labhelpers.modis.days
    import labhelpers.modis.grid
    import labhelpers.modis.hdf
    import labhelpers.modis.stac

    source = inspect.getsource(inspect.getmodule(test_every_public_function_has_rows))
    table = source[source.index("CASES = ["):source.index("def summary")]
    modules = [settings, aoi, stac, sentinel2, composites, indices, tables, cluster, labhelpers.modis.grid,
               labhelpers.modis.days, labhelpers.modis.blobs, labhelpers.modis.hdf, labhelpers.modis.stac, modis]
    missing = []
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) and obj.__module__.startswith("labhelpers") and f".{name}(" not in table:
                missing.append(f"{module.__name__}.{name}")
    allowed = {"labhelpers.settings.offline_dir", "labhelpers.settings.state_file", "labhelpers.settings.read_state",
               "labhelpers.cluster.gateway_address", "labhelpers.modis.grid.sinusoidal_to_lonlat",
               "labhelpers.modis.hdf.gdal_has_hdf4", "labhelpers.modis.gdal_has_hdf4",
               "labhelpers.modis.sinusoidal_to_lonlat", "labhelpers.modis.container_client"}
    # Those take no argument a student sets, or any array (sinusoidal_to_lonlat: points off the globe give
    # |lon| > 180, by design), or are covered by their own tests (container_client: tests/unit/test_resilience).
    assert sorted(set(missing) - allowed) == []
    assert summary()["error"] > 100
