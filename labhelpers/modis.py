"""MODIS on the Planetary Computer: find a tile, fetch its HDF4 file, read it, or use STAC instead.

MODIS land products are cut into tiles of the global *sinusoidal* grid: 36 columns (``h`` 0-35,
west to east) by 18 rows (``v`` 0-17, north to south), each 1111950.5197 m square and, at 500 m,
2400 x 2400 pixels of 463.3127 m. The sinusoidal projection keeps areas true (every pixel covers
the same ground) at the price of shearing the map away from the central meridian, so a tile is a
parallelogram in lon/lat, not a box. That is why "which tile is Chicago in?" needs care.

Two routes lead to the same numbers, and this module covers both:

**The blob route** (what the original lab does, and how the data is archived)::

    h, v = modis.tile_of(41.88, -87.63)                  # Chicago -> (11, 4)
    client = modis.container_client()                    # modiseuwest/modis-061
    names = modis.list_hdf(client, "MCD43A4", h, v, "2019135")
    path = modis.download(modis.blob_url(client, names[-1]), "modis_data")
    ds = modis.open_hdf(path)                            # Nadir_Reflectance_Band1..7, 0-1
    modis.ndvi(ds).mean().item()

or, for a whole period with missing days reported and skipped::

    series = modis.daily_means(pd.date_range("2019-05-15", "2019-06-09"), h, v, variable="ndvi")

**The STAC route** (what the Planetary Computer recommends today): per-band Cloud-Optimized
GeoTIFFs, found by STAC search and read lazily, only the pixels you ask for::

    items = modis.search_stac(labhelpers.stac.open_catalog(), h, v, "2019-05-15", "2019-06-09")
    ds = modis.load_stac(items, bbox=(-88.3, 41.7, -87.9, 42.0))
    modis.ndvi(ds).mean(["x", "y"])

Both routes give float32 reflectance (the stored int16 times 0.0001) with the fill value 32767
as NaN, on the sinusoidal grid (x/y in metres, CRS written with rioxarray).

Which world (the real MPC or the offline stand-in) is used is chosen by the settings profile
(:mod:`labhelpers.settings`), never by the code above.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import math
import os
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

# --- The sinusoidal grid (MODLAND). These are the numbers in every MODIS file's StructMetadata. ---
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

COLLECTION = "modis-43A4-061"
NBAR_BANDS = tuple(f"Nadir_Reflectance_Band{i}" for i in range(1, 8))
QA_BANDS = tuple(f"BRDF_Albedo_Band_Mandatory_Quality_Band{i}" for i in range(1, 8))
RED, NIR = "Nadir_Reflectance_Band1", "Nadir_Reflectance_Band2"
NBAR_SCALE = 0.0001
NBAR_FILL = 32767

SN_BOUND_FILE = "sn_bound_10deg.txt"
_SN_BOUND_HEADER_LINES = 7


# ------------------------------------------------------------------------------------------------
# Which tile?
# ------------------------------------------------------------------------------------------------
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
            raise ValueError(
                f"{_safe(path_or_url)} is not NASA's sn_bound_10deg.txt: unexpected line {line!r}"
            ) from None
    if len(rows) != N_H * N_V or any(len(r) != 6 for r in rows):
        raise ValueError(
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
        try:
            with urllib.request.urlopen(s, timeout=30) as resp:
                return resp.read().decode()
        except (urllib.error.URLError, OSError) as err:
            raise ConnectionError(f"Could not read {_safe(s)}: {_reason(err)}") from None
    return Path(s).read_text()


@functools.lru_cache(maxsize=1)
def _shipped_extents() -> pd.DataFrame:
    return tile_extents()


def lonlat_to_sinusoidal(lat, lon):
    """``(x, y)`` in metres on the MODIS sinusoidal grid: ``x = R * lon * cos(lat)``, ``y = R * lat``.

    That one line is the whole projection (angles in radians); it is why tiles are sheared: at
    60 N a metre of ``x`` covers twice the longitude it covers at the equator.
    """
    phi, lam = np.radians(lat), np.radians(lon)
    return EARTH_RADIUS * lam * np.cos(phi), EARTH_RADIUS * phi


def sinusoidal_to_lonlat(x, y):
    """``(lon, lat)`` in degrees of sinusoidal ``x, y``; points off the projected globe give |lon| > 180."""
    phi = np.asarray(y, dtype="float64") / EARTH_RADIUS
    with np.errstate(divide="ignore", invalid="ignore"):
        lam = np.asarray(x, dtype="float64") / (EARTH_RADIUS * np.cos(phi))
    return np.degrees(lam), np.degrees(phi)


def tile_bounds(h: int, v: int) -> tuple[float, float, float, float]:
    """``(xmin, ymin, xmax, ymax)`` of tile ``h, v`` in sinusoidal metres (what StructMetadata stores)."""
    _check_tile(h, v)
    xmin = X0 + h * TILE_SIZE
    ymax = Y0 - v * TILE_SIZE
    return xmin, ymax - TILE_SIZE, xmin + TILE_SIZE, ymax


def _check_tile(h, v):
    if not (0 <= int(h) < N_H and 0 <= int(v) < N_V):
        raise ValueError(f"Tile h{h}v{v} is not on the grid: h is 0-35 and v is 0-17.")


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

    Raises ValueError for latitudes outside [-90, 90], longitudes outside [-180, 180], and
    points whose tile is a fill tile.
    """
    lat, lon = float(lat), float(lon)
    if not (-90 <= lat <= 90) or not (-180 <= lon <= 180):
        hint = " (did you swap them? the order is lat, lon)" if abs(lat) <= 180 and abs(lon) <= 90 else ""
        raise ValueError(f"lat={lat}, lon={lon} is not on Earth: lat must be in [-90, 90] and lon in [-180, 180]{hint}.")
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
                raise ValueError(f"Tile h{th:02d}v{tv:02d} is missing from the tile table; is it sn_bound_10deg.txt?")
            if not bool(row["fill"].iloc[0]):
                return th, tv
    raise ValueError(
        f"lat={lat}, lon={lon} projects to x={x:.1f} m, y={y:.1f} m, in tile h{h:02d}v{v:02d}, which "
        "sn_bound_10deg.txt marks as a fill tile (off the projected globe): MODIS has no data there."
    )


# ------------------------------------------------------------------------------------------------
# Days
# ------------------------------------------------------------------------------------------------
def day_string(day) -> str:
    """MODIS names days ``YYYYDDD`` (year and day of year, 001-366): ``2019-05-15 -> "2019135"``.

    Accepts such a string, or anything pandas reads as a date (``"2019-05-15"``, ``datetime.date``,
    ``pd.Timestamp``).
    """
    s = str(day)
    if re.fullmatch(r"\d{7}", s):
        year, doy = int(s[:4]), int(s[4:])
        last = 366 if pd.Timestamp(year=year, month=12, day=31).dayofyear == 366 else 365
        if not 1 <= doy <= last:
            raise ValueError(f"Day {s!r}: day of year must be 001-{last} in {year}.")
        return s
    try:
        ts = pd.Timestamp(day)
    except (ValueError, TypeError):
        raise ValueError(f"Cannot read {day!r} as a day: give 'YYYYDDD' (e.g. '2019135') or a date.") from None
    return f"{ts.year}{ts.dayofyear:03d}"


def day_to_date(day) -> dt.date:
    """The calendar date of a ``YYYYDDD`` day (or of any date :func:`day_string` accepts)."""
    s = day_string(day)
    return dt.date(int(s[:4]), 1, 1) + dt.timedelta(days=int(s[4:]) - 1)


# ------------------------------------------------------------------------------------------------
# The blob route: list, download
# ------------------------------------------------------------------------------------------------
def container_client(profile: str | None = None, account: str = "modiseuwest", container: str = "modis-061"):
    """An ``azure.storage.blob.ContainerClient`` for a MODIS container of the profile's blob storage.

    On Azure (``*.blob.core.windows.net``) the Planetary Computer's containers need a short-lived
    read-only SAS token, which the ``planetary_computer`` package fetches for you (no account
    needed). The token is a secret: it is passed as the client's credential and never printed.
    The offline stand-in's containers are public, so no token is asked for there.
    """
    from azure.storage.blob import ContainerClient

    from labhelpers.settings import get_settings

    account_url = get_settings(profile).blob_account_url(account)
    credential = None
    if urllib.parse.urlsplit(account_url).hostname.endswith(".blob.core.windows.net"):
        import planetary_computer

        credential = planetary_computer.sas.get_token(account, container).token
    return ContainerClient(account_url=account_url, container_name=container, credential=credential)


def list_hdf(container_client, product: str, h: int, v: int, day) -> list[str]:
    """Blob names of ``product``'s HDF4 files for tile ``h, v`` on ``day`` (``"YYYYDDD"`` or a date).

    MPC lays them out as ``<product>/<hh>/<vv>/<YYYYDDD>/<product>.A<YYYYDDD>.h<hh>v<vv>.061.<prod>.hdf``
    (``<prod>`` is when the file was produced), so one listing of that folder finds them. The
    result is sorted, so when a day was reprocessed the newest file is last. An empty list means
    the day is missing from the archive; this happens (MODIS has gaps), so check for it.
    """
    _check_tile(h, v)
    prefix = f"{product}/{int(h):02d}/{int(v):02d}/{day_string(day)}/"
    names = (b.name for b in container_client.list_blobs(name_starts_with=prefix))
    return sorted(n for n in names if n.endswith(".hdf"))


def blob_url(container_client, name: str) -> str:
    """The download URL of blob ``name`` (with the client's SAS token when it has one: keep it private)."""
    return container_client.get_blob_client(name).url


def _safe(url) -> str:
    """``url`` without its query string: SAS tokens live there and must not reach logs or errors."""
    s = str(url)
    parts = urllib.parse.urlsplit(s)
    if parts.scheme in ("http", "https") and parts.query:
        return urllib.parse.urlunsplit(parts._replace(query="<redacted>"))
    return s


def _reason(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    if isinstance(err, urllib.error.URLError):
        return str(err.reason)
    return f"{type(err).__name__}: {err}"


def download(url: str, dest: str | os.PathLike, progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` with ``wget``; return the file's path.

    ``dest`` is a folder (created if needed; the file keeps the URL's name), or a file path when
    it has the same extension as the URL's file (``"data/chicago.hdf"`` for an ``.hdf`` URL).

    * **Cached**: if the file is already there, nothing is downloaded. That is safe to trust
      because of the next point.
    * **Atomic**: bytes go to a hidden temporary file in the same folder, which is checked
      against the server's Content-Length and only then renamed to the final name
      (``os.replace``: on one file system a rename is all-or-nothing). A download that is
      interrupted (error, Ctrl-C, a killed kernel) never leaves a file under the final name, so
      the cache can never serve half a file. Temporary files of a crashed process are named
      ``.<name>.*.part`` and are safe to delete.
    * ``progress``: wget's progress bar.

    The URL's query string (where SAS tokens live) is never printed or put in an error message.
    Raises ConnectionError when the server cannot be reached or refuses the file.
    """
    import wget

    name = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    if not name:
        raise ValueError(f"Cannot tell a file name from {_safe(url)}: pass dest as a file path.")
    dest = Path(dest)
    is_file = not dest.is_dir() and dest.suffix.lower() == Path(name).suffix.lower() != ""
    target = dest if is_file else dest / name
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    os.unlink(part)  # wget must not see an existing file (it would pick another name)
    try:
        # wget stages into its own temp file named after ``out`` (same folder, as ``out`` is absolute).
        wget.download(url, out=str(Path(part).resolve()), bar=wget.bar_adaptive if progress else None)
        if progress:
            print()
        os.replace(part, target)
    except (urllib.error.URLError, urllib.error.ContentTooShortError, OSError) as err:
        hint = (
            "Check that the blob server is up (offline: `labhelpers offline up`) and the file exists; "
            "on Azure an HTTP 403 usually means the SAS token expired: make a new container_client()."
        )
        raise ConnectionError(f"Download of {_safe(url)} failed ({_reason(err)}). {hint}") from None
    finally:
        for leftover in target.parent.glob(f"{Path(part).name}*"):
            leftover.unlink(missing_ok=True)
    return target


# ------------------------------------------------------------------------------------------------
# Reading HDF4-EOS
# ------------------------------------------------------------------------------------------------
def gdal_has_hdf4() -> bool:
    """Whether rasterio's GDAL can read HDF4 (PyPI wheels cannot; conda-forge's can)."""
    import rasterio

    with rasterio.Env() as env:
        return "HDF4" in env.drivers()


def _odl_value(text: str, key: str) -> str:
    m = re.search(rf"^\s*{key}=(.*)$", text, flags=re.MULTILINE)
    if not m:
        raise ValueError(f"StructMetadata has no {key}")
    return m.group(1).strip().strip('"')


def parse_struct_metadata(text: str) -> dict[str, dict]:
    """The grids of an HDF-EOS ``StructMetadata.0`` text: ``{grid name: {shape, corners, fields}}``.

    HDF4 itself knows nothing about map projections; HDF-EOS adds a text attribute in ODL
    (``GROUP=... END_GROUP``) that describes each grid: its size, the *outer corners* of the
    upper-left and lower-right pixels in metres (``UpperLeftPointMtrs``, ``LowerRightMtrs``), the
    projection (``GCTP_SNSOID`` = sinusoidal, sphere radius in ``ProjParams``) and its fields.
    """
    grids = {}
    for block in re.findall(r"GROUP=GRID_\d+(.*?)END_GROUP=GRID_\d+", text, flags=re.DOTALL):
        name = _odl_value(block, "GridName")
        ul = tuple(float(c) for c in _odl_value(block, "UpperLeftPointMtrs").strip("()").split(","))
        lr = tuple(float(c) for c in _odl_value(block, "LowerRightMtrs").strip("()").split(","))
        grids[name] = {
            "shape": (int(_odl_value(block, "YDim")), int(_odl_value(block, "XDim"))),
            "upper_left": ul,
            "lower_right": lr,
            "projection": _odl_value(block, "Projection"),
            "fields": re.findall(r'DataFieldName="([^"]+)"', block),
        }
    return grids


def _select(fields: Sequence[str], variables) -> list[str]:
    if variables is None:
        return list(fields)
    patterns = [variables] if isinstance(variables, str) else list(variables)
    chosen = [f for f in fields if any(fnmatch.fnmatchcase(f, p) for p in patterns)]
    unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(f, p) for f in fields)]
    if unknown:
        raise ValueError(f"No field matches {unknown}; the grid has {list(fields)}.")
    return chosen


def _choose_grid(grids: dict, grid: str | None, path) -> str:
    if grid is None:
        if len(grids) != 1:
            raise ValueError(
                f"{Path(path).name} has {len(grids)} grids {list(grids)} (different pixel sizes cannot "
                "share x/y coordinates): pass grid=<one of them>."
            )
        return next(iter(grids))
    if grid not in grids:
        raise ValueError(f"{Path(path).name} has no grid {grid!r}; it has {list(grids)}.")
    return grid


def _decode(raw: np.ndarray, attrs: dict, mask_and_scale: bool) -> tuple[np.ndarray, dict]:
    """Apply the HDF4 conventions: fill and out-of-range -> NaN, then ``(raw - add_offset) * scale_factor``.

    Only fields with a ``scale_factor`` are quantities; fields without one (quality flags, class
    codes such as snow = 200) stay integer codes, their fill value recorded in ``attrs``.

    A MODIS quirk: most products store the *multiplier* (MCD43A4: 0.0001), but MOD09 surface
    reflectance stores the *divisor* (``scale_factor = 10000``). A reflectance cannot exceed ~1.6,
    so a scale factor above 1 on a reflectance field is read as a divisor.
    """
    keep = {k: attrs[k] for k in ("long_name", "units") if k in attrs}
    if not mask_and_scale or "scale_factor" not in attrs:
        keep.update({k: attrs[k] for k in ("_FillValue", "valid_range", "scale_factor", "add_offset") if k in attrs})
        return raw, keep
    bad = np.zeros(raw.shape, dtype=bool)
    if "_FillValue" in attrs:
        bad |= raw == attrs["_FillValue"]
    if "valid_range" in attrs:
        lo, hi = attrs["valid_range"]
        bad |= (raw < lo) | (raw > hi)
    scale = float(attrs["scale_factor"])
    if scale > 1 and "reflectance" in str(attrs.get("units", "")).lower():
        scale = 1 / scale
    scale = np.float32(scale)
    offset = np.float32(attrs.get("add_offset", 0))
    out = (raw.astype("float32") - offset) * scale
    out[bad] = np.nan
    return out, keep


def _number(value: str):
    parts = [p.strip() for p in str(value).split(",")]
    nums = [float(p) if re.search(r"[.eE]", p) else int(p) for p in parts]
    return nums if len(nums) > 1 else nums[0]


def _read_pyhdf(path, grid, variables):
    from pyhdf.SD import SD, SDC

    sd = SD(str(path), SDC.READ)
    try:
        gattrs = sd.attributes()
        text = "".join(gattrs[k] for k in sorted(gattrs) if k.startswith("StructMetadata."))
        grids = parse_struct_metadata(text)
        name = _choose_grid(grids, grid, path)
        info = grids[name]
        out = {}
        for field in _select(info["fields"], variables):
            sds = sd.select(field)
            try:
                out[field] = (sds[:], sds.attributes())
            finally:
                sds.endaccess()
    finally:
        sd.end()
    return name, info["upper_left"], info["lower_right"], info["shape"], out


def _read_gdal(path, grid, variables):
    import rasterio

    with rasterio.open(str(path)) as src:
        subdatasets = src.subdatasets
    grids: dict[str, list[str]] = {}
    for sub in subdatasets:
        if sub.startswith("HDF4_EOS:EOS_GRID:"):
            g, field = sub.rsplit(":", 2)[-2:]
            grids.setdefault(g, []).append(field)
    if not grids:
        raise ValueError(f"GDAL sees no HDF-EOS grid in {Path(path).name}; is it an HDF4-EOS MODIS file?")
    name = _choose_grid(grids, grid, path)
    out, transform, shape = {}, None, None
    for field in _select(grids[name], variables):
        with rasterio.open(f'HDF4_EOS:EOS_GRID:"{path}":{name}:{field}') as src:
            tags = src.tags()
            attrs = {k: (v if k in ("long_name", "units") else _number(v))
                     for k, v in tags.items()
                     if k in ("long_name", "units", "_FillValue", "valid_range", "scale_factor", "add_offset")}
            out[field] = (src.read(1), attrs)
            transform, shape = src.transform, src.shape
    ul = (transform.c, transform.f)
    lr = (transform.c + transform.a * shape[1], transform.f + transform.e * shape[0])
    return name, ul, lr, shape, out


def open_hdf(
    path: str | os.PathLike,
    engine: str = "auto",
    variables: str | Sequence[str] | None = None,
    grid: str | None = None,
    mask_and_scale: bool = True,
) -> xr.Dataset:
    """Read a MODIS HDF4-EOS file into an xarray Dataset on its sinusoidal grid.

    For an MCD43A4 file this gives ``Nadir_Reflectance_Band1..7`` as float32 reflectance (the
    stored int16 times ``scale_factor`` 0.0001; the fill value 32767 and values outside
    ``valid_range`` become NaN) and ``BRDF_Albedo_Band_Mandatory_Quality_Band1..7`` as uint8 codes
    (0 = full BRDF inversion, 1 = magnitude inversion, 255 = fill). Coordinates ``x``/``y`` are the
    pixel *centres* in metres, computed from the grid corners in the file's ``StructMetadata.0``
    (which are pixel *edges*: hence the half-pixel shift), and the CRS is written with rioxarray,
    so ``ds.rio.reproject(...)``/``ds.rio.clip_box(...)`` work.

    ``engine``: ``"gdal"`` reads with rasterio/rioxarray and needs a GDAL with the HDF4 driver
    (conda-forge's has it; the PyPI rasterio wheel does not); ``"pyhdf"`` reads with pyhdf (pip
    wheels bundle the HDF4 library); ``"auto"`` uses GDAL when it can, else pyhdf. Both give the
    same values, coordinates and attributes.

    ``variables``: field names or glob patterns (``"Nadir_Reflectance_Band*"``); default all.
    ``grid``: the HDF-EOS grid, needed when a file has several (MOD09GA has a 1 km and a 500 m
    grid). ``mask_and_scale=False`` returns the raw integers with their encoding attributes.
    """
    import pyproj
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No such HDF file: {path}")
    if engine == "auto":
        engine = "gdal" if gdal_has_hdf4() else "pyhdf"
    if engine == "gdal":
        if not gdal_has_hdf4():
            raise ValueError(
                "engine='gdal' needs a GDAL with the HDF4 driver, and rasterio's has none (PyPI wheels "
                "are built without it). Use engine='pyhdf' (or 'auto'), or install rasterio from conda-forge."
            )
        grid_name, ul, lr, shape, fields = _read_gdal(path, grid, variables)
    elif engine == "pyhdf":
        grid_name, ul, lr, shape, fields = _read_pyhdf(path, grid, variables)
    else:
        raise ValueError(f"engine must be 'auto', 'gdal' or 'pyhdf', not {engine!r}.")

    ny, nx = shape
    dx = (lr[0] - ul[0]) / nx
    dy = (ul[1] - lr[1]) / ny
    x = ul[0] + (np.arange(nx) + 0.5) * dx
    y = ul[1] - (np.arange(ny) + 0.5) * dy
    data_vars = {}
    for field, (raw, attrs) in fields.items():
        values, keep = _decode(np.asarray(raw), attrs, mask_and_scale)
        data_vars[field] = xr.DataArray(values, dims=("y", "x"), attrs=keep)
    ds = xr.Dataset(data_vars, coords={"x": x, "y": y}, attrs={"source": path.name, "grid": grid_name})
    return ds.rio.write_crs(pyproj.CRS.from_wkt(SINUSOIDAL_WKT2))


def clip_lonlat(ds, bbox: Sequence[float]):
    """The pixels of ``ds`` (sinusoidal x/y) whose centres lie in ``bbox = (lon_min, lat_min, lon_max, lat_max)``.

    A lon/lat box is not a rectangle in sinusoidal metres (the grid is sheared), so we cut the
    enclosing rectangle first and then set pixels outside the box to NaN.
    """
    lon_min, lat_min, lon_max, lat_max = bbox
    if not (lon_min < lon_max and lat_min < lat_max):
        raise ValueError(f"bbox must be (lon_min, lat_min, lon_max, lat_max) with min < max; got {tuple(bbox)}.")
    corners = [lonlat_to_sinusoidal(la, lo) for la in (lat_min, lat_max) for lo in (lon_min, lon_max)]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    ydesc = ds["y"].values[0] > ds["y"].values[-1]
    sub = ds.sel(x=slice(min(xs), max(xs)), y=slice(max(ys), min(ys)) if ydesc else slice(min(ys), max(ys)))
    lon, lat = sinusoidal_to_lonlat(*np.meshgrid(sub["x"].values, sub["y"].values))
    inside = (lon >= lon_min) & (lon <= lon_max) & (lat >= lat_min) & (lat <= lat_max)
    return sub.where(xr.DataArray(inside, dims=("y", "x"), coords={"y": sub["y"], "x": sub["x"]}))


# ------------------------------------------------------------------------------------------------
# NDVI and the per-day loop
# ------------------------------------------------------------------------------------------------
def ndvi(ds: xr.Dataset) -> xr.DataArray:
    """NDVI = (NIR - red) / (NIR + red) from MODIS band 2 (NIR, 841-876 nm) and band 1 (red, 620-670 nm).

    Works on :func:`open_hdf` and :func:`load_stac` results alike (both name bands as MODIS does).
    Fill pixels (NaN) stay NaN, and 0/0 gives NaN, never inf.
    """
    from labhelpers.indices import normalized_difference

    missing = [b for b in (RED, NIR) if b not in ds]
    if missing:
        raise ValueError(f"NDVI needs {RED} (red) and {NIR} (NIR); {missing} not in the dataset.")
    out = normalized_difference(ds[NIR], ds[RED])
    out.name = "ndvi"
    out.attrs = {"long_name": "NDVI", "units": "1", "formula": f"({NIR} - {RED}) / ({NIR} + {RED})"}
    return out


def daily_means(
    days: Iterable,
    h: int,
    v: int,
    variable: str = "ndvi",
    product: str = "MCD43A4",
    bbox: Sequence[float] | None = None,
    client=None,
    cache_dir: str | os.PathLike = "modis_data",
    progress: bool = False,
    engine: str = "auto",
) -> pd.Series:
    """The mean of ``variable`` over tile ``h, v`` (or over ``bbox`` in lon/lat) for each of ``days``.

    This is the lab's loop, made robust: for each day, list the tile's file, download it (cached),
    open it and average. ``variable`` is a field name (``"Nadir_Reflectance_Band1"``) or
    ``"ndvi"``. Archives have gaps (a day with no file), so a missing day is reported with a
    warning and skipped; a day whose file cannot be downloaded or read is skipped the same way.
    The loop never stops half-way because of one bad day.

    Returns a Series indexed by date (name = ``variable``). ``series.attrs["missing_days"]`` lists
    the ``YYYYDDD`` days with no file, ``series.attrs["failed_days"]`` maps days that failed to
    the reason. ``client``: a :func:`container_client` (default: one for the current profile).
    """
    from pyhdf.error import HDF4Error

    client = client or container_client()
    values, missing, failed = {}, [], {}
    for day in days:
        day = day_string(day)
        names = list_hdf(client, product, h, v, day)
        if not names:
            warnings.warn(f"No {product} file for h{h:02d}v{v:02d} on {day} ({day_to_date(day)}): skipped.", stacklevel=2)
            missing.append(day)
            continue
        try:
            path = download(blob_url(client, names[-1]), Path(cache_dir), progress=progress)
            ds = open_hdf(path, engine=engine, variables=[RED, NIR] if variable == "ndvi" else [variable])
        except (ConnectionError, OSError, HDF4Error) as err:
            warnings.warn(f"{product} h{h:02d}v{v:02d} {day}: {err} Skipped.", stacklevel=2)
            failed[day] = str(err)
            continue
        if bbox is not None:
            ds = clip_lonlat(ds, bbox)
        da = ndvi(ds) if variable == "ndvi" else ds[variable]
        values[pd.Timestamp(day_to_date(day))] = float(da.mean())
    series = pd.Series(values, name=variable, dtype="float64")
    series.index.name = "date"
    series.attrs = {"missing_days": missing, "failed_days": failed, "tile": f"h{h:02d}v{v:02d}"}
    return series


# ------------------------------------------------------------------------------------------------
# The STAC route
# ------------------------------------------------------------------------------------------------
def search_stac(catalog, h: int, v: int, start, end, collection: str = COLLECTION) -> list:
    """MCD43A4 items of tile ``h, v`` whose day is between ``start`` and ``end`` (inclusive), in order.

    Items carry the tile as ``modis:horizontal-tile`` / ``modis:vertical-tile`` (integers), so we
    ask the API for exactly that tile with the ``query`` extension. Each MCD43A4 item's
    ``datetime`` is its day, but it also has ``start_datetime``/``end_datetime`` spanning the 16
    days of observations behind it, and the API matches a date range against that span; so the
    search returns neighbours up to 8 days outside the range, which we drop here.
    """
    _check_tile(h, v)
    first, last = day_to_date(start), day_to_date(end)
    if first > last:
        raise ValueError(f"start {first} is after end {last}.")
    search = catalog.search(
        collections=[collection],
        datetime=f"{first - dt.timedelta(days=8)}/{last + dt.timedelta(days=8)}",
        query={"modis:horizontal-tile": {"eq": int(h)}, "modis:vertical-tile": {"eq": int(v)}},
    )
    items = [it for it in search.items() if first <= it.datetime.date() <= last]
    return sorted(items, key=lambda it: it.datetime)


def load_stac(items, bands: Sequence[str] = (RED, NIR), bbox: Sequence[float] | None = None, chunks: dict | None = None):
    """Load MCD43A4 COG bands of ``items`` with odc-stac into a (time, y, x) Dataset, scaled like :func:`open_hdf`.

    Why odc-stac and not stackstac: the items' CRS is the MODIS sinusoid, which has no EPSG code
    (``proj:epsg`` is null, the CRS is only in ``proj:wkt2``); stackstac needs an EPSG code,
    odc-stac reads the WKT. The items' ``raster:bands`` give the scale (0.0001) but no nodata, so
    we tell odc-stac the fill value (32767) and turn it into NaN ourselves.

    ``bbox``: ``(lon_min, lat_min, lon_max, lat_max)`` to read only that area (a whole tile is
    2400 x 2400 pixels per band and day). ``chunks``: e.g. ``{}`` for lazy Dask arrays.
    Items must be signed (``labhelpers.stac.open_catalog()`` signs them).
    """
    import odc.stac

    items = list(items)
    if not items:
        raise ValueError("No items to load: search_stac() found nothing for that tile and period.")
    cfg = {"*": {"assets": {b: {"nodata": NBAR_FILL, "data_type": "int16"} for b in bands}}}
    raw = odc.stac.load(items, bands=list(bands), bbox=None if bbox is None else tuple(bbox), chunks=chunks,
                        stac_cfg=cfg)
    out = xr.Dataset(attrs=raw.attrs, coords=raw.coords)
    for band in bands:
        scale = _asset_scale(items[0], band)
        da = raw[band]
        out[band] = (da.where(da != NBAR_FILL).astype("float32") * np.float32(scale)).assign_attrs(
            long_name=band, units="1")
    return out


def _asset_scale(item, band: str) -> float:
    rb = (item.assets[band].extra_fields.get("raster:bands") or [{}])[0]
    return float(rb.get("scale", NBAR_SCALE))
