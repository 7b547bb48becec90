"""The MODIS model: land cover, elevation, green-up and snow on a tile, and one day's seven bands.

* **A plausible spring.** Land covers (crops, deciduous and conifer forest, grass, towns, lakes),
  green-up that moves north and uphill (NDVI rises through May), snow that melts in early April in
  h10v03's valleys and stays on its mountains, the Pacific as fill.
* **Cheap where nobody looks.** Fields are piecewise constant on 16 x 16-pixel (8 km) blocks with
  quantised inputs, and compress well; full 500 m texture and noise are only in a window around
  each tile's area of interest.
* **Known answers.** :func:`day_arrays` returns the day's int16 bands and what is true of them:
  whole-tile means of band 1 and NDVI of the very pixels written, and the noise-free NDVI of
  the area of interest.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from labhelpers import modis
from labhelpers_standin.archive.modis.tiles import CITIES, COAST, LAKES, TileSpec

__all__ = ["SEED", "N", "BLOCK", "MARGIN", "FILL", "WATER", "CONIFER", "DECIDUOUS", "CROP", "GRASS", "URBAN", "ROCK",
           "tile_fields", "day_arrays"]

SEED = 43061  # MCD43A4 v061
N = modis.PIXELS_500M
BLOCK = 16  # pixels per side of the constant blocks outside the area of interest
MARGIN = 16  # pixels of texture around the area of interest (its window: its pixel extent plus this)

# land covers and their spectra (bands 1..7: red, NIR, blue, green, 1.24, 1.64, 2.13 um)
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
    qa: np.ndarray


def _centres(first_row, first_col, n_rows, n_cols, step, h, v):
    xmin, _, _, ymax = modis.tile_bounds(h, v)
    px = modis.PIXEL_SIZE_500M
    x = xmin + (first_col + (np.arange(n_cols) + 0.5) * step) * px
    y = ymax - (first_row + (np.arange(n_rows) + 0.5) * step) * px
    lon, lat = modis.sinusoidal_to_lonlat(*np.meshgrid(x, y))
    return lat, lon


@lru_cache(maxsize=4)
def tile_fields(spec: TileSpec) -> _Tile:
    """The static fields of a tile (cached per process): land cover, elevation, fill, the window.

    Parameters
    ----------
    spec : TileSpec

    Returns
    -------
    _Tile

    Raises
    ------
    ValueError
        When the tile's area of interest is not inside it.
    """
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
    qa = np.where(fill, 255, 0).astype("uint8")  # 0 = full BRDF inversion everywhere there is data
    return _Tile(spec, cls_b, np.round(lat_b), elev_b, bright_b, fill, win, cls_w, lat_w, elev_w, bright_w, aoi_w, qa)


def _to_int16(refl):
    return np.clip(np.rint(refl * 10000), 0, 16000).astype("int16")


def day_arrays(spec: TileSpec, day: str) -> tuple[list[np.ndarray], dict]:
    """The seven int16 NBAR bands of one day, and what is true of them.

    Parameters
    ----------
    spec : TileSpec
    day : str
        YYYYDDD.

    Returns
    -------
    bands : list of numpy.ndarray
        ``Nadir_Reflectance_Band1..7``, int16 2400 x 2400, fill 32767, scale 0.0001.
    stats : dict
        ``tile_mean_ndvi`` and ``tile_mean_band1``: means over the non-fill pixels of the tile of
        the values written (NDVI from bands 1 and 2 scaled, band 1 scaled to reflectance);
        ``tile_mean_band1_raw``: the mean of band 1's raw integers *including* the fill value,
        which is what ``np.nanmean`` gives on an unmasked read (the handout's loop);
        ``aoi_mean_ndvi``: mean over the area of interest (pixel centres in its bbox) of the
        noise-free model's NDVI.
    """
    t = tile_fields(spec)
    doy = int(day[4:])
    rng = np.random.default_rng([SEED, spec.h, spec.v, int(day)])
    refl_b = _reflectance(spec.region, doy, t.cls_b, t.lat_b, t.elev_b, t.bright_b)
    refl_w = _reflectance(spec.region, doy, t.cls_w, t.lat_w, t.elev_w, t.bright_w)
    valid_w = ~t.fill[t.win]
    aoi_mean = float(_ndvi(refl_w)[t.aoi_w & valid_w].mean())

    noisy_w = refl_w * (1 + rng.normal(0, 0.01, size=refl_w.shape)) + rng.normal(0, 0.001, size=refl_w.shape)
    blocks, window = _to_int16(refl_b), _to_int16(noisy_w)
    bands = []
    for i in range(7):
        band = np.repeat(np.repeat(blocks[i], BLOCK, 0), BLOCK, 1)
        band[t.win] = window[i]
        band[t.fill] = modis.NBAR_FILL
        bands.append(band)
    valid = ~t.fill
    red, nir = bands[0][valid].astype(np.float64) * modis.NBAR_SCALE, bands[1][valid].astype(np.float64) * modis.NBAR_SCALE
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (nir - red) / (nir + red)
    stats = {
        "tile_mean_ndvi": float(np.nanmean(ndvi)),
        "tile_mean_band1": float(red.mean()),
        "tile_mean_band1_raw": float(bands[0].mean(dtype=np.float64)),
        "aoi_mean_ndvi": aoi_mean,
    }
    return bands, stats
