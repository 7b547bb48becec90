"""Composites: many scenes reduced to one picture per period.

A single scene is often cloudy. The *median* over a stack of scenes, per pixel, ignores the
occasional bright cloud or dark shadow (they are outliers) and NaNs (no data, masked clouds),
so it is the standard way to make a clean composite.

Two ways to make monthly composites, with different meanings:

* :func:`monthly` groups by calendar month (``groupby("time.month")``): every January of every
  year goes into one January composite. 12 climatological months, however many years.
* :func:`monthly_resample` resamples the time axis into consecutive months (``resample("MS")``,
  month start; pandas >= 2.2 no longer accepts ``"1M"``): one composite per *year-month*. Six
  years give 72 composites, and months without a clear scene are all-NaN.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from xrspatial.multispectral import true_color as _xrs_true_color

from labhelpers import _checks
from labhelpers.errors import InputError, InputTypeError

__all__ = ["median", "monthly", "monthly_resample", "true_color"]


def _time_in_one_chunk(da: xr.DataArray, dim: str = "time", dated: bool = False) -> xr.DataArray:
    """``da`` checked to have ``dim`` (datetimes when ``dated``), that dimension in one dask chunk."""
    if not isinstance(da, xr.DataArray):
        raise InputTypeError(f"Expected an xarray.DataArray (e.g. from labhelpers.sentinel2.stack), not {type(da).__name__}.")
    if dim not in da.dims:
        raise InputError(f"The array has no {dim!r} dimension (its dims are {da.dims}): a composite reduces a stack "
                         "over time; was it reduced already?")
    if dated and not np.issubdtype(da[dim].dtype, np.datetime64):
        raise InputError(f"The {dim!r} coordinate holds {da[dim].dtype}, not dates: monthly composites need datetimes.")
    # A median needs all values of a pixel at once: with dask, time must be one chunk.
    return da.chunk({dim: -1}) if da.chunks is not None else da


def median(da: xr.DataArray, dim: str = "time") -> xr.DataArray:
    """Per-pixel median over ``dim``, skipping NaN (no data, masked clouds).

    Parameters
    ----------
    da : xarray.DataArray
    dim : str, default "time"

    Returns
    -------
    xarray.DataArray
        Lazy when ``da`` is; ``attrs["composite"]`` says what was done.

    Raises
    ------
    InputError
        When ``da`` is not a DataArray with dimension ``dim``.
    """
    _checks.text("dim", dim)
    out = _time_in_one_chunk(da, dim).median(dim, skipna=True, keep_attrs=True)
    out.attrs["composite"] = f"median over {dim}"
    return out


def monthly(da: xr.DataArray) -> xr.DataArray:
    """Median per calendar month, pooling all years (``groupby("time.month")``).

    Parameters
    ----------
    da : xarray.DataArray
        With a ``time`` dimension.

    Returns
    -------
    xarray.DataArray
        Dims ``(month, ...)``, months numbered 1 (January) to 12, those present in the data.

    Raises
    ------
    InputError
        When ``da`` has no ``time`` dimension of dates.
    """
    out = _time_in_one_chunk(da, dated=True).groupby("time.month").median("time", skipna=True, keep_attrs=True)
    out.attrs["composite"] = "median per calendar month (all years pooled)"
    return out


def monthly_resample(da: xr.DataArray) -> xr.DataArray:
    """Median per year-month (``resample(time="MS")``): one composite per month of every year.

    Parameters
    ----------
    da : xarray.DataArray
        With a ``time`` dimension.

    Returns
    -------
    xarray.DataArray
        One time step per month from the first to the last, labelled by the month's first day;
        months without data are all-NaN.

    Raises
    ------
    InputError
        When ``da`` has no ``time`` dimension of dates.
    """
    out = _time_in_one_chunk(da, dated=True).resample(time="MS").median("time", skipna=True, keep_attrs=True)
    out.attrs["composite"] = "median per year-month (resample MS)"
    return out


def true_color(da: xr.DataArray, c: float = 10.0, th: float = 0.125) -> xr.DataArray:
    """An RGBA uint8 image ``(y, x, band)`` from the red, green and blue bands of a 2-D composite.

    Uses xarray-spatial's ``true_color``: each band is stretched from its own min to max and
    passed through a sigmoid, so colours are not comparable between images.

    Parameters
    ----------
    da : xarray.DataArray
        ``(band, y, x)`` with a ``band`` coordinate holding red, green and blue.
    c : float, default 10.0
        Sigmoid contrast.
    th : float, default 0.125
        Sigmoid brightness threshold.

    Returns
    -------
    xarray.DataArray
        uint8 ``(y, x, band)`` RGBA; NaN pixels are transparent (alpha 0).

    Raises
    ------
    InputError
        When a colour band is missing or ``da`` still has a time dimension.
    """
    if not isinstance(da, xr.DataArray) or "band" not in da.coords:
        raise InputTypeError("true_color takes a (band, y, x) DataArray with a band coordinate (a composite), not "
                             f"{type(da).__name__}.")
    c, th = _checks.number("c", c, 0, lo_open=True), _checks.number("th", th, 0, 1)
    missing = {"red", "green", "blue"} - set(map(str, np.atleast_1d(da["band"].values)))
    if missing:
        raise InputError(f"true_color needs bands red, green and blue; missing {sorted(missing)}.")
    if set(da.dims) - {"band", "y", "x"}:
        raise InputError(f"true_color takes one 2-D composite (band, y, x); got dims {da.dims}. Reduce time first.")
    r, g, b = (da.sel(band=name) for name in ("red", "green", "blue"))
    # xrspatial's `nodata` marks pixels <= nodata transparent; reflectance can be ~0, so use -inf
    # and let NaN alone mark no data.
    return _xrs_true_color(r, g, b, nodata=-np.inf, c=c, th=th)
