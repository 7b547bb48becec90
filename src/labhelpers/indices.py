"""Spectral indices: normalised differences of two bands.

``(a - b) / (a + b)`` is bounded in [-1, 1] for non-negative reflectances and cancels overall
brightness (sun angle, slope), which is why it is used so widely:

* NDVI = (NIR - red) / (NIR + red): green leaves reflect NIR strongly and absorb red, so dense
  vegetation is 0.6-0.9, bare soil 0.1-0.2, water below 0.
* NDSI = (green - SWIR) / (green + SWIR): snow is bright in green but dark at 1.6 um, so snow is
  above ~0.4; clouds are bright in both and stay low, which is how snow is told from cloud.

Where both bands are 0 the ratio is 0/0: we return NaN (unknown), never inf.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["normalized_difference", "ndvi", "ndsi"]


def normalized_difference(a, b):
    """``(a - b) / (a + b)``, NaN where ``a + b == 0``.

    Parameters
    ----------
    a, b : xarray.DataArray or array_like
        Reflectances of the same shape.

    Returns
    -------
    xarray.DataArray or numpy.ndarray
        Between -1 and 1 for non-negative inputs; NaN, never inf, where both are 0.
    """
    total = a + b
    if isinstance(total, xr.DataArray):
        return xr.where(total != 0, (a - b) / total.where(total != 0), np.nan)
    total = np.asarray(total, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (np.asarray(a, dtype="float64") - np.asarray(b, dtype="float64")) / total
    return np.where(total != 0, out, np.nan)


def _band(da: xr.DataArray, name: str) -> xr.DataArray:
    bands = [str(b) for b in da["band"].values]
    if name not in bands:
        raise ValueError(f"Band {name!r} is missing; the array has bands {bands}. Stack the asset that provides it.")
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
    ValueError
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
    ValueError
        When a band is missing.
    """
    out = normalized_difference(_band(da, "green"), _band(da, "swir16"))
    out.name = "ndsi"
    out.attrs = {"long_name": "NDSI", "units": "1", "formula": "(green - swir16) / (green + swir16)"}
    return out
