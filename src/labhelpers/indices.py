"""Spectral indices: normalised differences of two bands.

``(a - b) / (a + b)`` is bounded in [-1, 1] for non-negative reflectances and cancels overall
brightness (sun angle, slope), which is why it is used so widely:

* NDVI = (NIR - red) / (NIR + red): green leaves reflect NIR strongly and absorb red, so dense
  vegetation is 0.6-0.9, bare soil 0.1-0.2, water below 0.
* NDSI = (green - SWIR) / (green + SWIR): snow is bright in green but dark at 1.6 um, so snow is
  above ~0.4; clouds are bright in both and stay low, which is how snow is told from cloud.

Where both bands are 0 the ratio is 0/0: we return NaN (unknown), never inf. Integer inputs (raw
digital numbers, ``uint16``) are cast to float first: ``a - b`` in ``uint16`` wraps around below
zero (``100 - 300 == 65336``), which would give a wrong index without a word.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from labhelpers.errors import InputError, InputTypeError

__all__ = ["normalized_difference", "ndvi", "ndsi"]


def _as_float(name: str, x):
    """``x`` as floats: a DataArray stays one (cast when integer), anything else becomes a numpy array."""
    if isinstance(x, xr.DataArray):
        kind = x.dtype.kind
        if kind in "iub":
            return x.astype("float64")
        if kind != "f":
            raise InputTypeError(f"{name} holds {x.dtype} values; an index needs numbers (reflectances).")
        return x
    if isinstance(x, (str, bytes, dict, xr.Dataset)):
        raise InputTypeError(f"{name} must be an array of reflectances (a DataArray, numpy array or list of numbers), "
                             f"not {type(x).__name__}.")
    try:
        return np.asarray(x, dtype="float64")
    except (TypeError, ValueError):
        raise InputTypeError(f"{name} must hold numbers only; got {str(x)[:80]!r}.") from None


def normalized_difference(a, b):
    """``(a - b) / (a + b)``, NaN where ``a + b == 0``; integers are cast to float first.

    Parameters
    ----------
    a, b : xarray.DataArray or array_like
        Reflectances (or digital numbers) of the same shape; lists are read as arrays.

    Returns
    -------
    xarray.DataArray or numpy.ndarray
        Between -1 and 1 for non-negative inputs; NaN, never inf, where both are 0.

    Raises
    ------
    InputError
        When ``a`` and ``b`` have different shapes or coordinates (the result would silently
        hold only their overlap, or be broadcast), or hold something other than numbers.
    """
    a, b = _as_float("a", a), _as_float("b", b)
    if isinstance(a, xr.DataArray) and isinstance(b, xr.DataArray):
        try:
            xr.align(a, b, join="exact")
        except ValueError:
            raise InputError(f"a and b are on different grids (dims {a.dims} {dict(a.sizes)} vs {b.dims} "
                             f"{dict(b.sizes)}, or different coordinates): select both bands from the same stack.") \
                from None
    elif np.shape(a) != np.shape(b):
        raise InputError(f"a and b have different shapes {np.shape(a)} and {np.shape(b)}: give two bands of the same "
                         "pixels (numpy would broadcast them into a wrong answer).")
    total = a + b
    if isinstance(total, xr.DataArray):
        return xr.where(total != 0, (a - b) / total.where(total != 0), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / total
    return np.where(total != 0, out, np.nan)


def _band(da: xr.DataArray, name: str) -> xr.DataArray:
    if not isinstance(da, xr.DataArray) or "band" not in da.coords:
        hint = " For MODIS datasets use labhelpers.modis.ndvi." if isinstance(da, xr.Dataset) else ""
        raise InputTypeError(f"Expected the DataArray from labhelpers.sentinel2.stack (with a band coordinate), not "
                             f"{type(da).__name__}.{hint}")
    bands = [str(b) for b in np.atleast_1d(da["band"].values)]
    if name not in bands:
        raise InputError(f"Band {name!r} is missing; the array has bands {bands}. Stack the asset that provides it.")
    return da.sel(band=name, drop=True)


def ndvi(da: xr.DataArray) -> xr.DataArray:
    """NDVI = (nir - red) / (nir + red).

    Parameters
    ----------
    da : xarray.DataArray
        With a ``band`` coordinate of common names holding ``nir`` and ``red``.

    Returns
    -------
    xarray.DataArray
        Named ``ndvi``, without the band dimension.

    Raises
    ------
    InputError
        When a band is missing; the message lists the bands there are.
    """
    out = normalized_difference(_band(da, "nir"), _band(da, "red"))
    out.name = "ndvi"
    out.attrs = {"long_name": "NDVI", "units": "1", "formula": "(nir - red) / (nir + red)"}
    return out


def ndsi(da: xr.DataArray) -> xr.DataArray:
    """NDSI = (green - swir16) / (green + swir16).

    Parameters
    ----------
    da : xarray.DataArray
        With a ``band`` coordinate of common names holding ``green`` and ``swir16`` (asset B11).

    Returns
    -------
    xarray.DataArray
        Named ``ndsi``, without the band dimension.

    Raises
    ------
    InputError
        When a band is missing.
    """
    out = normalized_difference(_band(da, "green"), _band(da, "swir16"))
    out.name = "ndsi"
    out.attrs = {"long_name": "NDSI", "units": "1", "formula": "(green - swir16) / (green + swir16)"}
    return out
