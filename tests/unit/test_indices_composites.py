import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from labhelpers import composites, indices


def test_normalized_difference_zero_over_zero_is_nan_never_inf():
    a = np.array([0.0, 0.3, 0.5, 0.0])
    b = np.array([0.0, 0.1, 0.5, 0.2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero RuntimeWarning either
        out = indices.normalized_difference(a, b)
        outx = indices.normalized_difference(xr.DataArray(a), xr.DataArray(b))
    np.testing.assert_allclose(out, [np.nan, 0.5, 0.0, -1.0], equal_nan=True)
    np.testing.assert_allclose(outx.values, out, equal_nan=True)
    assert not np.isinf(out).any()


def _bands(**values):
    names = list(values)
    data = np.array([values[n] for n in names], dtype="float32")[:, None, None]
    return xr.DataArray(data, dims=("band", "y", "x"), coords={"band": names})


def test_ndvi_and_ndsi_use_the_right_bands():
    da = _bands(red=0.05, nir=0.45, green=0.8, swir16=0.1)
    assert indices.ndvi(da).values.item() == pytest.approx(0.8)
    assert indices.ndsi(da).values.item() == pytest.approx(0.7 / 0.9)
    with pytest.raises(ValueError, match="Band 'swir16' is missing"):
        indices.ndsi(_bands(red=0.1, green=0.2))


def _series(times, values):
    return xr.DataArray(np.array(values, dtype="float32")[:, None, None], dims=("time", "y", "x"),
                        coords={"time": pd.to_datetime(times)}).chunk({"time": 1})


def test_median_skips_nan():
    da = _series(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"], [0.1, np.nan, 0.9, 0.2])
    assert composites.median(da).values.item() == pytest.approx(0.2)


def test_groupby_month_pools_years_but_resample_keeps_every_year_month():
    times = ["2019-01-10", "2019-07-10", "2020-01-10", "2020-07-10"]
    da = _series(times, [0.0, 0.6, 0.2, 0.8])
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # "MS", not the deprecated "1M"
        grouped = composites.monthly(da).compute()
        resampled = composites.monthly_resample(da).compute()
    assert list(grouped["month"].values) == [1, 7]
    np.testing.assert_allclose(grouped.values.ravel(), [0.1, 0.7])
    assert resampled.sizes["time"] == 19  # Jan 2019 .. Jul 2020: every year-month
    assert int(resampled.isnull().sum()) == 15  # months without a scene are all-NaN
    assert pd.Timestamp(resampled["time"].values[0]) == pd.Timestamp("2019-01-01")


def test_true_color_needs_a_2d_rgb_composite():
    da = _bands(red=0.1, green=0.2, blue=0.3)
    with pytest.raises(ValueError, match="missing"):
        composites.true_color(_bands(red=0.1, nir=0.3))
    rgba = composites.true_color(da.expand_dims(y2=1).isel(y2=0))
    assert rgba.dims == ("y", "x", "band") and rgba.dtype == np.uint8
