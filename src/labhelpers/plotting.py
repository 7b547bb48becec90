"""Figures a reader can read: every panel titled, every axis labelled with units, one colour scale.

Comparing panels (monthly NDVI, say) only works if they share one colour scale: with a scale per
panel, the same colour means a different value in each. :func:`panels` draws one panel per
value of a dimension with a single shared, labelled colour bar. :func:`rgb_panels` does the
same for natural-colour composites, :func:`image` shows one RGBA image and :func:`time_series`
draws lines over dates.
"""

from __future__ import annotations

import calendar

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

__all__ = ["panels", "rgb_panels", "image", "time_series"]

_AXES = {"x": "easting (m)", "y": "northing (m)"}


def _panel_title(dim: str, value) -> str:
    if dim == "month":
        return calendar.month_name[int(value)]
    if np.issubdtype(np.asarray(value).dtype, np.datetime64):
        return str(np.datetime_as_string(np.asarray(value), unit="D"))
    return f"{dim} = {value}"


def _label_axes(ax, da: xr.DataArray) -> None:
    epsg = da.attrs.get("epsg")
    suffix = f", EPSG:{epsg}" if epsg else ""
    ax.set_xlabel(_AXES["x"] + suffix)
    ax.set_ylabel(_AXES["y"])
    ax.set_aspect("equal")
    ax.ticklabel_format(style="plain", useOffset=False)
    ax.tick_params(labelsize=7)


def panels(da: xr.DataArray, dim: str, title: str, cbar_label: str, cmap: str = "RdYlGn",
           vmin: float | None = None, vmax: float | None = None, ncols: int = 4):
    """One map per value of ``dim`` (e.g. month) with one shared colour bar.

    Parameters
    ----------
    da : xarray.DataArray
        ``(dim, y, x)``, e.g. monthly NDVI.
    dim : str
        The dimension with one panel per value.
    title : str
        The figure title.
    cbar_label : str
        The colour bar's label, with units.
    cmap : str, default "RdYlGn"
    vmin, vmax : float, optional
        Default: the 2nd and 98th percentiles over *all* panels, so a colour means the same
        value everywhere.
    ncols : int, default 4

    Returns
    -------
    matplotlib.figure.Figure
        All-NaN panels (months with no clear scene) are drawn empty and say so.
    """
    da = da.compute() if hasattr(da.data, "dask") else da
    n = da.sizes[dim]
    if vmin is None or vmax is None:
        finite = da.values[np.isfinite(da.values)]
        lo, hi = (np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0))
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.0 * nrows), squeeze=False,
                             constrained_layout=True)
    image = None
    for ax, value in zip(axes.flat, da[dim].values):
        panel = da.sel({dim: value})
        image = ax.imshow(panel.values, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest",
                          extent=_extent(panel))
        ax.set_title(_panel_title(dim, value), fontsize=9)
        if not np.isfinite(panel.values).any():
            ax.text(0.5, 0.5, "no clear data", transform=ax.transAxes, ha="center", va="center")
        _label_axes(ax, da)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.colorbar(image, ax=axes, shrink=0.8, label=cbar_label)
    fig.suptitle(title)
    return fig


def _extent(da: xr.DataArray):
    x, y = da["x"].values, da["y"].values
    dx = abs(x[1] - x[0]) if x.size > 1 else 1.0
    dy = abs(y[1] - y[0]) if y.size > 1 else 1.0
    return (x.min() - dx / 2, x.max() + dx / 2, y.min() - dy / 2, y.max() + dy / 2)


def rgb_panels(da: xr.DataArray, dim: str, title: str, max_reflectance: float = 0.3, ncols: int = 4):
    """Natural-colour maps, one per value of ``dim``, all with the *same* stretch.

    Red, green and blue reflectance are divided by ``max_reflectance`` and clipped to [0, 1], so a
    colour means the same reflectance in every panel (a per-image min-max stretch, as
    ``xrspatial.true_color`` does, would make a snowy January and a green July look alike in
    brightness).

    Parameters
    ----------
    da : xarray.DataArray
        ``(dim, band, y, x)`` reflectance with bands red, green and blue.
    dim : str
    title : str
    max_reflectance : float, default 0.3
        The reflectance drawn at full brightness.
    ncols : int, default 4

    Returns
    -------
    matplotlib.figure.Figure
        NaN pixels are drawn white.
    """
    da = da.compute() if hasattr(da.data, "dask") else da
    rgb = (da.sel(band=["red", "green", "blue"]) / max_reflectance).clip(0, 1).fillna(1.0)
    values = list(rgb[dim].values)
    ncols = min(ncols, len(values))
    nrows = int(np.ceil(len(values) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.0 * nrows), squeeze=False, constrained_layout=True)
    for ax, value in zip(axes.flat, values):
        panel = rgb.sel({dim: value})
        ax.imshow(panel.transpose("y", "x", "band").values, extent=_extent(panel), interpolation="nearest")
        ax.set_title(_panel_title(dim, value), fontsize=9)
        if bool(da.sel({dim: value}).isnull().all()):
            ax.text(0.5, 0.5, "no clear data", transform=ax.transAxes, ha="center", va="center")
        _label_axes(ax, da)
    for ax in axes.flat[len(values):]:
        ax.set_visible(False)
    fig.suptitle(f"{title} (red, green, blue; reflectance 0-{max_reflectance} stretched to full brightness)")
    return fig


def image(rgba: xr.DataArray, title: str):
    """Show one RGBA image ``(y, x, band)`` such as :func:`labhelpers.composites.true_color` returns.

    Parameters
    ----------
    rgba : xarray.DataArray
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    rgba = rgba.compute() if hasattr(rgba.data, "dask") else rgba
    fig, ax = plt.subplots(figsize=(6, 5.5), constrained_layout=True)
    ax.imshow(rgba.values, extent=_extent(rgba), interpolation="nearest")
    ax.set_title(title)
    _label_axes(ax, rgba)
    return fig


def time_series(x, ys: dict, title: str, xlabel: str, ylabel: str, marker: str = "o"):
    """Lines ``{label: values}`` over ``x`` (dates or numbers), titled and labelled, with a legend.

    Parameters
    ----------
    x : array_like
        Dates or numbers.
    ys : dict of str to array_like
        One line per entry.
    title, xlabel, ylabel : str
        Axis labels should carry units.
    marker : str, default "o"

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(9, 3.5), constrained_layout=True)
    for label, y in ys.items():
        ax.plot(x, y, marker=marker, markersize=4, label=label)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(ys) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if np.issubdtype(np.asarray(x).dtype, np.integer):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    elif np.issubdtype(np.asarray(x).dtype, np.datetime64):
        fig.autofmt_xdate()
    return fig
