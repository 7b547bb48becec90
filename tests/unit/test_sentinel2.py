"""labhelpers.sentinel2 on real pixels and real MPC items (no services needed)."""

from __future__ import annotations

import json

import numpy as np
import pystac
import pytest

from labhelpers import composites, indices, sentinel2
from s2fixtures import DATA, mpc_item, tile_path, write_copy

STAC = DATA / "stac"


def _page(name):
    return json.loads((STAC / name).read_text())["features"]


PAGE_2024 = "mpc_s2l2a_search_page1_2024-05-17.json"
PAGE_2019 = "mpc_s2l2a_search_2019-01-01_recorded2025-07-31.json"


# ---- boa_offset ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "baseline, expected",
    [("02.12", 0), ("03.01", 0), ("04.00", -1000), ("05.10", -1000), ("10.00", -1000), ("4.0", -1000), ("03.99", 0)],
)
def test_boa_offset_compares_baselines_as_numbers(baseline, expected):
    item = {"properties": {"s2:processing_baseline": baseline, "datetime": "2020-01-01T00:00:00Z"}}
    assert sentinel2.boa_offset(item) == expected


def test_boa_offset_on_real_mpc_pages():
    new = _page(PAGE_2024)
    old = _page(PAGE_2019)
    assert {i["properties"]["s2:processing_baseline"] for i in new} == {"05.10"}
    assert {sentinel2.boa_offset(pystac.Item.from_dict(i)) for i in new} == {-1000}
    assert {sentinel2.boa_offset(pystac.Item.from_dict(i)) for i in old} == {0}


def test_boa_offset_without_baseline_falls_back_on_the_2022_01_25_cut():
    before = {"properties": {"datetime": "2022-01-24T23:59:59Z"}}
    after = {"properties": {"datetime": "2022-01-25T00:00:00Z"}}
    assert sentinel2.boa_offset(before) == 0
    assert sentinel2.boa_offset(after) == -1000


# ---- epsg --------------------------------------------------------------------------------------

def test_item_epsg_survives_pystac_migration_to_proj_code():
    raw = _page(PAGE_2024)[0]
    item = pystac.Item.from_dict(raw)
    assert "proj:epsg" not in item.properties and item.properties["proj:code"] == "EPSG:32631"
    assert sentinel2.item_epsg(item) == 32631 == sentinel2.item_epsg(raw)


def test_choose_epsg_takes_the_most_common_zone():
    items = [pystac.Item.from_dict(i) for i in _page(PAGE_2019)]
    zones = [sentinel2.item_epsg(i) for i in items]
    assert len(set(zones)) > 1  # the real page spans several UTM zones
    assert sentinel2.choose_epsg(items) == max(set(zones), key=lambda z: (zones.count(z), -z))


def test_stack_of_real_mpc_page_is_lazy_and_labelled():
    items = [pystac.Item.from_dict(i) for i in _page(PAGE_2024)[:5]]  # hrefs are Azure: never read here
    epsg = sentinel2.item_epsg(items[0])
    one_zone = [i for i in items if sentinel2.item_epsg(i) == epsg]
    da = sentinel2.stack(one_zone, assets=("B04", "B08", "B11"), resolution=1000, epsg=epsg)
    assert da.dims == ("time", "band", "y", "x")
    assert list(da["band"].values) == ["red", "nir", "swir16"]
    assert da.dtype == np.float32 and da.attrs["epsg"] == epsg
    # x/y come from the items' own proj:transform (a multiple of 1000 m from a 10980 m tile origin)
    assert da.sizes["x"] > 100 and da.sizes["y"] > 100


# ---- stack: real pixels --------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_stack():
    item = pystac.Item.from_dict(mpc_item())  # pystac turns proj:epsg into proj:code here
    da = sentinel2.stack([item], assets=("B04", "B03", "B02", "B08", "B11"), resolution=100)
    return da.compute()


def _sample(asset, da, folder=None):
    """The file's DN at each output pixel centre (nearest neighbour), NaN outside: independent of stackstac."""
    import rasterio

    with rasterio.open(tile_path(asset, folder) if folder else tile_path(asset)) as src:
        dn, t = src.read(1).astype("float64"), src.transform
    cols = np.floor((da["x"].values - t.c) / t.a).astype(int)
    rows = np.floor((da["y"].values - t.f) / t.e).astype(int)
    inside = (rows[:, None] >= 0) & (rows[:, None] < dn.shape[0]) & (cols[None, :] >= 0) & (cols[None, :] < dn.shape[1])
    out = np.full(inside.shape, np.nan)
    r, c = np.meshgrid(rows, cols, indexing="ij")
    out[inside] = dn[r[inside], c[inside]]
    return out


def _expected(asset, da):
    dn = _sample(asset, da)
    return np.where(dn == 0, np.nan, dn / 10000)


def test_stack_reads_real_pixels_exactly(real_stack):
    da = real_stack
    # stackstac snaps the grid to multiples of 100 m; the tile starts at x = 199980: one extra column
    assert da.shape == (1, 5, 1099, 1099)
    assert list(da["band"].values) == ["red", "green", "blue", "nir", "swir16"]
    assert float(da["x"][0]) % 100 == 50  # pixel centres (xy_coords="center") on the snapped grid
    np.testing.assert_allclose(da.sel(band="red")[0], _expected("B04", da), rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(da.sel(band="nir")[0], _expected("B08", da), rtol=1e-6, equal_nan=True)
    # the 20 m band (here 200 m) lands on the 100 m grid by nearest neighbour
    np.testing.assert_allclose(da.sel(band="swir16")[0], _expected("B11", da), rtol=1e-6, equal_nan=True)


def test_stack_turns_nodata_into_nan(tmp_path):
    folder = write_copy(tmp_path / "edge", swath_edge=True)
    da = sentinel2.stack([pystac.Item.from_dict(mpc_item(folder))], assets=("B04",), resolution=100).compute()
    zero = _sample("B04", da, folder) == 0
    assert zero.any() and (~zero).any()
    red = da.sel(band="red")[0].values
    inside = ~np.isnan(_sample("B04", da, folder))
    assert np.isnan(red[zero]).all() and not np.isnan(red[~zero & inside]).any()


def test_offset_is_applied_exactly_once(tmp_path, real_stack):
    """A baseline 05.10 copy of the same tile (DN + 1000) gives the same reflectance."""
    folder = write_copy(tmp_path / "tile", offset=1000)
    new = mpc_item(folder, baseline="05.10", item_id="S2A_MSIL2A_20230219T112121_R037_T29RKH_20230219T142300",
                   datetime="2023-02-19T11:21:21Z")
    da = sentinel2.stack([pystac.Item.from_dict(new)], assets=("B04", "B03", "B02", "B08", "B11"), resolution=100)
    np.testing.assert_allclose(da.values, real_stack.values, atol=1e-6, equal_nan=True)


def test_mixed_baselines_each_get_their_own_offset(tmp_path):
    folder = write_copy(tmp_path / "tile", offset=1000)
    old = pystac.Item.from_dict(mpc_item())
    new = pystac.Item.from_dict(mpc_item(folder, baseline="05.10", item_id="S2A_MSIL2A_20230219T112121_R037_T29RKH_20230219T142300",
                                         datetime="2023-02-19T11:21:21Z"))
    da = sentinel2.stack([new, old], assets=("B04",), resolution=200).compute()
    assert list(da["id"].values) == [old.id, new.id]  # sorted by date
    np.testing.assert_allclose(da[0].values, da[1].values, atol=1e-6, equal_nan=True)


def test_mask_clouds_masks_scl_classes_and_keeps_the_rest():
    item = pystac.Item.from_dict(mpc_item())
    da = sentinel2.stack([item], assets=("B04",), resolution=200, mask_clouds=True).compute()
    assert list(da["band"].values) == ["red"]  # SCL was loaded for the mask, not returned
    scl = _sample("SCL", da)
    red = da.sel(band="red")[0].values
    masked = np.isin(scl, sentinel2.SCL_MASKED) | np.isnan(scl)
    assert masked.any() and (~masked).any()
    assert np.isnan(red[masked]).all()
    clear = ~masked & (_sample("B04", da) > 0)
    assert not np.isnan(red[clear]).any()


def test_stack_rejects_bad_input():
    with pytest.raises(ValueError, match="No items"):
        sentinel2.stack([])
    with pytest.raises(ValueError, match="Unknown Sentinel-2 asset"):
        sentinel2.stack([mpc_item()], assets=("B4",))


# ---- science on the real pixels: NDVI and true colour vs independent numpy ------------------

def test_ndvi_equals_numpy_on_real_pixels(real_stack):
    red, nir = _expected("B04", real_stack), _expected("B08", real_stack)
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = (nir - red) / (nir + red)
    got = indices.ndvi(real_stack)[0].values
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6, equal_nan=True)
    finite = got[np.isfinite(got)]
    assert finite.size > 0 and finite.min() >= -1 and finite.max() <= 1


def _numpy_true_color(r, g, b, c=10.0, th=0.125):
    out = np.zeros(r.shape + (4,), dtype=np.uint8)
    for k, band in enumerate((r, g, b)):
        lo, hi = np.nanmin(band), np.nanmax(band)
        norm = (band - lo) / (hi - lo)
        out[..., k] = np.nan_to_num(255 / (1 + np.exp(c * (th - norm)))).astype(np.uint8)
    out[..., 3] = np.where(np.isnan(r), 0, 255)
    return out


def test_true_color_equals_numpy_on_real_pixels(real_stack):
    comp = composites.median(real_stack)
    rgba = composites.true_color(comp).values
    r, g, b = (comp.sel(band=n).values.astype("float32") for n in ("red", "green", "blue"))
    expected = _numpy_true_color(r, g, b)
    assert rgba.shape == expected.shape
    # float32 vs float64 rounding can move a value across an integer boundary: allow 1 level
    assert np.abs(rgba.astype(int) - expected.astype(int)).max() <= 1
    assert (rgba[..., 3] == 0).sum() == np.isnan(r).sum() > 0


def test_harmonize_false_shows_the_raw_baseline_jump(tmp_path, real_stack):
    folder = write_copy(tmp_path / "tile", offset=1000)
    new = pystac.Item.from_dict(mpc_item(folder, baseline="05.10", item_id="S2A_MSIL2A_20230219T112121_R037_T29RKH_20230219T142300",
                                         datetime="2023-02-19T11:21:21Z"))
    raw = sentinel2.stack([new], assets=("B04",), resolution=100, harmonize=False).compute()
    assert raw.attrs["boa_offset_applied"] is False
    jump = raw.values - real_stack.sel(band=["red"]).values
    assert np.isfinite(jump).sum() > 1000
    np.testing.assert_allclose(jump[np.isfinite(jump)], 0.1, atol=1e-5)
