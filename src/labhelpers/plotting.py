"""Figures a reader can read: every panel titled, every axis labelled with units, one colour scale.

Comparing panels (monthly NDVI, say) only works if they share one colour scale: with a scale per
panel, the same colour means a different value in each. :func:`panels` draws one panel per
value of a dimension with a single shared, labelled colour bar. :func:`rgb_panels` does the
same for natural-colour composites and :func:`rgb_image` draws one composite with the *same*
documented stretch (reflectance 0 to ``max_reflectance`` mapped to dark to full brightness, the
same for red, green and blue). :func:`image` shows a ready-made RGBA image (such as
``xrspatial``'s ``true_color``, which stretches each band between its own minimum and maximum)
and :func:`time_series` draws lines over dates, with a style per line so that lines lying on
top of each other stay visible.

Alt text is not drawn into a figure: the notebooks put it in the cell's metadata, as MyST-NB
reads it (``{"mystnb": {"image": {"alt": "..."}}}``).
"""

from __future__ import annotations

import calendar
import datetime

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

__all__ = ["DEFAULT_MAX_REFLECTANCE", "stretch", "panels", "rgb_panels", "rgb_image", "image", "time_series"]

_AXES = {"x": "easting (m)", "y": "northing (m)"}

#: Reflectance drawn at full brightness in natural-colour figures: 0.3 keeps fields, forest and
#: water distinguishable; brighter surfaces (snow, cloud) saturate to white, as they look.
DEFAULT_MAX_REFLECTANCE = 0.3


def stretch(da: xr.DataArray, max_reflectance: float = DEFAULT_MAX_REFLECTANCE) -> xr.DataArray:
    """Red, green and blue reflectance as display values 0-1: ``reflectance / max_reflectance``, clipped.

    One fixed, linear stretch for all three bands and every image, so a colour always means the
    same reflectance and the balance between red, green and blue is kept.

    Parameters
    ----------
    da : xarray.DataArray
        Reflectance (0-1) with a ``band`` coordinate holding ``red``, ``green`` and ``blue``.
    max_reflectance : float, default 0.3
        The reflectance drawn at full brightness.

    Returns
    -------
    xarray.DataArray
        The bands red, green, blue (in that order), values in [0, 1]; NaN stays NaN.

    Raises
    ------
    ValueError
        When a colour band is missing or ``max_reflectance`` is not positive.
    """
    if not max_reflectance > 0:
        raise ValueError(f"max_reflectance must be > 0 (e.g. {DEFAULT_MAX_REFLECTANCE}); got {max_reflectance}.")
    missing = {"red", "green", "blue"} - {str(b) for b in da["band"].values}
    if missing:
        raise ValueError(f"A natural-colour figure needs bands red, green and blue; missing {sorted(missing)}.")
    return (da.sel(band=["red", "green", "blue"]) / max_reflectance).clip(0, 1)


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
        Pixels without data are hatched grey; all-NaN panels (months with no clear scene) say so.
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
        _hatch_no_data(ax)
        image = ax.imshow(panel.values, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest",
                          extent=_extent(panel), origin=_origin(panel))
        ax.set_title(_panel_title(dim, value), fontsize=9)
        if not np.isfinite(panel.values).any():
            ax.text(0.5, 0.5, "no clear data", transform=ax.transAxes, ha="center", va="center")
        _label_axes(ax, da)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    fig.colorbar(image, ax=axes, shrink=0.8, label=cbar_label)
    fig.suptitle(title)
    return fig


def _origin(da: xr.DataArray) -> str:
    """imshow's origin: row 0 is the top when y decreases down the rows (north-up rasters)."""
    y = da["y"].values
    return "lower" if y.size > 1 and y[0] < y[-1] else "upper"


def _extent(da: xr.DataArray):
    x, y = da["x"].values, da["y"].values
    dx = abs(x[1] - x[0]) if x.size > 1 else 1.0
    dy = abs(y[1] - y[0]) if y.size > 1 else 1.0
    return (x.min() - dx / 2, x.max() + dx / 2, y.min() - dy / 2, y.max() + dy / 2)


def rgb_panels(da: xr.DataArray, dim: str, title: str, max_reflectance: float = DEFAULT_MAX_REFLECTANCE,
               ncols: int = 4):
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
        Pixels without data are hatched grey; a panel with none says "no clear data".
    """
    da = da.compute() if hasattr(da.data, "dask") else da
    rgb = stretch(da, max_reflectance)
    values = list(rgb[dim].values)
    ncols = min(ncols, len(values))
    nrows = int(np.ceil(len(values) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.0 * nrows), squeeze=False, constrained_layout=True)
    for ax, value in zip(axes.flat, values):
        panel = rgb.sel({dim: value})
        _hatch_no_data(ax)
        ax.imshow(_rgba(panel), extent=_extent(panel), origin=_origin(panel), interpolation="nearest")
        ax.set_title(_panel_title(dim, value), fontsize=9)
        if bool(da.sel({dim: value}).isnull().all()):
            ax.text(0.5, 0.5, "no clear data", transform=ax.transAxes, ha="center", va="center")
        _label_axes(ax, da)
    for ax in axes.flat[len(values):]:
        ax.set_visible(False)
    fig.suptitle(f"{title}\n(red, green, blue; reflectance 0-{max_reflectance} stretched to full brightness; "
                 "hatched: no data)")
    return fig


def rgb_image(da: xr.DataArray, title: str, max_reflectance: float = DEFAULT_MAX_REFLECTANCE, ax=None):
    """One natural-colour composite ``(band, y, x)`` with the same fixed stretch as :func:`rgb_panels`.

    Parameters
    ----------
    da : xarray.DataArray
        Reflectance (0-1) with bands red, green and blue, e.g. a median composite.
    title : str
    max_reflectance : float, default 0.3
        The reflectance drawn at full brightness; the title says which.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes (e.g. one of two side by side); default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        Pixels without data (NaN) are hatched grey.

    Raises
    ------
    ValueError
        When a colour band is missing or ``da`` has more than ``(band, y, x)``.
    """
    da = da.compute() if hasattr(da.data, "dask") else da
    if set(da.dims) != {"band", "y", "x"}:
        raise ValueError(f"rgb_image draws one composite (band, y, x); got dims {da.dims}. Reduce time first.")
    rgb = stretch(da, max_reflectance)
    fig, ax = _figure_and_axes(ax, (6, 5.5))
    _hatch_no_data(ax)
    ax.imshow(_rgba(rgb), extent=_extent(rgb), origin=_origin(rgb), interpolation="nearest")
    ax.set_title(f"{title}\n(red, green, blue; reflectance 0-{max_reflectance} stretched to full brightness)",
                 fontsize=10)
    _label_axes(ax, da)
    return fig


def _rgba(rgb: xr.DataArray) -> np.ndarray:
    """``(y, x, 4)`` floats from stretched ``(band, y, x)``: pixels without data get alpha 0."""
    values = rgb.transpose("y", "x", "band").values
    alpha = np.isfinite(values).all(axis=-1, keepdims=True).astype(values.dtype)
    return np.concatenate([np.nan_to_num(values, nan=0.0), alpha], axis=-1)


def _hatch_no_data(ax) -> None:
    # transparent (no-data) pixels show the axes background: hatched grey, unlike any colour
    ax.set_facecolor("0.85")
    ax.patch.set_hatch("////")
    ax.patch.set_edgecolor("0.6")


def _figure_and_axes(ax, figsize):
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, constrained_layout=True)
        return fig, ax
    return ax.figure, ax


def image(rgba: xr.DataArray, title: str, ax=None):
    """Show one RGBA image ``(y, x, band)`` such as :func:`labhelpers.composites.true_color` returns.

    Parameters
    ----------
    rgba : xarray.DataArray
    title : str
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rgba = rgba.compute() if hasattr(rgba.data, "dask") else rgba
    fig, ax = _figure_and_axes(ax, (6, 5.5))
    ax.imshow(rgba.values, extent=_extent(rgba), origin=_origin(rgba), interpolation="nearest")
    ax.set_title(title, fontsize=10)
    _label_axes(ax, rgba)
    return fig


def time_series(x, ys: dict, title: str, xlabel: str, ylabel: str, marker: str = "o", styles: dict | None = None,
                ax=None):
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
        The default marker of every line.
    styles : dict of str to dict, optional
        Matplotlib keyword arguments per label (``{"route B": {"linestyle": "none", "marker": "x"}}``),
        so that a line lying exactly on another stays visible. Say in the text when lines coincide.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        When ``styles`` names a line that is not in ``ys``.
    """
    from matplotlib.ticker import MaxNLocator

    styles = styles or {}
    unknown = set(styles) - set(ys)
    if unknown:
        raise ValueError(f"styles names lines {sorted(unknown)} that are not in ys {list(ys)}.")
    fig, ax = _figure_and_axes(ax, (9, 3.5))
    for label, y in ys.items():
        kwargs = {"marker": marker, "markersize": 4, **styles.get(label, {})}
        ax.plot(x, y, label=label, **kwargs)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if len(ys) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    if np.issubdtype(np.asarray(x).dtype, np.integer):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    elif _are_dates(x):
        fig.autofmt_xdate()
    return fig


def _are_dates(x) -> bool:
    """Whether ``x`` holds dates: datetime64, or Python/pandas date objects (e.g. a list of Timestamps)."""
    values = np.asarray(x)
    if np.issubdtype(values.dtype, np.datetime64):
        return True
    return values.dtype == object and values.size > 0 and isinstance(values.flat[0], (datetime.date, np.datetime64))
