"""The pixels of one scene: surface, clouds and their shadows, swath edge, SCL.

:class:`Model` holds what every scene shares (the landscape on the full-resolution window, at
each band's own resolution, and coarsely on the whole tile); :func:`render` adds what one scene
decides:

* **clouds** from a seeded field that is a function of position: thresholded so that exactly
  ``scene.cloud_target`` percent of the window's valid pixels are cloud; the height above the
  threshold decides thin cirrus (edges, in cirrus scenes), medium or high probability (cores);
* **shadows** where an opaque cloud is between the pixel and the sun: the cloud field looked up
  ``height * tan(zenith)`` metres towards the sun;
* the **swath edge** of relative orbit 113 (no data west of a line tilted 18 degrees);
* **SCL** classified from the very pixels written (Sen2Cor-like thresholds), then clouds, shadows
  and nodata on top; the true-colour image; AOT and water vapour (smooth, at 60 m, as Sen2Cor
  retrieves them); and a 320 m preview of the whole tile (ESA's PVI) from the same fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from labhelpers_standin.archive.sentinel2.geography import (
    TILE_BBOX, Window, aoi_center_lonlat, aoi_center_utm, grid_centers,
)
from labhelpers_standin.archive.sentinel2.landscape import Landscape, landscape
from labhelpers_standin.archive.sentinel2.noise import value_noise
from labhelpers_standin.archive.sentinel2.schedule import Scene, boa_add_offset, solar_angles
from labhelpers_standin.archive.sentinel2.spectra import BAND_ORDER, CIRRUS_ADD, CLOUD, Surface, day_of_year

__all__ = [
    "BANDS_10M", "BANDS_20M", "BANDS_60M", "PVI_GSD", "SCL_NODATA", "SCL_SHADOW", "SCL_VEGETATION",
    "SCL_NOT_VEGETATED", "SCL_WATER", "SCL_CLOUD_MEDIUM", "SCL_CLOUD_HIGH", "SCL_CIRRUS", "SCL_SNOW",
    "Model", "Rendered", "render", "encode_dn", "block_mean", "upsample", "swath_edge_line",
]

BANDS_10M = ("B02", "B03", "B04", "B08")
BANDS_20M = ("B05", "B06", "B07", "B8A", "B11", "B12")
BANDS_60M = ("B01", "B09")
PVI_GSD = 320  # ESA's preview image: 343 x 343 pixels over the 109.8 km tile

# SCL codes (ESA Sen2Cor) this archive produces.
SCL_NODATA, SCL_SHADOW, SCL_VEGETATION, SCL_NOT_VEGETATED, SCL_WATER = 0, 3, 4, 5, 6
SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH, SCL_CIRRUS, SCL_SNOW = 8, 9, 10, 11

_SHADOW_FACTOR = 0.3  # what reaches the ground in a cloud shadow (diffuse light)
_MEDIUM_CLOUD_OPACITY = 0.55
_SWATH_TILT = math.tan(math.radians(18))  # descending tracks lean ~18 degrees from north here
_TCI_SCALE = 255 / 0.2  # reflectance 0.2 is white in the true-colour image


@dataclass
class Model:
    """What every scene of an archive shares: the landscape on the window at each band's
    resolution (10, 20 and 60 m: each band sees the land at its own pixel centres, as the sensor
    does), and on the whole tile at the preview's 320 m.

    Parameters
    ----------
    window : Window
        The full-resolution window.
    """

    window: Window
    land: Landscape  # at 10 m: the land-cover truth
    surface: Surface  # BANDS_10M at 10 m
    surface20: Surface  # BANDS_20M at 20 m
    surface60: Surface  # BANDS_60M at 60 m
    tile_surface: Surface  # B04 B03 B02 over the whole tile at 320 m

    @classmethod
    def build(cls, window: Window) -> "Model":
        """Compute the landscape on ``window`` (10, 20, 60 m) and on the whole tile (320 m).

        Parameters
        ----------
        window : Window

        Returns
        -------
        Model
        """
        land = landscape(*window.centers(10))
        tile_land = landscape(*grid_centers(TILE_BBOX, PVI_GSD), detail=False)
        return cls(window, land, Surface(land, BANDS_10M), Surface(landscape(*window.centers(20)), BANDS_20M),
                   Surface(landscape(*window.centers(60)), BANDS_60M), Surface(tile_land, ("B04", "B03", "B02")))


@dataclass
class Rendered:
    """One scene's pixels on the window (reflectance arrays by resolution, float32)."""

    r10: np.ndarray  # (4, h, w) BANDS_10M
    r20: np.ndarray  # (6, h/2, w/2) BANDS_20M
    r60: np.ndarray  # (2, h/6, w/6) BANDS_60M
    scl: np.ndarray  # (h/2, w/2) uint8
    tci: np.ndarray  # (h, w, 3) uint8, 0 = nodata
    aot: np.ndarray  # (h, w) uint16 DN (AOT * 1000), 0 = nodata
    wvp: np.ndarray  # (h, w) uint16 DN (cm * 1000), 0 = nodata
    pvi: np.ndarray  # (343, 343, 3) uint8 preview of the whole tile
    valid20: np.ndarray
    valid60: np.ndarray

    @property
    def valid10(self) -> np.ndarray:
        """Pixels with data at 10 m."""
        return upsample(self.valid20, 2)


def block_mean(a: np.ndarray, k: int) -> np.ndarray:
    """Mean of ``k x k`` blocks over the last two axes (10 m -> 20 m: what SCL's classifier sees).

    Parameters
    ----------
    a : numpy.ndarray
    k : int

    Returns
    -------
    numpy.ndarray
    """
    h, w = a.shape[-2:]
    return a.reshape(a.shape[:-2] + (h // k, k, w // k, k)).mean(axis=(-3, -1))


def upsample(a: np.ndarray, k: int) -> np.ndarray:
    """Each pixel as ``k x k`` pixels, so masks agree exactly between resolutions.

    Parameters
    ----------
    a : numpy.ndarray
    k : int

    Returns
    -------
    numpy.ndarray
    """
    return a.repeat(k, axis=-2).repeat(k, axis=-1)


def encode_dn(refl: np.ndarray, baseline: str, valid: np.ndarray) -> np.ndarray:
    """L2A digital numbers: ``round(reflectance * 10000) - BOA_ADD_OFFSET`` (so +1000 from
    baseline 04.00), clipped to 1..65535 so 0 stays nodata, and 0 where there is no data.

    Parameters
    ----------
    refl : numpy.ndarray
        Reflectance.
    baseline : str
        The product's processing baseline.
    valid : numpy.ndarray of bool
        Pixels with data.

    Returns
    -------
    numpy.ndarray of uint16
    """
    dn = np.clip(np.round(refl * 10000) - boa_add_offset(baseline), 1, 65535).astype(np.uint16)
    dn[..., ~valid] = 0
    return dn


def _noise_seed(scene: Scene) -> int:
    """One integer from the scene's seed tuple, for the position-based noise fields."""
    return int(np.random.SeedSequence(scene.seed).generate_state(1)[0])


def _cloud_field(scene: Scene, xs, ys, texture: bool = True) -> np.ndarray:
    """The scene's cloud field on a grid: weather systems (25 km), cloud decks (1.2 km) and 300 m
    texture (left out for the 320 m preview, where it would only alias into noise)."""
    s = _noise_seed(scene)
    decks = 0.7 * value_noise(xs, ys, 25000.0, s + 4) + 0.5 * value_noise(xs, ys, 1200.0, s)
    return decks + 0.2 * value_noise(xs, ys, 300.0, s + 1) if texture else decks


def _swath_valid(scene: Scene, xs, ys) -> np.ndarray:
    """Pixels east of relative orbit 113's swath edge (everything for R013)."""
    shape = (len(ys), len(xs))
    if scene.swath_edge_m is None:
        return np.ones(shape, bool)
    cx, cy = aoi_center_utm()
    edge = cx + scene.swath_edge_m + (np.asarray(ys)[:, None] - cy) * _SWATH_TILT
    return np.asarray(xs)[None, :] > edge


def swath_edge_line(scene: Scene, y0: float, y1: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two points of relative orbit 113's swath edge, at ``y0`` and ``y1`` (EPSG:32610).

    Parameters
    ----------
    scene : Scene
        A scene with a swath edge.
    y0, y1 : float

    Returns
    -------
    ((float, float), (float, float))
    """
    cx, cy = aoi_center_utm()
    return ((cx + scene.swath_edge_m + (y0 - cy) * _SWATH_TILT, y0), (cx + scene.swath_edge_m + (y1 - cy) * _SWATH_TILT, y1))


def _shadow_shift_m(scene: Scene) -> tuple[float, float]:
    """(east, north) metres from a cloud to its shadow: away from the sun, height * tan(zenith)
    (capped at 3 km for low winter suns)."""
    zenith, azimuth = solar_angles(scene.sensing, *aoi_center_lonlat())
    length = min(scene.cloud_height_m * math.tan(math.radians(zenith)), 3000.0)
    away = math.radians(azimuth + 180)
    return length * math.sin(away), length * math.cos(away)


class _Clouds:
    """A scene's cloud classes as a function of position, calibrated on the window."""

    def __init__(self, scene: Scene, window: Window, valid20: np.ndarray):
        self.scene = scene
        xs, ys = window.centers(20)
        field = _cloud_field(scene, xs, ys)
        inside = np.sort(field[valid20])
        n_cloud = round(scene.cloud_target / 100 * inside.size)
        self.threshold = np.inf if n_cloud == 0 else inside[inside.size - n_cloud]
        self.std = float(field.std()) or 1.0
        self.shift = _shadow_shift_m(scene)

    def depth(self, xs, ys, texture: bool = True) -> np.ndarray:
        """How far the cloud field is above the cloud threshold, in standard deviations."""
        return (_cloud_field(self.scene, xs, ys, texture) - self.threshold) / self.std

    def classes(self, xs, ys, depth: np.ndarray | None = None, texture: bool = True) -> np.ndarray:
        """SCL cloud codes (0 = clear) on a grid."""
        depth = self.depth(xs, ys, texture) if depth is None else depth
        out = np.zeros(depth.shape, np.uint8)
        cloudy = depth >= 0
        out[cloudy] = SCL_CLOUD_MEDIUM
        out[cloudy & (depth > 0.6)] = SCL_CLOUD_HIGH
        if self.scene.cirrus:
            out[cloudy & (depth < 0.25)] = SCL_CIRRUS
        return out

    def shadow(self, xs, ys, texture: bool = True) -> np.ndarray:
        """Pixels under an opaque cloud's shadow (before removing cloudy pixels)."""
        sx, sy = self.shift
        cloud = self.classes(np.asarray(xs) - sx, np.asarray(ys) - sy, texture=texture)
        return np.isin(cloud, (SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH))


def _classify_surface(green, red, nir, swir16) -> np.ndarray:
    """Sen2Cor-like SCL of cloud-free pixels: snow where NDSI > 0.4 and green is bright, water
    where NDVI < 0, vegetation where NDVI >= 0.4, otherwise not vegetated."""
    veg, snow = (nir - red) / (nir + red), (green - swir16) / (green + swir16)
    scl = np.full(green.shape, SCL_NOT_VEGETATED, np.uint8)
    scl[veg >= 0.4] = SCL_VEGETATION
    scl[veg < 0] = SCL_WATER
    scl[(snow > 0.4) & (green > 0.15)] = SCL_SNOW
    return scl


def _atmosphere(refl: np.ndarray, scl: np.ndarray, bands, depth: np.ndarray) -> np.ndarray:
    """Clouds, cirrus and shadows over the surface where SCL (same grid) says they are:
    high-probability clouds opaque (brighter where thicker, ``depth`` above the threshold),
    medium ones half transparent, cirrus a thin bright veil, shadows keep the diffuse light only."""
    idx = [BAND_ORDER.index(b) for b in bands]
    c, veil = CLOUD[idx][:, None].astype(np.float32), CIRRUS_ADD[idx][:, None].astype(np.float32)
    out = refl.copy()
    for code in (SCL_CLOUD_HIGH, SCL_CLOUD_MEDIUM, SCL_CIRRUS, SCL_SHADOW):
        mask = scl == code
        if not mask.any():
            continue
        r = refl[:, mask]
        if code == SCL_CLOUD_HIGH:
            # brighter where thicker, in steps (cloud tops in bands, which compress well)
            out[:, mask] = c * (0.9 + 0.1 * np.round(4 * np.clip(depth[mask], 0, 2)) / 4).astype(np.float32)
        elif code == SCL_CLOUD_MEDIUM:
            out[:, mask] = _MEDIUM_CLOUD_OPACITY * c + (1 - _MEDIUM_CLOUD_OPACITY) * r
        elif code == SCL_CIRRUS:
            out[:, mask] = r + veil
        else:
            out[:, mask] = r * _SHADOW_FACTOR
    return out


def _tci(red, green, blue) -> np.ndarray:
    """True-colour bytes (rows, cols, 3): reflectance 0-0.2 to 1-255 (0 is nodata)."""
    return np.clip(np.round(np.stack([red, green, blue], axis=-1) * _TCI_SCALE), 1, 255).astype(np.uint8)


def _aerosol_and_vapour(scene: Scene, window: Window, valid60: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AOT (x1000) and water vapour (cm x1000) DN at 60 m: smooth, hazier and moister in summer."""
    xs, ys = window.centers(60)
    summer = (1 - math.cos(2 * math.pi * (day_of_year(scene.sensing.date()) - 20) / 365)) / 2
    s = _noise_seed(scene)
    aot = 0.06 + 0.05 * summer + 0.025 * value_noise(xs, ys, 8000.0, s + 2)
    wv = 0.45 + 1.5 * summer + 0.25 * value_noise(xs, ys, 12000.0, s + 3)
    # retrieved in steps of 0.005 (AOT) and 0.05 cm (water vapour), as smooth fields in tiers
    aot_dn = np.where(valid60, 5 * np.round(np.clip(aot, 0.005, None) * 200), 0).astype(np.uint16)
    wv_dn = np.where(valid60, 50 * np.round(np.clip(wv, 0.05, None) * 20), 0).astype(np.uint16)
    return aot_dn, wv_dn


def _preview(scene: Scene, model: Model, clouds: _Clouds) -> np.ndarray:
    """ESA's PVI: a 320 m true-colour image of the whole tile, from the same land and clouds."""
    xs, ys = grid_centers(TILE_BBOX, PVI_GSD)
    rgb = model.tile_surface.reflectance(scene.sensing.date())  # B04 B03 B02
    cloud = clouds.classes(xs, ys, texture=False)
    shadow = clouds.shadow(xs, ys, texture=False) & (cloud == 0)
    c = CLOUD[[3, 2, 1]][:, None, None].astype(np.float32)
    rgb = np.where(np.isin(cloud, (SCL_CLOUD_HIGH,))[None], c, rgb)
    rgb = np.where((cloud == SCL_CLOUD_MEDIUM)[None], _MEDIUM_CLOUD_OPACITY * c + (1 - _MEDIUM_CLOUD_OPACITY) * rgb, rgb)
    rgb = np.where((cloud == SCL_CIRRUS)[None], rgb + 0.05, rgb)
    rgb = np.where(shadow[None], rgb * _SHADOW_FACTOR, rgb)
    out = _tci(rgb[0], rgb[1], rgb[2])
    out[~_swath_valid(scene, xs, ys)] = 0
    return out


def render(scene: Scene, model: Model) -> Rendered:
    """The pixels of one scene (see the module docstring).

    Parameters
    ----------
    scene : Scene
    model : Model

    Returns
    -------
    Rendered
    """
    window = model.window
    day = scene.sensing.date()
    r10, r20, r60 = (m.reflectance(day) for m in (model.surface, model.surface20, model.surface60))

    xs20, ys20 = window.centers(20)
    valid20 = _swath_valid(scene, xs20, ys20)
    valid60 = _swath_valid(scene, *window.centers(60))
    clouds = _Clouds(scene, window, valid20)
    depth20 = clouds.depth(xs20, ys20)
    cloud = clouds.classes(xs20, ys20, depth20)
    shadow = clouds.shadow(xs20, ys20) & (cloud == 0) & valid20

    # what the classifier sees: the clear 20 m pixels
    g20, red20, nir20 = (block_mean(r10[BANDS_10M.index(b)], 2) for b in ("B03", "B04", "B08"))
    scl = _classify_surface(g20, red20, nir20, r20[BANDS_20M.index("B11")])
    scl[shadow] = SCL_SHADOW
    scl[cloud > 0] = cloud[cloud > 0]
    scl[~valid20] = SCL_NODATA

    scl10 = upsample(scl, 2)
    r10 = _atmosphere(r10.reshape(4, -1), scl10.reshape(-1), BANDS_10M, upsample(depth20, 2).reshape(-1)).reshape(r10.shape)
    r20 = _atmosphere(r20.reshape(6, -1), scl.reshape(-1), BANDS_20M, depth20.reshape(-1)).reshape(r20.shape)
    scl60 = scl[1::3, 1::3]
    r60 = _atmosphere(r60.reshape(2, -1), scl60.reshape(-1), BANDS_60M, depth20[1::3, 1::3].reshape(-1)).reshape(r60.shape)

    tci = _tci(*(r10[BANDS_10M.index(b)] for b in ("B04", "B03", "B02")))
    tci[scl10 == SCL_NODATA] = 0
    aot, wvp = _aerosol_and_vapour(scene, window, valid60)
    return Rendered(r10, r20, r60, scl, tci, upsample(aot, 6), upsample(wvp, 6), _preview(scene, model, clouds),
                    valid20, valid60)

