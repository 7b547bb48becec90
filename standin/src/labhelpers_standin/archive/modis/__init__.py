"""The offline MODIS archive: MCD43A4 v061 tiles as MPC serves them, with known answers.

What is written (inside the archive ``root``, see :mod:`labhelpers_standin.archive.layout`)::

    blobs/modiseuwest/modis-061/sn_bound_10deg.txt                      NASA's tile table
    blobs/modiseuwest/modis-061/MCD43A4/HH/VV/YYYYDDD/MCD43A4.AYYYYDDD.hHHvVV.061.<prod>.hdf(.xml)
    blobs/modiseuwest/modis-061-cogs/MCD43A4/HH/VV/YYYYDDD/<same stem>_<asset>.tif   one COG per band
    stac/collections/modis-43A4-061.json, stac/items/modis-43A4-061.ndjson

* **Real files, real grid.** Each HDF4-EOS file is what GDAL and pyhdf see in a real MCD43A4:
  grid ``MOD_Grid_BRDF`` 2400 x 2400 on the sinusoidal grid (463.3127165 m), ``StructMetadata.0``
  with ``GCTP_SNSOID`` and the tile's ``UpperLeftPointMtrs``/``LowerRightMtrs`` in the format of
  the real files, the HDF-EOS Vgroups (grid / "Data Fields") that GDAL's HDF-EOS layer needs to
  georeference a grid, SDS ``Nadir_Reflectance_Band1..7`` (int16, scale_factor 0.0001,
  _FillValue 32767, valid_range 0-32767) and ``BRDF_Albedo_Band_Mandatory_Quality_Band1..7``
  (uint8, fill 255), deflate-compressed, plus short CoreMetadata/ArchiveMetadata.
* **A plausible spring.** Tile h11v04 (the lab's Chicago example, 2019135-2019160) and h10v03
  (Prince George, BC, April-May 2021) with land covers (crops, deciduous and conifer forest, grass,
  towns, lakes), green-up that moves north and uphill (NDVI rises through May), snow that melts
  in early April in h10v03's valleys and stays on its mountains, ocean and the Pacific as fill,
  and days missing from the archive as in reality.
* **Cheap where nobody looks.** Fields are piecewise constant on 16 x 16-pixel (8 km) blocks
  with quantised inputs, and compress well; full 500 m texture and noise are only in a window around each
  area of interest (the AOI), where the lab's numbers are computed.
* **Known answers.** :func:`build` returns the truth: days present and missing per tile, and for
  each day the tile-mean and AOI-mean NDVI of the noise-free model, and the spring trend.
* **Deterministic.** Every random draw is seeded from the tile and day, GDAL and HDF4 write no
  timestamps, and items are sorted: two builds give identical bytes.

``sn_bound_10deg.txt`` is NASA MODLAND's public-domain tile table
(https://modis-land.gsfc.nasa.gov/pdf/sn_bound_10deg.txt), shipped in ``labhelpers/data``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from labhelpers import modis
from labhelpers_standin.archive.layout import mpc_href

VERSION = "1"
SEED = 43061  # MCD43A4 v061
ACCOUNT, HDF_CONTAINER, COG_CONTAINER = "modiseuwest", "modis-061", "modis-061-cogs"
PRODUCT, GRID = "MCD43A4", "MOD_Grid_BRDF"
N = modis.PIXELS_500M
BLOCK = 16  # pixels per side of the constant blocks outside the AOI windows
MARGIN = 16  # pixels of texture around each AOI (its window is the AOI's pixel extent plus this)
DEFLATE = 6


@dataclass(frozen=True)
class TileSpec:
    h: int
    v: int
    first: str  # YYYYDDD
    last: str
    missing: tuple[str, ...]
    region: str  # "midwest" or "bc": which geography and phenology
    aoi_name: str
    aoi_bbox: tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max

    @property
    def name(self) -> str:
        return f"h{self.h:02d}v{self.v:02d}"

    def days(self) -> list[str]:
        first, last = modis.day_to_date(self.first), modis.day_to_date(self.last)
        return [modis.day_string(first + dt.timedelta(days=i)) for i in range((last - first).days + 1)]


CHICAGO = ("chicago", (-88.3, 41.7, -87.9, 42.0))
PRINCE_GEORGE = ("prince_george", (-123.0, 53.8, -122.6, 54.0))
SPECS = {
    "ci": (
        TileSpec(11, 4, "2019135", "2019160", ("2019141", "2019152"), "midwest", *CHICAGO),
        TileSpec(10, 3, "2021091", "2021151", ("2021097", "2021118", "2021119", "2021140"), "bc", *PRINCE_GEORGE),
    ),
    "full": (
        TileSpec(11, 4, "2019091", "2019181", ("2019104", "2019141", "2019152", "2019170"), "midwest", *CHICAGO),
        TileSpec(10, 3, "2021060", "2021181", ("2021077", "2021097", "2021118", "2021119", "2021140", "2021165"),
                 "bc", *PRINCE_GEORGE),
    ),
    # for tests of the builder itself (determinism): one tile, two days and a gap
    "tiny": (TileSpec(10, 3, "2021120", "2021122", ("2021121",), "bc", *PRINCE_GEORGE),),
}

# ---- land covers and their spectra (bands 1..7: red, NIR, blue, green, 1.24, 1.64, 2.13 um) ----
FILL, WATER, CONIFER, DECIDUOUS, CROP, GRASS, URBAN, ROCK = range(8)
DORMANT = np.array([
    [0, 0, 0, 0, 0, 0, 0],
    [0.030, 0.020, 0.045, 0.040, 0.010, 0.006, 0.004],  # water
    [0.035, 0.170, 0.025, 0.045, 0.170, 0.110, 0.055],  # conifer
    [0.065, 0.210, 0.040, 0.065, 0.230, 0.190, 0.120],  # deciduous
    [0.110, 0.190, 0.065, 0.095, 0.230, 0.270, 0.210],  # crop (bare field)
    [0.090, 0.200, 0.055, 0.085, 0.240, 0.250, 0.180],  # grass
    [0.120, 0.190, 0.090, 0.110, 0.210, 0.230, 0.200],  # urban
    [0.160, 0.210, 0.120, 0.150, 0.230, 0.260, 0.220],  # rock
], dtype="float32")
GREEN = np.array([
    [0, 0, 0, 0, 0, 0, 0],
    [0.030, 0.020, 0.045, 0.040, 0.010, 0.006, 0.004],
    [0.025, 0.270, 0.020, 0.040, 0.250, 0.120, 0.050],
    [0.030, 0.400, 0.020, 0.055, 0.380, 0.180, 0.080],
    [0.035, 0.430, 0.025, 0.070, 0.400, 0.220, 0.100],
    [0.045, 0.340, 0.030, 0.070, 0.340, 0.220, 0.120],
    [0.080, 0.250, 0.070, 0.090, 0.250, 0.220, 0.170],
    [0.160, 0.210, 0.120, 0.150, 0.230, 0.260, 0.220],
], dtype="float32")
SNOW = np.array([0.780, 0.720, 0.820, 0.800, 0.450, 0.080, 0.050], dtype="float32")
# green-up: day of year of half green-up at the reference latitude, and its width (days)
PHENOLOGY = {
    "midwest": {"ref_lat": 42.0, "t_mid": {CONIFER: 135, DECIDUOUS: 128, CROP: 165, GRASS: 124, URBAN: 128}, "width": 7},
    "bc": {"ref_lat": 54.0, "t_mid": {CONIFER: 132, DECIDUOUS: 140, CROP: 150, GRASS: 135, URBAN: 138}, "width": 6},
}
DAYS_PER_DEGREE_NORTH, DAYS_PER_KM_UP = 2.5, 12.0

# Lakes as lon/lat polygons (approximate shorelines: enough to put water where a student expects it)
LAKES = {
    "midwest": [
        [(-87.53, 41.62), (-87.62, 41.88), (-87.80, 42.30), (-87.88, 43.04), (-87.70, 43.75), (-87.40, 44.90),
         (-86.30, 45.80), (-84.80, 45.80), (-85.40, 45.20), (-86.00, 44.80), (-86.45, 43.95), (-86.30, 43.23),
         (-86.22, 42.78), (-86.48, 42.10), (-86.90, 41.72), (-87.33, 41.61)],  # Michigan
        [(-92.10, 46.70), (-90.40, 46.60), (-88.00, 47.00), (-86.50, 46.45), (-84.60, 46.50), (-84.90, 47.90),
         (-86.50, 48.70), (-88.40, 48.30), (-89.60, 47.90), (-91.50, 47.30)],  # Superior
        [(-83.50, 41.70), (-82.00, 41.50), (-81.00, 41.90), (-79.00, 42.70), (-79.20, 42.90), (-80.50, 42.60),
         (-82.50, 42.00), (-83.20, 42.05)],  # Erie
        [(-84.70, 45.90), (-83.00, 46.10), (-81.30, 45.20), (-81.70, 44.00), (-82.40, 43.00), (-82.60, 43.80),
         (-83.40, 44.30), (-83.30, 45.00), (-84.30, 45.50)],  # Huron
    ],
    "bc": [
        [(-125.30, 54.75), (-124.60, 54.72), (-124.25, 54.55), (-124.40, 54.45), (-124.90, 54.55)],  # Stuart
        [(-126.60, 55.25), (-126.10, 54.95), (-125.55, 54.55), (-125.70, 54.50), (-126.20, 54.85)],  # Babine
        [(-126.40, 53.65), (-125.40, 53.55), (-124.80, 54.10), (-125.00, 54.12), (-125.60, 53.75)],  # Francois/Ootsa
        [(-121.60, 52.70), (-120.60, 52.45), (-120.50, 52.55), (-121.40, 52.80)],  # Quesnel
        [(-119.60, 50.00), (-119.40, 49.85), (-119.35, 50.40), (-119.55, 50.35)],  # Okanagan
    ],
}
CITIES = {
    "midwest": [(-87.75, 41.85, 0.22), (-93.27, 44.98, 0.18), (-87.95, 43.04, 0.12), (-83.10, 42.38, 0.20),
                (-93.62, 41.60, 0.08), (-89.40, 43.07, 0.06)],
    "bc": [(-122.76, 53.91, 0.05), (-114.07, 51.05, 0.16), (-119.50, 49.89, 0.05), (-120.33, 50.67, 0.05)],
}
# BC mainland Pacific coast: longitude of the shore at these latitudes (west of it: ocean = fill)
COAST = (np.array([50.0, 52.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0]),
         np.array([-127.8, -128.4, -130.3, -130.6, -131.8, -133.5, -136.0, -138.5, -141.5]))


# ------------------------------------------------------------------------------------------------
# The model: static fields per tile, spectra per day
# ------------------------------------------------------------------------------------------------
def _smooth(lat, lon, seed: int, wavelength_deg: float, n: int = 5):
    """A smooth random field in [-1, 1]: a few plane waves of about ``wavelength_deg`` (seeded)."""
    rng = np.random.default_rng(seed)
    out = np.zeros(np.shape(lat), dtype="float64")
    for _ in range(n):
        ang, phase = rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)
        k = 2 * np.pi / (wavelength_deg * rng.uniform(0.6, 1.4))
        out += np.sin(k * (np.cos(ang) * lon + np.sin(ang) * lat) + phase)
    return out / n


def _inside(polygons, lat, lon):
    from matplotlib.path import Path as MplPath

    pts = np.column_stack([lon.ravel(), lat.ravel()])
    hit = np.zeros(len(pts), dtype=bool)
    for poly in polygons:
        hit |= MplPath(poly).contains_points(pts)
    return hit.reshape(lat.shape)


def _elevation_km(region: str, lat, lon, seed: int):
    if region == "midwest":
        return 0.25 + 0.05 * _smooth(lat, lon, seed + 1, 3.0)
    coast = np.interp(lat, *COAST)
    coast_range = 1.6 * np.exp(-(((lon - (coast + 1.4)) / 0.9) ** 2))
    rockies_axis = -114.6 - (lat - 49.0) * 1.15  # the Continental Divide runs NW from Montana
    rockies = 1.9 * np.exp(-(((lon - rockies_axis) / 0.8) ** 2))
    return 0.7 + coast_range + rockies + 0.25 * _smooth(lat, lon, seed + 1, 1.5)


def _landcover(region: str, lat, lon, seed: int, detail: bool):
    """Land cover codes at ``lat, lon``: geography (ocean, lakes, towns), then seeded patches.

    ``detail`` adds field-scale patches (AOI windows); without it patches are ~100 km wide, which
    keeps rows of the bulk made of long constant runs (see :func:`_tile`).
    """
    mix = _smooth(lat, lon, seed + 2, 2.0, n=7)
    if detail:
        mix = 0.7 * mix + 0.3 * _smooth(lat, lon, seed + 3, 0.2, n=5)
    if region == "midwest":
        cls = np.where(mix > 0.25, DECIDUOUS, CROP)
        cls = np.where((lon < -97.0) & (mix < 0.2), GRASS, cls)
        north = (lat > 45.3) & (lon > -96.0)
        cls = np.where(north, np.where(mix > -0.1, CONIFER, DECIDUOUS), cls)
    else:
        cls = np.where(mix > -0.15, CONIFER, DECIDUOUS)
        valley = (mix < -0.45) & (lat < 55.0)
        cls = np.where(valley, GRASS, cls)
        cls = np.where((mix < -0.3) & (np.abs(lat - 53.9) < 0.6) & (np.abs(lon + 122.7) < 1.0), CROP, cls)
        prairie = lon > -114.6 - (lat - 49.0) * 1.15 + 1.3
        cls = np.where(prairie, np.where(mix > 0.3, GRASS, CROP), cls)
        cls = np.where(_elevation_km(region, lat, lon, seed) > 2.0, ROCK, cls)
        wiggle = 0.5 * _smooth(lat, lon, seed + 4, 0.7)
        cls = np.where(lon < np.interp(lat, *COAST) + wiggle, FILL, cls)
    for clon, clat, radius in CITIES[region]:
        r2 = ((lon - clon) * np.cos(np.radians(clat))) ** 2 + (lat - clat) ** 2
        cls = np.where((r2 < radius**2) & (cls != FILL), URBAN, cls)
    cls = np.where(_inside(LAKES[region], lat, lon) & (cls != FILL), WATER, cls)
    off_globe = np.abs(lon) > 180
    return np.where(off_globe, FILL, cls).astype("uint8")


def _snow_fraction(region: str, doy: int, lat, elev):
    """Fraction of snow: the snowline climbs from 0.45 km on 1 April to 2.1 km by the end of May."""
    if region == "midwest":
        return np.zeros(np.shape(lat), dtype="float32")
    snowline = np.interp(doy, [91, 105, 135, 152], [0.45, 1.0, 1.6, 2.1]) - 0.08 * (lat - 54.0)
    return np.clip((elev - snowline) / 0.3 + 0.5, 0, 1).astype("float32")


def _reflectance(region: str, doy: int, cls, lat, elev, brightness):
    """Noise-free reflectance, shape (7, *cls.shape): dormant -> green with a logistic green-up, then snow."""
    phen = PHENOLOGY[region]
    t_mid = np.zeros(cls.shape, dtype="float64")
    for c, t in phen["t_mid"].items():
        t_mid[cls == c] = t
    t_mid += DAYS_PER_DEGREE_NORTH * (lat - phen["ref_lat"]) + DAYS_PER_KM_UP * np.maximum(elev - 0.3, 0)
    g = (1 / (1 + np.exp(-(doy - t_mid) / phen["width"]))).astype("float32")
    veg = DORMANT[cls].transpose(2, 0, 1) * (1 - g) + GREEN[cls].transpose(2, 0, 1) * g
    veg = veg * brightness
    snow = _snow_fraction(region, doy, lat, elev)
    snow = np.where(cls == CONIFER, 0.55 * snow, snow)  # snow under a conifer canopy is partly hidden
    snow = np.where(cls == WATER, 0, snow)
    return veg * (1 - snow) + SNOW[:, None, None] * snow


def _ndvi(refl):
    red, nir = refl[0].astype("float64"), refl[1].astype("float64")
    with np.errstate(invalid="ignore"):  # fill pixels: 0/0 -> NaN, never counted
        return (nir - red) / (nir + red)


@dataclass
class _Tile:
    """Static fields of one tile: block grid for the bulk, pixel grid for the AOI window."""

    spec: TileSpec
    cls_b: np.ndarray
    lat_b: np.ndarray
    elev_b: np.ndarray
    bright_b: np.ndarray
    fill: np.ndarray  # full-resolution fill mask (ocean, off the globe)
    win: tuple[slice, slice]  # where the window is in the tile
    cls_w: np.ndarray
    lat_w: np.ndarray
    elev_w: np.ndarray
    bright_w: np.ndarray
    aoi_w: np.ndarray  # window pixels whose centres are in the AOI bbox
    weight_b: np.ndarray  # valid pixels per block counted in the tile mean (0 under the window)
    qa: np.ndarray


def _centres(first_row, first_col, n_rows, n_cols, step, h, v):
    xmin, _, _, ymax = modis.tile_bounds(h, v)
    px = modis.PIXEL_SIZE_500M
    x = xmin + (first_col + (np.arange(n_cols) + 0.5) * step) * px
    y = ymax - (first_row + (np.arange(n_rows) + 0.5) * step) * px
    lon, lat = modis.sinusoidal_to_lonlat(*np.meshgrid(x, y))
    return lat, lon


@lru_cache(maxsize=4)
def _tile(spec: TileSpec) -> _Tile:
    seed = SEED + 100 * spec.h + spec.v
    nb = N // BLOCK
    lat_b, lon_b = _centres(0, 0, nb, nb, BLOCK, spec.h, spec.v)
    cls_b = _landcover(spec.region, lat_b, lon_b, seed, detail=False)
    # Outside the windows the model's inputs are quantised (latitude to 1 deg, elevation to 500 m,
    # no brightness texture), so a row of the tile is a few long constant runs. Deflate stores a
    # run in a few bits but needs ~2 bytes to copy a 4800-byte row from the row above; runs are
    # what keep a band near 100 kB and its compression fast.
    elev_b = np.round(_elevation_km(spec.region, lat_b, lon_b, seed) * 2) / 2
    bright_b = np.ones_like(lat_b, dtype="float32")
    rng = np.random.default_rng(seed)

    # the AOI window: the AOI's pixel extent (a lon/lat box is a sheared quadrilateral on this grid,
    # with its extremes at the corners) plus a margin, aligned to blocks so it replaces whole blocks
    lon0, lat0, lon1, lat1 = spec.aoi_bbox
    xmin, _, _, ymax = modis.tile_bounds(spec.h, spec.v)
    xs, ys = modis.lonlat_to_sinusoidal(np.array([lat0, lat0, lat1, lat1]), np.array([lon0, lon1, lon0, lon1]))
    cols, rows = (xs - xmin) / modis.PIXEL_SIZE_500M, (ymax - ys) / modis.PIXEL_SIZE_500M
    row, col = [max(int(a.min() - MARGIN) // BLOCK * BLOCK, 0) for a in (rows, cols)]
    row1, col1 = [min(-(-int(a.max() + MARGIN) // BLOCK) * BLOCK, N) for a in (rows, cols)]
    wr, wc = row1 - row, col1 - col
    lat_w, lon_w = _centres(row, col, wr, wc, 1, spec.h, spec.v)
    cls_w = _landcover(spec.region, lat_w, lon_w, seed, detail=True)
    elev_w = _elevation_km(spec.region, lat_w, lon_w, seed)
    bright_w = (1 + 0.05 * _smooth(lat_w, lon_w, seed + 5, 1.0) + 0.06 * _smooth(lat_w, lon_w, seed + 6, 0.03, n=9)
                + rng.normal(0, 0.03, size=(wr, wc))).astype("float32")
    aoi_w = (lon_w >= lon0) & (lon_w <= lon1) & (lat_w >= lat0) & (lat_w <= lat1)
    if not aoi_w.any():
        raise ValueError(f"The {spec.aoi_name} AOI is not inside tile {spec.name}.")

    # fill: ocean blocks, and pixels off the projected globe (pixel-exact: their lon/lat do not exist)
    lat_all, lon_all = _centres(0, 0, N, N, 1, spec.h, spec.v)
    fill = np.repeat(np.repeat(cls_b == FILL, BLOCK, 0), BLOCK, 1) | (np.abs(lon_all) > 180)
    win = np.s_[row:row1, col:col1]
    fill[win] = (cls_w == FILL) | (np.abs(lon_w) > 180)
    weight_b = (~fill).reshape(nb, BLOCK, nb, BLOCK).sum(axis=(1, 3)).astype("float64")
    weight_b[row // BLOCK:row1 // BLOCK, col // BLOCK:col1 // BLOCK] = 0
    qa = np.where(fill, 255, 0).astype("uint8")  # 0 = full BRDF inversion everywhere there is data
    return _Tile(spec, cls_b, np.round(lat_b), elev_b, bright_b, fill, win, cls_w, lat_w, elev_w, bright_w, aoi_w,
                 weight_b, qa)


def _to_int16(refl):
    return np.clip(np.rint(refl * 10000), 0, 16000).astype("int16")


def _day_arrays(spec: TileSpec, day: str):
    """The seven int16 NBAR bands of one day, and the noise-free tile / AOI mean NDVI."""
    t = _tile(spec)
    doy = int(day[4:])
    rng = np.random.default_rng([SEED, spec.h, spec.v, int(day)])
    refl_b = _reflectance(spec.region, doy, t.cls_b, t.lat_b, t.elev_b, t.bright_b)
    refl_w = _reflectance(spec.region, doy, t.cls_w, t.lat_w, t.elev_w, t.bright_w)
    ndvi_b, ndvi_w = _ndvi(refl_b), _ndvi(refl_w)
    valid_w = ~t.fill[t.win]
    tile_mean = ((np.nansum(ndvi_b * t.weight_b) + ndvi_w[valid_w].sum())
                 / (t.weight_b.sum() + valid_w.sum()))
    aoi = t.aoi_w & valid_w
    aoi_mean = float(ndvi_w[aoi].mean())

    noisy_w = refl_w * (1 + rng.normal(0, 0.01, size=refl_w.shape)) + rng.normal(0, 0.001, size=refl_w.shape)
    blocks, window = _to_int16(refl_b), _to_int16(noisy_w)
    bands = []
    for i in range(7):
        band = np.repeat(np.repeat(blocks[i], BLOCK, 0), BLOCK, 1)
        band[t.win] = window[i]
        band[t.fill] = modis.NBAR_FILL
        bands.append(band)
    return bands, float(tile_mean), aoi_mean


# ------------------------------------------------------------------------------------------------
# Writers
# ------------------------------------------------------------------------------------------------
def struct_metadata(h: int, v: int, fields: list[tuple[str, str]]) -> str:
    """``StructMetadata.0`` of an MCD43A4 tile, in the exact layout of real MODIS v061 files."""
    xmin, ymin, xmax, ymax = modis.tile_bounds(h, v)
    objs = "".join(
        f'\t\t\tOBJECT=DataField_{i}\n\t\t\t\tDataFieldName="{name}"\n\t\t\t\tDataType={dtype}\n'
        f'\t\t\t\tDimList=("YDim","XDim")\n\t\t\t\tCompressionType=HDFE_COMP_DEFLATE\n'
        f"\t\t\t\tDeflateLevel={DEFLATE}\n\t\t\tEND_OBJECT=DataField_{i}\n"
        for i, (name, dtype) in enumerate(fields, start=1)
    )
    return (
        "GROUP=SwathStructure\nEND_GROUP=SwathStructure\nGROUP=GridStructure\n\tGROUP=GRID_1\n"
        f'\t\tGridName="{GRID}"\n\t\tXDim={N}\n\t\tYDim={N}\n'
        f"\t\tUpperLeftPointMtrs=({xmin:.6f},{ymax:.6f})\n\t\tLowerRightMtrs=({xmax:.6f},{ymin:.6f})\n"
        f"\t\tProjection=GCTP_SNSOID\n\t\tProjParams=({modis.EARTH_RADIUS:.6f},0,0,0,0,0,0,0,0,0,0,0,0)\n"
        "\t\tSphereCode=-1\n\t\tGridOrigin=HDFE_GD_UL\n\t\tGROUP=Dimension\n\t\tEND_GROUP=Dimension\n"
        f"\t\tGROUP=DataField\n{objs}\t\tEND_GROUP=DataField\n\t\tGROUP=MergedFields\n\t\tEND_GROUP=MergedFields\n"
        "\tEND_GROUP=GRID_1\nEND_GROUP=GridStructure\nGROUP=PointStructure\nEND_GROUP=PointStructure\nEND\n"
    )


def _odl(group: str, values: dict) -> str:
    body = "".join(
        f"  OBJECT = {k}\n    NUM_VAL = 1\n    VALUE = {json.dumps(v) if isinstance(v, str) else v}\n  END_OBJECT = {k}\n\n"
        for k, v in values.items()
    )
    return f"\nGROUP = {group}\n\n{body}END_GROUP = {group}\n\nEND\n"


def _granule_facts(spec: TileSpec, day: str, prod: str) -> dict:
    date = modis.day_to_date(day)
    lon, lat = _footprint(spec.h, spec.v)
    return {
        "LOCALGRANULEID": f"{_stem(spec, day, prod)}.hdf",
        "SHORTNAME": PRODUCT, "VERSIONID": 61,
        "PRODUCTIONDATETIME": _prod_datetime(prod),
        "RANGEBEGINNINGDATE": str(date - dt.timedelta(days=8)), "RANGEBEGINNINGTIME": "00:00:00.000000",
        "RANGEENDINGDATE": str(date + dt.timedelta(days=7)), "RANGEENDINGTIME": "23:59:59.999999",
        "HORIZONTALTILENUMBER": spec.h, "VERTICALTILENUMBER": spec.v,
        "NORTHBOUNDINGCOORDINATE": max(lat), "SOUTHBOUNDINGCOORDINATE": min(lat),
        "EASTBOUNDINGCOORDINATE": max(lon), "WESTBOUNDINGCOORDINATE": min(lon),
    }


def write_hdf(path: Path, spec: TileSpec, day: str, prod: str, bands, qa) -> None:
    """One MCD43A4 HDF4-EOS granule, readable by pyhdf and georeferenced by GDAL's HDF4 driver."""
    # The HDF4 library stores the path it is given inside the file (as a Vgroup name), so we write
    # from the file's folder with the bare name: the same bytes wherever the archive is built.
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        _write_hdf(path.name, spec, day, prod, bands, qa)
    finally:
        os.chdir(cwd)


def _write_hdf(name: str, spec: TileSpec, day: str, prod: str, bands, qa) -> None:
    import pyhdf.V  # noqa: F401  (HDF.vgstart() needs the V module loaded)
    from pyhdf.HDF import HC, HDF
    from pyhdf.SD import SD, SDC

    sd = SD(name, SDC.WRITE | SDC.CREATE | SDC.TRUNC)
    refs, fields = [], []
    for field, data, qa_band in [(n, b, False) for n, b in zip(modis.NBAR_BANDS, bands)] + \
                                [(n, qa, True) for n in modis.QA_BANDS]:
        sds = sd.create(field, SDC.UINT8 if qa_band else SDC.INT16, (N, N))
        sds.dim(0).setname(f"YDim:{GRID}")
        sds.dim(1).setname(f"XDim:{GRID}")
        sds.setcompress(SDC.COMP_DEFLATE, value=DEFLATE)
        sds[:] = data
        if qa_band:
            sds.attr("long_name").set(SDC.CHAR8, field)
            sds.attr("units").set(SDC.CHAR8, "concatenated flags")
            sds.attr("valid_range").set(SDC.UINT8, [0, 254])
            sds.attr("_FillValue").set(SDC.UINT8, 255)
            sds.attr("Description").set(SDC.CHAR8, "Mandatory QA:\n 0 = processed, good quality (full BRDF "
                                        "inversions)\n 1 = processed, see other QA (magnitude BRDF inversions)\n")
        else:
            sds.attr("long_name").set(SDC.CHAR8, field)
            sds.attr("units").set(SDC.CHAR8, "reflectance, no units")
            sds.attr("valid_range").set(SDC.INT16, [0, 32767])
            sds.attr("_FillValue").set(SDC.INT16, modis.NBAR_FILL)
            sds.attr("scale_factor").set(SDC.FLOAT64, modis.NBAR_SCALE)
            sds.attr("scale_factor_err").set(SDC.FLOAT64, 0.0)
            sds.attr("add_offset").set(SDC.FLOAT64, 0.0)
            sds.attr("add_offset_err").set(SDC.FLOAT64, 0.0)
            sds.attr("calibrated_nt").set(SDC.INT32, 5)
        refs.append(sds.ref())
        fields.append((field, "DFNT_UINT8" if qa_band else "DFNT_INT16"))
        sds.endaccess()
    facts = _granule_facts(spec, day, prod)
    sd.attr("HDFEOSVersion").set(SDC.CHAR8, "HDFEOS_V2.19")
    sd.attr("StructMetadata.0").set(SDC.CHAR8, struct_metadata(spec.h, spec.v, fields))
    core = {k: facts[k] for k in ("LOCALGRANULEID", "SHORTNAME", "VERSIONID", "PRODUCTIONDATETIME",
                                  "RANGEBEGINNINGDATE", "RANGEBEGINNINGTIME", "RANGEENDINGDATE", "RANGEENDINGTIME")}
    sd.attr("CoreMetadata.0").set(SDC.CHAR8, _odl("INVENTORYMETADATA", core))
    archive = {k: facts[k] for k in ("HORIZONTALTILENUMBER", "VERTICALTILENUMBER", "NORTHBOUNDINGCOORDINATE",
                                     "SOUTHBOUNDINGCOORDINATE", "EASTBOUNDINGCOORDINATE", "WESTBOUNDINGCOORDINATE")}
    sd.attr("ArchiveMetadata.0").set(SDC.CHAR8, _odl("ARCHIVEDMETADATA", archive))
    sd.attr("identifier_product_doi").set(SDC.CHAR8, "10.5067/MODIS/MCD43A4.061")
    sd.attr("identifier_product_doi_authority").set(SDC.CHAR8, "http://dx.doi.org")
    sd.end()

    # HDF-EOS finds a grid through Vgroups: <grid> (class GRID) holding "Data Fields" (the SDSs)
    # and "Grid Attributes". Without them GDAL lists plain SDSs with no georeferencing.
    hdf = HDF(name, HC.WRITE)
    vg = hdf.vgstart()
    grid = vg.create(GRID)
    grid._class = "GRID"
    data_fields = vg.create("Data Fields")
    data_fields._class = "GRID Vgroup"
    grid_attrs = vg.create("Grid Attributes")
    grid_attrs._class = "GRID Vgroup"
    for ref in refs:
        data_fields.add(HC.DFTAG_NDG, ref)
    grid.insert(data_fields)
    grid.insert(grid_attrs)
    for g in (data_fields, grid_attrs, grid):
        g.detach()
    vg.end()
    hdf.close()


def write_cog(path: Path, data: np.ndarray, h: int, v: int, nodata: int, overviews: str | None) -> None:
    """A Cloud-Optimized GeoTIFF of one band on the tile's sinusoidal grid (as MPC's modis-061-cogs).

    ``overviews``: the resampling of internal overviews, or None for none (the ``ci`` archive skips
    them: they cost half the write time, and a 2400 x 2400 band is read whole anyway).
    """
    import rasterio
    from rasterio.transform import from_origin

    xmin, _, _, ymax = modis.tile_bounds(h, v)
    profile = dict(driver="COG", width=N, height=N, count=1, dtype=data.dtype.name, nodata=nodata,
                   crs=rasterio.crs.CRS.from_wkt(modis.SINUSOIDAL_WKT2),
                   transform=from_origin(xmin, ymax, modis.PIXEL_SIZE_500M, modis.PIXEL_SIZE_500M),
                   compress="DEFLATE", level=DEFLATE, predictor=2, blocksize=512)
    profile.update({"overview_resampling": overviews} if overviews else {"overviews": "NONE"})
    with rasterio.Env(GDAL_NUM_THREADS="1"), rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def _stem(spec: TileSpec, day: str, prod: str) -> str:
    return f"{PRODUCT}.A{day}.{spec.name}.061.{prod}"


def _folder(spec: TileSpec, day: str) -> str:
    return f"{PRODUCT}/{spec.h:02d}/{spec.v:02d}/{day}"


def _prod(day: str) -> str:
    """Production time ``YYYYDDDHHMMSS``: nine days after the granule, at a seeded time of day."""
    date = modis.day_to_date(day) + dt.timedelta(days=9)
    secs = int(np.random.default_rng([SEED, int(day)]).integers(0, 86400))
    return f"{modis.day_string(date)}{secs // 3600:02d}{secs // 60 % 60:02d}{secs % 60:02d}"


def _prod_datetime(prod: str) -> str:
    date = modis.day_to_date(prod[:7])
    return f"{date}T{prod[7:9]}:{prod[9:11]}:{prod[11:13]}.000Z"


def _metadata_xml(spec: TileSpec, day: str, prod: str) -> str:
    f = _granule_facts(spec, day, prod)
    lon, lat = _footprint(spec.h, spec.v, n=2)
    points = "".join(f"<Point><PointLongitude>{x:.6f}</PointLongitude><PointLatitude>{y:.6f}</PointLatitude></Point>"
                     for x, y in zip(lon[:-1], lat[:-1]))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<GranuleMetaDataFile>\n<GranuleURMetaData>\n'
        f"<CollectionMetaData><ShortName>{PRODUCT}</ShortName><VersionID>61</VersionID></CollectionMetaData>\n"
        f"<ECSDataGranule><LocalGranuleID>{f['LOCALGRANULEID']}</LocalGranuleID>"
        f"<ProductionDateTime>{f['PRODUCTIONDATETIME']}</ProductionDateTime></ECSDataGranule>\n"
        f"<RangeDateTime><RangeEndingTime>{f['RANGEENDINGTIME']}</RangeEndingTime><RangeEndingDate>"
        f"{f['RANGEENDINGDATE']}</RangeEndingDate><RangeBeginningTime>{f['RANGEBEGINNINGTIME']}</RangeBeginningTime>"
        f"<RangeBeginningDate>{f['RANGEBEGINNINGDATE']}</RangeBeginningDate></RangeDateTime>\n"
        f"<SpatialDomainContainer><HorizontalSpatialDomainContainer><GPolygon><Boundary>{points}</Boundary>"
        "</GPolygon></HorizontalSpatialDomainContainer></SpatialDomainContainer>\n"
        "<!-- synthetic granule of the labhelpers offline archive -->\n</GranuleURMetaData>\n</GranuleMetaDataFile>\n"
    )


def _write_day(root: str, spec: TileSpec, day: str, overviews: bool) -> dict:
    """Write one granule (HDF4, XML, 14 COGs); return what the item and the truth need."""
    root = Path(root)
    prod = _prod(day)
    stem, folder = _stem(spec, day, prod), _folder(spec, day)
    bands, tile_mean, aoi_mean = _day_arrays(spec, day)
    qa = _tile(spec).qa
    hdf_dir = root / "blobs" / ACCOUNT / HDF_CONTAINER / folder
    cog_dir = root / "blobs" / ACCOUNT / COG_CONTAINER / folder
    hdf_dir.mkdir(parents=True, exist_ok=True)
    cog_dir.mkdir(parents=True, exist_ok=True)
    write_hdf(hdf_dir / f"{stem}.hdf", spec, day, prod, bands, qa)
    (hdf_dir / f"{stem}.hdf.xml").write_text(_metadata_xml(spec, day, prod))
    for name, band in zip(modis.NBAR_BANDS, bands):
        write_cog(cog_dir / f"{stem}_{name}.tif", band, spec.h, spec.v, modis.NBAR_FILL, "average" if overviews else None)
    first_qa = cog_dir / f"{stem}_{modis.QA_BANDS[0]}.tif"
    write_cog(first_qa, qa, spec.h, spec.v, 255, "nearest" if overviews else None)
    for name in modis.QA_BANDS[1:]:  # the seven QA bands are identical here: write once, copy
        shutil.copyfile(first_qa, cog_dir / f"{stem}_{name}.tif")
    return {"day": day, "prod": prod, "tile_mean_ndvi": round(tile_mean, 6), "aoi_mean_ndvi": round(aoi_mean, 6)}


# ------------------------------------------------------------------------------------------------
# STAC
# ------------------------------------------------------------------------------------------------
BAND_INFO = {  # name: (common_name, center_wavelength, full_width_half_max), as MPC's item_assets
    1: ("red", 0.645, 0.5), 2: ("nir08", 0.8585, 0.35), 3: ("blue", 0.469, 0.2), 4: ("green", 0.555, 0.2),
    5: ("lwir12", 1.24, 0.2), 6: ("swir16", 1.64, 0.24), 7: ("swir22", 2.13, 0.5),
}
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
QA_CLASSES = [
    {"value": 0, "description": "Processed, good quality (full BRDF inversions)"},
    {"value": 1, "description": "Processed, see other QA (magnitude BRDF inversions)"},
]


def _asset_templates() -> dict:
    """The per-band asset fields of MPC's modis-43A4-061 (pctasks template / stactools-modis item)."""
    out = {}
    for i in range(1, 8):
        out[f"BRDF_Albedo_Band_Mandatory_Quality_Band{i}"] = {
            "type": COG_TYPE, "title": f"BRDF Albedo Mandatory Quality for Band {i}",
            "raster:bands": [{"data_type": "uint8", "spatial_resolution": 500}],
            "eo:bands": [{"name": f"BRDF_Albedo_Band_Mandatory_Quality_Band{i}"}],
            "classification:classes": QA_CLASSES, "roles": ["data"],
        }
    for i, (common, centre, fwhm) in BAND_INFO.items():
        out[f"Nadir_Reflectance_Band{i}"] = {
            "type": COG_TYPE, "title": f"NBAR at local solar noon for Band {i}",
            "raster:bands": [{"data_type": "int16", "spatial_resolution": 500, "scale": modis.NBAR_SCALE}],
            "eo:bands": [{"name": f"Nadir_Reflectance_Band{i}", "common_name": common, "center_wavelength": centre,
                          "full_width_half_max": fwhm}],
            "roles": ["data", "reflectance"],
        }
    return out


def _footprint(h: int, v: int, n: int = 16):
    """The tile's outline in lon/lat (a closed ring, counter-clockwise), clipped to the globe."""
    xmin, ymin, xmax, ymax = modis.tile_bounds(h, v)
    lat = np.linspace(np.degrees(ymin / modis.EARTH_RADIUS), np.degrees(ymax / modis.EARTH_RADIUS), n + 1)
    lat = np.clip(lat, -89.999, 89.999)
    west = np.clip(modis.sinusoidal_to_lonlat(xmin, np.radians(lat) * modis.EARTH_RADIUS)[0], -180, 180)
    east = np.clip(modis.sinusoidal_to_lonlat(xmax, np.radians(lat) * modis.EARTH_RADIUS)[0], -180, 180)
    lons = list(west[::-1]) + list(east) + [west[-1]]
    lats = list(lat[::-1]) + list(lat) + [lat[-1]]
    return [round(float(x), 6) for x in lons], [round(float(y), 6) for y in lats]


def make_item(spec: TileSpec, day: str, prod: str) -> dict:
    """A STAC item shaped like MPC's ``modis-43A4-061`` items (same properties and asset keys)."""
    date = modis.day_to_date(day)
    stem, folder = _stem(spec, day, prod), _folder(spec, day)
    xmin, ymin, xmax, ymax = modis.tile_bounds(spec.h, spec.v)
    lon, lat = _footprint(spec.h, spec.v)
    created = _prod_datetime(prod).replace(".000Z", "Z")
    assets = {"hdf": {"href": mpc_href(ACCOUNT, HDF_CONTAINER, f"{folder}/{stem}.hdf"), "type": "application/x-hdf",
                      "title": "Source data containing all bands", "roles": ["data"]},
              "metadata": {"href": mpc_href(ACCOUNT, HDF_CONTAINER, f"{folder}/{stem}.hdf.xml"),
                           "type": "application/xml", "title": "Federal Geographic Data Committee (FGDC) Metadata",
                           "roles": ["metadata"]}}
    for key, template in _asset_templates().items():
        assets[key] = {"href": mpc_href(ACCOUNT, COG_CONTAINER, f"{folder}/{stem}_{key}.tif"), **template}
    r = lambda x: round(x, 6)  # noqa: E731  (the precision of MPC's proj:geometry)
    return {
        "type": "Feature", "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/projection/v1.0.0/schema.json",
            "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
            "https://stac-extensions.github.io/classification/v1.0.0/schema.json",
        ],
        "id": f"{PRODUCT}.A{day}.{spec.name}.061",
        "collection": modis.COLLECTION,
        "geometry": {"type": "Polygon", "coordinates": [[[x, y] for x, y in zip(lon, lat)]]},
        "bbox": [min(lon), min(lat), max(lon), max(lat)],
        "properties": {
            "start_datetime": f"{date - dt.timedelta(days=8)}T00:00:00Z",
            "end_datetime": f"{date + dt.timedelta(days=7)}T23:59:59.999999Z",
            "instruments": ["modis"], "platform": "terra,aqua", "created": created, "updated": created,
            "modis:horizontal-tile": spec.h, "modis:vertical-tile": spec.v,
            "modis:tile-id": f"51{spec.h:03d}{spec.v:03d}",
            "proj:epsg": None, "proj:wkt2": modis.SINUSOIDAL_WKT2,
            "proj:geometry": {"type": "Polygon", "coordinates": [[[r(xmax), r(ymin)], [r(xmax), r(ymax)],
                                                                  [r(xmin), r(ymax)], [r(xmin), r(ymin)],
                                                                  [r(xmax), r(ymin)]]]},
            "proj:shape": [N, N],
            "proj:transform": [modis.PIXEL_SIZE_500M, 0.0, r(xmin), 0.0, -modis.PIXEL_SIZE_500M, r(ymax)],
            "eo:cloud_cover": int(np.random.default_rng([SEED, spec.h, spec.v, int(day), 1]).integers(0, 40)),
            "datetime": f"{date}T00:00:00Z",
        },
        "links": [],
        "assets": assets,
    }


def make_collection() -> dict:
    """The ``modis-43A4-061`` collection as MPC publishes it (pctasks template, description filled in)."""
    item_assets = {
        "hdf": {"type": "application/x-hdf", "roles": ["data"], "title": "Source data containing all bands"},
        "metadata": {"type": "application/xml", "roles": ["metadata"],
                     "title": "Federal Geographic Data Committee (FGDC) Metadata"},
    }
    for key, template in _asset_templates().items():
        item_assets[key] = {k: v for k, v in template.items()}
    return {
        "type": "Collection", "id": modis.COLLECTION, "stac_version": "1.0.0",
        "description": (
            "The Moderate Resolution Imaging Spectroradiometer (MODIS) MCD43A4 Version 6.1 Nadir "
            "Bidirectional Reflectance Distribution Function (BRDF)-Adjusted Reflectance (NBAR) dataset is "
            "produced daily using 16 days of Terra and Aqua MODIS data at 500 meter (m) resolution. "
            "(Offline stand-in: synthetic data on the real grid, built by labhelpers.)"
        ),
        "links": [
            {"rel": "help", "href": "https://www.umb.edu/spectralmass/terra_aqua_modis/v006", "title": "User Guide"},
            {"rel": "describedby", "href": "https://ladsweb.modaps.eosdis.nasa.gov/filespec/MODIS/61/MCD43A4",
             "title": "MCD43A4 file specification"},
            {"rel": "cite-as", "href": "https://doi.org/10.5067/MODIS/MCD43A4.061", "title": "LP DAAC - MCD43A4"},
            {"rel": "license", "href": "https://lpdaac.usgs.gov/data/data-citation-and-policies/",
             "title": "LP DAAC - Data Citation and Policies"},
        ],
        "stac_extensions": [
            "https://stac-extensions.github.io/classification/v1.0.0/schema.json",
            "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.0.0/schema.json",
            "https://stac-extensions.github.io/item-assets/v1.0.0/schema.json",
            "https://stac-extensions.github.io/scientific/v1.0.0/schema.json",
            "https://stac-extensions.github.io/storage/v2.0.0/schema.json",
        ],
        "item_assets": item_assets,
        "msft:group_id": "modis", "msft:container": HDF_CONTAINER, "msft:storage_account": ACCOUNT,
        "msft:short_description": "MODIS Nadir BRDF-Adjusted Reflectance (NBAR) Daily", "msft:region": "westeurope",
        "sci:publications": [{"doi": "10.5067/MODIS/MCD43A4.061", "citation": (
            "Schaaf, C., & Wang, Z. (2021). MODIS/Terra+Aqua BRDF/Albedo Nadir BRDF Adjusted Ref Daily L3 "
            "Global - 500m V061 [Data set]. NASA EOSDIS Land Processes DAAC. "
            "https://doi.org/10.5067/MODIS/MCD43A4.061")}],
        "title": "MODIS Nadir BRDF-Adjusted Reflectance (NBAR) Daily",
        "extent": {"spatial": {"bbox": [[-180, -90, 180, 90]]}, "temporal": {"interval": [["2000-02-16T00:00:00Z", None]]}},
        "license": "proprietary",
        "keywords": ["NASA", "MODIS", "Satellite", "Imagery", "Global", "Reflectance", "MCD43A4"],
        "providers": [
            {"name": "NASA LP DAAC at the USGS EROS Center", "roles": ["producer", "licensor", "processor"],
             "url": "https://lpdaac.usgs.gov/"},
            {"name": "Microsoft", "roles": ["host", "processor"], "url": "https://planetarycomputer.microsoft.com"},
        ],
        "summaries": {"platform": ["aqua", "terra"], "instruments": ["modis"]},
        "storage:schemes": {"azure": {"type": "ms-azure", "platform": "https://{account}.blob.core.windows.net",
                                      "account": ACCOUNT, "container": HDF_CONTAINER, "region": "westeurope"}},
    }


# ------------------------------------------------------------------------------------------------
# Build
# ------------------------------------------------------------------------------------------------
def _trend(days: list[str], values: list[float]) -> dict:
    doy = np.array([int(d[4:]) for d in days], dtype="float64")
    slope = float(np.polyfit(doy, np.array(values), 1)[0]) if len(days) > 1 else 0.0
    return {"slope_per_day": round(slope, 6), "first": values[0], "last": values[-1]}


def build(root: Path, size: str = "ci", workers: int = 2) -> dict:
    """Write the MODIS part of the archive into ``root`` and return its truth (stored as manifest["modis"]).

    ``size``: ``"ci"`` (the lab's periods: 24 + 57 granules), ``"full"`` (the same tiles over
    longer periods, for benchmarks) or ``"tiny"`` (one tile, two granules: for tests of the
    builder). ``workers``: processes writing granules in parallel.
    """
    if size not in SPECS:
        raise ValueError(f"Unknown MODIS archive size {size!r}: choose one of {', '.join(SPECS)}.")
    root = Path(root)
    container = root / "blobs" / ACCOUNT / HDF_CONTAINER
    container.mkdir(parents=True, exist_ok=True)
    sn_bound = resources.files("labhelpers").joinpath("data", modis.SN_BOUND_FILE).read_bytes()
    (container / modis.SN_BOUND_FILE).write_bytes(sn_bound)

    jobs = [(spec, day) for spec in SPECS[size] for day in spec.days() if day not in spec.missing]
    overviews = size == "full"
    if workers > 1:
        import multiprocessing

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_write_day, [str(root)] * len(jobs), *zip(*jobs), [overviews] * len(jobs)))
    else:
        results = [_write_day(str(root), spec, day, overviews) for spec, day in jobs]

    items = sorted((make_item(spec, r["day"], r["prod"]) for (spec, _), r in zip(jobs, results)),
                   key=lambda it: it["id"])
    (root / "stac" / "items").mkdir(parents=True, exist_ok=True)
    (root / "stac" / "collections").mkdir(parents=True, exist_ok=True)
    (root / "stac" / "items" / f"{modis.COLLECTION}.ndjson").write_text(
        "".join(json.dumps(it, sort_keys=True) + "\n" for it in items))
    (root / "stac" / "collections" / f"{modis.COLLECTION}.json").write_text(
        json.dumps(make_collection(), indent=2, sort_keys=True) + "\n")

    tiles = {}
    for spec in SPECS[size]:
        rows = [r for (s, _), r in zip(jobs, results) if s == spec]
        present = [r["day"] for r in rows]
        aoi = [r["aoi_mean_ndvi"] for r in rows]
        tiles[spec.name] = {
            "h": spec.h, "v": spec.v, "first_day": spec.first, "last_day": spec.last,
            "present": present, "missing": list(spec.missing),
            "hdf_blobs": [f"{_folder(spec, r['day'])}/{_stem(spec, r['day'], r['prod'])}.hdf" for r in rows],
            "tile_mean_ndvi": {r["day"]: r["tile_mean_ndvi"] for r in rows},
            "aoi": {"name": spec.aoi_name, "bbox": list(spec.aoi_bbox),
                    "mean_ndvi": {r["day"]: r["aoi_mean_ndvi"] for r in rows}, "trend": _trend(present, aoi)},
            "trend": _trend(present, [r["tile_mean_ndvi"] for r in rows]),
        }
    nbytes = sum(p.stat().st_size for p in (root / "blobs" / ACCOUNT).rglob("*") if p.is_file())
    return {
        "version": VERSION, "collection": modis.COLLECTION, "product": PRODUCT, "account": ACCOUNT,
        "hdf_container": HDF_CONTAINER, "cog_container": COG_CONTAINER, "items": len(items), "tiles": tiles,
        "blob_bytes": nbytes,
        "ndvi_note": "mean over non-fill pixels of per-pixel NDVI of the noise-free model; AOI = pixel centres in bbox",
        "sn_bound_10deg": {
            "blob": f"{HDF_CONTAINER}/{modis.SN_BOUND_FILE}",
            "source": "NASA MODLAND, https://modis-land.gsfc.nasa.gov/pdf/sn_bound_10deg.txt (US Government work, "
                      "public domain); copy taken from github.com/geattiah/modis_analysis @ a845c76",
        },
    }

