"""labhelpers.plotting: one documented stretch for every natural-colour figure, no data visible as
such, north up, and lines that stay visible when they coincide."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from labhelpers import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _composite(values=None, y_descending=True):
    """(band, y, x) reflectance with bands in stackstac's order (red, green, blue, nir)."""
    rng = np.random.default_rng(0)
    values = rng.uniform(0, 0.5, (4, 3, 5)) if values is None else values
    y = np.array([300.0, 200.0, 100.0]) if y_descending else np.array([100.0, 200.0, 300.0])
    return xr.DataArray(values, dims=("band", "y", "x"),
                        coords={"band": ["red", "green", "blue", "nir"], "y": y, "x": np.arange(5) * 100.0})


def _drawn(fig):
    [ax] = [a for a in fig.axes if a.get_images()]
    [im] = ax.get_images()
    return ax, im


def test_stretch_is_one_linear_map_for_all_three_bands():
    da = _composite(np.full((4, 3, 5), 0.15))
    da[2, 0, 0] = 0.6  # brighter than full brightness: clipped, not rescaled
    out = plotting.stretch(da, max_reflectance=0.3)
    assert out.band.values.tolist() == ["red", "green", "blue"]
    assert np.allclose(out.sel(band="red"), 0.5)
    assert float(out.sel(band="blue")[0, 0]) == 1.0
    assert np.allclose(out.sel(band="blue").values.ravel()[1:], 0.5)  # one bright pixel changes no other


@pytest.mark.parametrize("bad", [0, -0.3])
def test_stretch_refuses_a_non_positive_maximum(bad):
    with pytest.raises(ValueError, match="max_reflectance must be > 0"):
        plotting.stretch(_composite(), bad)


def test_stretch_names_the_missing_colour_band():
    with pytest.raises(ValueError, match=r"missing \['blue'\]"):
        plotting.stretch(_composite().sel(band=["red", "green", "nir"]))


def test_rgb_image_draws_the_documented_stretch_and_says_so():
    da = _composite()
    fig = plotting.rgb_image(da, "Median", max_reflectance=0.3)
    ax, im = _drawn(fig)
    drawn = np.asarray(im.get_array())
    expected = np.clip(da.sel(band=["red", "green", "blue"]).transpose("y", "x", "band").values / 0.3, 0, 1)
    assert drawn.shape == (3, 5, 4)
    assert np.allclose(drawn[..., :3], expected)
    assert np.all(drawn[..., 3] == 1)
    assert "Median" in ax.get_title() and "0-0.3" in ax.get_title()
    assert ax.get_xlabel().startswith("easting (m)") and ax.get_ylabel() == "northing (m)"


def test_rgb_image_shows_no_data_as_transparent_over_a_hatched_background():
    da = _composite()
    da[0, 1, 2] = np.nan  # red missing: the pixel has no colour to show
    ax, im = _drawn(plotting.rgb_image(da, "t"))
    alpha = np.asarray(im.get_array())[..., 3]
    assert alpha[1, 2] == 0 and alpha.sum() == alpha.size - 1
    assert ax.patch.get_hatch()


@pytest.mark.parametrize("descending, origin", [(True, "upper"), (False, "lower")])
def test_images_are_drawn_north_up_whatever_the_order_of_y(descending, origin):
    _, im = _drawn(plotting.rgb_image(_composite(y_descending=descending), "t"))
    assert im.origin == origin


def test_rgb_image_refuses_a_stack_that_still_has_time():
    with pytest.raises(ValueError, match="Reduce time first"):
        plotting.rgb_image(_composite().expand_dims(time=2), "t")


def test_rgb_panels_use_the_same_stretch_as_rgb_image():
    da = _composite()
    months = xr.concat([da, da * 2], dim=xr.DataArray([1, 7], dims="month", name="month"))
    fig = plotting.rgb_panels(months, "month", "Monthly", max_reflectance=0.3)
    single = np.asarray(_drawn(plotting.rgb_image(da, "t"))[1].get_array())
    drawn = [np.asarray(ax.get_images()[0].get_array()) for ax in fig.axes if ax.get_images()]
    assert len(drawn) == 2
    assert np.allclose(drawn[0], single)
    assert [ax.get_title() for ax in fig.axes if ax.get_images()] == ["January", "July"]


def test_panels_share_one_colour_scale():
    ndvi = xr.DataArray(np.stack([np.full((3, 5), 0.1), np.full((3, 5), 0.8)]), dims=("month", "y", "x"),
                        coords={"month": [1, 7], "y": [3.0, 2.0, 1.0], "x": np.arange(5.0)})
    fig = plotting.panels(ndvi, "month", "NDVI", cbar_label="NDVI (unitless)", vmin=-0.2, vmax=0.9)
    limits = {im.get_clim() for ax in fig.axes for im in ax.get_images()}
    assert limits == {(-0.2, 0.9)}


def test_time_series_styles_keep_coinciding_lines_visible():
    fig = plotting.time_series([1, 2, 3], {"blob": [1, 2, 3], "STAC": [1, 2, 3]}, "t", "day", "value",
                               styles={"STAC": {"linestyle": "none", "marker": "x", "markersize": 9}})
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert lines["blob"].get_linestyle() == "-" and lines["STAC"].get_linestyle() == "None"
    assert lines["STAC"].get_marker() == "x" and lines["STAC"].get_markersize() == 9


def test_time_series_refuses_a_style_for_a_line_it_does_not_draw():
    with pytest.raises(ValueError, match="not in ys"):
        plotting.time_series([1], {"a": [1]}, "t", "x", "y", styles={"b": {}})


def test_time_series_tilts_date_labels_for_a_list_of_timestamps_too():
    import pandas as pd

    dates = [pd.Timestamp("2019-05-15") + pd.Timedelta(days=i) for i in range(20)]
    fig = plotting.time_series(dates, {"a": range(20)}, "t", "date", "value")
    assert {label.get_rotation() for label in fig.axes[0].get_xticklabels()} == {30.0}
