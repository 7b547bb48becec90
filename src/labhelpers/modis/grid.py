"""The MODIS sinusoidal grid: tiles, their bounds, NASA's tile table, and lon/lat boxes on it.

MODIS land products are cut into tiles of the global *sinusoidal* grid: 36 columns (``h`` 0-35,
west to east) by 18 rows (``v`` 0-17, north to south), each 1111950.5197 m square and, at 500 m,
2400 x 2400 pixels of 463.3127 m. The projection keeps areas true at the price of shearing the
map away from the central meridian, so a tile is a parallelogram in lon/lat, not a box.
"""

from __future__ import annotations

import functools
import math
import os
import urllib.error
import urllib.request
import warnings
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from labhelpers import _checks
from labhelpers._net import reason as _reason
from labhelpers._net import redact as _safe
from labhelpers.errors import InputError, InputTypeError, MissingFileError, SuspiciousInputWarning

__all__ = [
    "EARTH_RADIUS", "X0", "Y0", "TILE_SIZE", "N_H", "N_V", "PIXELS_500M", "PIXEL_SIZE_500M", "SINUSOIDAL_WKT2",
    "SN_BOUND_FILE", "tile_extents", "lonlat_to_sinusoidal", "sinusoidal_to_lonlat", "tile_bounds", "tile_of",
    "clip_lonlat",
]

EARTH_RADIUS = 6371007.181  # m, the sphere MODIS uses (not WGS84)
X0 = -20015109.354  # m, west edge of the grid (-pi * R)
Y0 = 10007554.677  # m, north edge of the grid (pi/2 * R)
TILE_SIZE = 2 * X0 / -36  # 1111950.5197 m: the grid is 36 tiles wide
N_H, N_V = 36, 18
PIXELS_500M = 2400
PIXEL_SIZE_500M = TILE_SIZE / PIXELS_500M  # 463.3127165 m

#: The MODIS sinusoidal CRS exactly as MPC's modis-43A4-061 items carry it (``proj:wkt2``). It has
#: no EPSG code: its sphere (R = 6371007.181 m) is not in the EPSG registry, so items set
#: ``proj:epsg`` to null. (EPSG:6933 and ESRI:54008 are *not* the same grid.)
SINUSOIDAL_WKT2 = (
    'PROJCRS["unnamed",BASEGEOGCRS["Unknown datum based upon the custom spheroid",DATUM["Not specified '
    '(based on custom spheroid)",ELLIPSOID["Custom spheroid",6371007.181,0,LENGTHUNIT["metre",1,ID["EPSG",'
    '9001]]]],PRIMEM["Greenwich",0,ANGLEUNIT["degree",0.0174532925199433,ID["EPSG",9122]]]],CONVERSION['
    '"unnamed",METHOD["Sinusoidal"],PARAMETER["Longitude of natural origin",0,ANGLEUNIT["degree",'
    '0.0174532925199433],ID["EPSG",8802]],PARAMETER["False easting",0,LENGTHUNIT["metre",1],ID["EPSG",8806]],'
    'PARAMETER["False northing",0,LENGTHUNIT["metre",1],ID["EPSG",8807]]],CS[Cartesian,2],AXIS["easting",'
    'east,ORDER[1],LENGTHUNIT["metre",1,ID["EPSG",9001]]],AXIS["northing",north,ORDER[2],LENGTHUNIT["metre",'
    '1,ID["EPSG",9001]]]]'
)


SN_BOUND_FILE = "sn_bound_10deg.txt"
_SN_BOUND_HEADER_LINES = 7


def tile_extents(path_or_url: str | os.PathLike | None = None) -> pd.DataFrame:
    """NASA's table of tile bounding boxes, ``sn_bound_10deg.txt``, as a DataFrame.

    One row per tile of the 36 x 18 grid (648 rows): ``iv, ih, lon_min, lon_max, lat_min,
    lat_max`` and ``fill``. Tiles that lie wholly off the projected globe (the corners of the
    grid, beyond the curved edge of the sinusoidal map) have the fill values -999/-99; they are
    kept, flagged ``fill=True``, and must never be matched.

    The file has 7 header lines and no footer. (Code that copies ``skip_footer=3`` from older
    notebooks silently drops the last three rows; this reader keeps every data row and checks
    there are 648.)

    ``path_or_url``: a local file, an ``http(s)`` URL (e.g. the copy at the root of the
    ``modis-061`` container, as the original lab read it), or None for the copy shipped with
    labhelpers (``labhelpers/data/sn_bound_10deg.txt``; public-domain NASA MODLAND file,
    https://modis-land.gsfc.nasa.gov/pdf/sn_bound_10deg.txt), which needs no network.

    Parameters
    ----------
    path_or_url : str or path, optional
        See above; default the shipped copy.

    Returns
    -------
    pandas.DataFrame
        648 rows: ``iv, ih, lon_min, lon_max, lat_min, lat_max, fill``.

    Raises
    ------
    InputError
        When the text is not NASA's 10-degree table (MissingFileError: no such file).
    DownloadError
        When a URL cannot be read (a ``ConnectionError``).
    """
    text = _read_text(path_or_url)
    rows = []
    for line in text.splitlines()[_SN_BOUND_HEADER_LINES:]:
        fields = line.split()
        if not fields:
            continue
        try:
            rows.append([float(f) for f in fields])
        except ValueError:
            raise InputError(
                f"{_safe(path_or_url)} is not NASA's sn_bound_10deg.txt: unexpected line {line[:80]!r}"
            ) from None
    if len(rows) != N_H * N_V or any(len(r) != 6 for r in rows):
        raise InputError(
            f"{_safe(path_or_url)} has {len(rows)} tile rows; sn_bound_10deg.txt has {N_H * N_V} "
            "(36 x 18 tiles, six columns each). Is it the 10-degree sinusoidal file?"
        )
    df = pd.DataFrame(rows, columns=["iv", "ih", "lon_min", "lon_max", "lat_min", "lat_max"])
    df[["iv", "ih"]] = df[["iv", "ih"]].astype(int)
    df["fill"] = (df["lon_min"] <= -999) | (df["lat_min"] <= -99)
    return df


def _read_text(path_or_url) -> str:
    if path_or_url is None:
        return resources.files("labhelpers").joinpath("data", SN_BOUND_FILE).read_text()
    s = str(path_or_url)
    if s.startswith(("http://", "https://")):
        from labhelpers.modis.blobs import _fetch

        try:
            return _fetch(s).decode()
        except UnicodeDecodeError:
            raise InputError(f"{_safe(s)} is not a text file: is it sn_bound_10deg.txt?") from None
    try:
        return Path(s).read_text()
    except FileNotFoundError:
        raise MissingFileError(f"No file {s}: give the path or URL of sn_bound_10deg.txt, or nothing for the copy "
                               "shipped with labhelpers.") from None
    except UnicodeDecodeError:
        raise InputError(f"{s} is not a text file: is it sn_bound_10deg.txt?") from None


@functools.lru_cache(maxsize=1)
def _shipped_extents() -> pd.DataFrame:
    return tile_extents()


def lonlat_to_sinusoidal(lat, lon):
    """``(x, y)`` in metres on the MODIS sinusoidal grid: ``x = R * lon * cos(lat)``, ``y = R * lat``.

    That one line is the whole projection (angles in radians); it is why tiles are sheared: at
    60 N a metre of ``x`` covers twice the longitude it covers at the equator.

    Parameters
    ----------
    lat, lon : float or array_like
        Degrees (note the order: latitude first, as the lab writes points).

    Returns
    -------
    (x, y) : float or numpy.ndarray
        Metres.
    """
    _check_lonlat(lat, lon)
    phi, lam = np.radians(lat), np.radians(lon)
    return EARTH_RADIUS * lam * np.cos(phi), EARTH_RADIUS * phi


def _check_lonlat(lat, lon) -> None:
    try:
        la, lo = np.asarray(lat, dtype="float64"), np.asarray(lon, dtype="float64")
    except (TypeError, ValueError):
        raise InputTypeError(f"lat and lon must be numbers in degrees, not {lat!r} and {lon!r}.") from None
    if not (np.all(np.abs(la) <= 90) and np.all(np.abs(lo) <= 180)):
        hint = " (did you swap them? the order is lat, lon)" if np.all(np.abs(la) <= 180) and np.all(np.abs(lo) <= 90) else ""
        raise InputError(f"lat={lat}, lon={lon} is not on Earth: lat must be in [-90, 90] and lon in [-180, 180]{hint}.")


def sinusoidal_to_lonlat(x, y):
    """``(lon, lat)`` in degrees of sinusoidal ``x, y``; points off the projected globe give |lon| > 180.

    Parameters
    ----------
    x, y : float or array_like
        Sinusoidal metres.

    Returns
    -------
    (lon, lat) : numpy.ndarray
        Degrees.
    """
    phi = np.asarray(y, dtype="float64") / EARTH_RADIUS
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.asarray(x, dtype="float64") / (EARTH_RADIUS * np.cos(phi))
    return np.degrees(lam), np.degrees(phi)


def tile_bounds(h: int, v: int) -> tuple[float, float, float, float]:
    """``(xmin, ymin, xmax, ymax)`` of tile ``h, v`` in sinusoidal metres (what StructMetadata stores).

    Parameters
    ----------
    h, v : int
        Tile column (0-35) and row (0-17).

    Returns
    -------
    tuple of 4 float

    Raises
    ------
    InputError
        For a tile off the grid or not whole numbers.
    """
    h, v = _check_tile(h, v)
    xmin = X0 + h * TILE_SIZE
    ymax = Y0 - v * TILE_SIZE
    return xmin, ymax - TILE_SIZE, xmin + TILE_SIZE, ymax


def _check_tile(h, v) -> tuple[int, int]:
    h = _checks.number("h", h, integer=True)
    v = _checks.number("v", v, integer=True)
    if not (0 <= h < N_H and 0 <= v < N_V):
        raise InputError(f"Tile h{h}v{v} is not on the grid: h is 0-35 and v is 0-17 (tile_of(lat, lon) finds it).")
    return h, v


def _edge_candidates(f: float, i: int, n: int) -> list[int]:
    """Tile index ``i`` and, when ``f`` (in tiles) is within 1 cm of an edge, the tiles on both sides.

    1 cm, not 0: the grid's X0 and Y0 are rounded to the millimetre, so the projection of a point
    exactly on a 10-degree line can land a millimetre or two beside the edge the files use.
    """
    k = round(f)
    if abs(f - k) * TILE_SIZE >= 1e-2:
        return [i]
    return [j for j in (k, k - 1) if 0 <= j < n]  # east / south first: the edge is that tile's first pixel


def tile_of(lat: float, lon: float, extents: pd.DataFrame | None = None) -> tuple[int, int]:
    """The ``(h, v)`` tile that contains ``lat, lon`` (degrees), e.g. Chicago ``(41.88, -87.63) -> (11, 4)``.

    The truth is the projection: ``x, y = lonlat_to_sinusoidal(lat, lon)``, then
    ``h = floor((x - X0) / TILE_SIZE)`` and ``v = floor((Y0 - y) / TILE_SIZE)``. Searching
    ``sn_bound_10deg.txt`` for a row whose lon/lat box contains the point (the original lab's
    method) is *not* reliable: the boxes are bounding boxes of sheared tiles, so neighbouring
    boxes overlap and a point near a tile edge matches two rows (the first one found may be wrong),
    and a loop that finds nothing runs off the end of the table. The file is used here only to
    check the answer: a tile it marks as fill has no MODIS data, and we say so.

    Points on a tile edge belong to the tile east / south of it (the edge is that tile's first
    pixel), except on the grid's own borders and where that tile is fill. ``extents``: a table from
    :func:`tile_extents` (default: the shipped copy).

    Raises InputError for latitudes outside [-90, 90], longitudes outside [-180, 180], and
    points whose tile is a fill tile; warns when the point is within 10 degrees of a pole and
    swapping lat and lon would make sense (``tile_of(-87.62, 41.88)`` is Chicago swapped).

    Parameters
    ----------
    lat, lon : float
        Degrees, latitude first.
    extents : pandas.DataFrame, optional
        A table from :func:`tile_extents` (default: the shipped copy).

    Returns
    -------
    (h, v) : tuple of int

    Raises
    ------
    InputError
        For a point off the Earth (a swapped lat/lon says so) or in a fill tile.

    Warns
    -----
    SuspiciousInputWarning
        Near a pole, when (lon, lat) order looks likely.
    """
    lat, lon = _checks.number("lat", lat), _checks.number("lon", lon)
    _check_lonlat(lat, lon)
    if abs(lat) > 80 and abs(lon) <= 80:
        warnings.warn(f"lat={lat}, lon={lon} is within {90 - abs(lat):.1f} degrees of a pole. If you meant lat={lon}, "
                      f"lon={lat}: the order is tile_of(lat, lon).", SuspiciousInputWarning, stacklevel=2)
    x, y = lonlat_to_sinusoidal(lat, lon)
    fh, fv = (x - X0) / TILE_SIZE, (Y0 - y) / TILE_SIZE
    # clamp: the grid's own edges (lon = 180, lat = +-90) round to just outside it
    h = min(max(int(math.floor(fh)), 0), N_H - 1)
    v = min(max(int(math.floor(fv)), 0), N_V - 1)
    # A point on an edge (within 1 cm) also touches the tile west / north of it. That matters where
    # the globe's curved edge passes through a tile corner (e.g. 60 S, 180 W): the tile to the
    # south-east only touches the globe there and is fill, its neighbour has the data.
    near_h = _edge_candidates(fh, h, N_H)
    near_v = _edge_candidates(fv, v, N_V)
    table = _shipped_extents() if extents is None else extents
    for th in near_h:
        for tv in near_v:
            row = table[(table["ih"] == th) & (table["iv"] == tv)]
            if row.empty:
                raise InputError(f"Tile h{th:02d}v{tv:02d} is missing from the tile table; is it sn_bound_10deg.txt?")
            if not bool(row["fill"].iloc[0]):
                return th, tv
    raise InputError(
        f"lat={lat}, lon={lon} projects to x={x:.1f} m, y={y:.1f} m, in tile h{h:02d}v{v:02d}, which "
        "sn_bound_10deg.txt marks as a fill tile (off the projected globe): MODIS has no data there."
    )



def clip_lonlat(ds, bbox: Sequence[float]):
    """The pixels of ``ds`` (sinusoidal x/y) whose centres lie in ``bbox = (lon_min, lat_min, lon_max, lat_max)``.

    A lon/lat box is not a rectangle in sinusoidal metres (the grid is sheared), so we cut the
    enclosing rectangle first and then set pixels outside the box to NaN.

    Parameters
    ----------
    ds : xarray.Dataset or xarray.DataArray
        On the sinusoidal grid (``x``/``y`` in metres), from :func:`open_hdf` or :func:`load_stac`.
    bbox : sequence of 4 float
        ``(lon_min, lat_min, lon_max, lat_max)`` in degrees.

    Returns
    -------
    same type as ``ds``
        Pixels outside the box are NaN.

    Raises
    ------
    InputError
        When ``bbox`` is not (lon_min, lat_min, lon_max, lat_max) in degrees with min < max, or
        no pixel centre of ``ds`` lies inside it (a box off this tile, or smaller than a pixel).
    """
    lon_min, lat_min, lon_max, lat_max = _checks.bbox(bbox)
    if not all(d in ds.dims for d in ("x", "y")):
        raise InputTypeError(f"ds must be on the sinusoidal grid (dims x and y), e.g. from open_hdf; it has {ds.dims}.")
    corners = [lonlat_to_sinusoidal(la, lo) for la in (lat_min, lat_max) for lo in (lon_min, lon_max)]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    ydesc = ds["y"].values[0] > ds["y"].values[-1]
    sub = ds.sel(x=slice(min(xs), max(xs)), y=slice(max(ys), min(ys)) if ydesc else slice(min(ys), max(ys)))
    lon, lat = sinusoidal_to_lonlat(*np.meshgrid(sub["x"].values, sub["y"].values))
    inside = (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)
    if not inside.any():
        x0, x1 = float(ds["x"].min()), float(ds["x"].max())
        y0, y1 = float(ds["y"].min()), float(ds["y"].max())
        lo, la = sinusoidal_to_lonlat([x0, x1, x0, x1], [y0, y0, y1, y1])
        span = (np.nanmin(lo), la.min(), np.nanmax(lo), la.max())
        swapped = span[0] <= lat_max and lat_min <= span[2] and span[1] <= lon_max and lon_min <= span[3]
        fix = "It looks like (lat_min, lon_min, lat_max, lon_max): give longitude first." if swapped else \
            "Give (lon_min, lat_min, lon_max, lat_max) inside it, and larger than a 463 m pixel."
        raise InputError(f"No pixel centre of this data lies in bbox {tuple(bbox)} (the data spans about lon "
                         f"{span[0]:.2f}..{span[2]:.2f}, lat {span[1]:.2f}..{span[3]:.2f}). {fix}")
    return sub.where(xr.DataArray(inside, dims=("y", "x"), coords={"y": sub["y"], "x": sub["x"]}))


