"""What the land looks like to Sentinel-2 on a given day: bands, spectra, seasons, snow.

Twelve L2A reflectance bands as MPC describes them (``eo:bands``: names, common names, centre
wavelengths and widths copied from MPC's ``sentinel-2-l2a`` collection, recorded 2025-07-31).
Surface reflectance comes from a small spectral library of typical L2A values: NDVI of summer
conifers ~0.83, of a crop at its peak ~0.76, of bare soil ~0.21, water < 0, town ~0.15-0.3 (roofs
and lawns); fresh snow has NDSI ~0.77. Each pixel is modulated by its :class:`~.landscape.Landscape`
(canopy texture, crop vigour and green-up date, roof share, turbidity), so neighbouring pixels
of one class differ, as on a real image.

The surface depends on the calendar day only, not the year: a 2021 and a 2023 summer look the
same, so any difference between them in the data is the 2022 processing-baseline offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from labhelpers_standin.archive.sentinel2.landscape import FIELDS, FOREST, RIVER, TOWN, Landscape

__all__ = [
    "Band", "BANDS", "BAND_ORDER", "SNOW_MONTHS", "SNOW_COVER", "day_of_year", "field_greenness",
    "Surface", "surface_reflectance", "ndvi", "ndsi", "CLOUD", "CIRRUS_ADD",
]


@dataclass(frozen=True)
class Band:
    """One spectral band as MPC describes it in ``eo:bands`` and asset titles."""

    name: str
    common_name: str | None
    description: str
    center_wavelength: float
    full_width_half_max: float
    gsd: int

    def eo(self) -> dict:
        """The band's ``eo:bands`` entry, key for key as MPC writes it.

        Returns
        -------
        dict
        """
        out = {"name": self.name}
        if self.common_name:
            out["common_name"] = self.common_name
        out.update(description=self.description, center_wavelength=self.center_wavelength,
                   full_width_half_max=self.full_width_half_max)
        return out


#: The L2A reflectance bands in ESA's order (B10, a top-of-atmosphere cirrus band, is not in L2A).
BANDS = {b.name: b for b in (
    Band("B01", "coastal", "Band 1 - Coastal aerosol", 0.443, 0.027, 60),
    Band("B02", "blue", "Band 2 - Blue", 0.49, 0.098, 10),
    Band("B03", "green", "Band 3 - Green", 0.56, 0.045, 10),
    Band("B04", "red", "Band 4 - Red", 0.665, 0.038, 10),
    Band("B05", "rededge", "Band 5 - Vegetation red edge 1", 0.704, 0.019, 20),
    Band("B06", "rededge", "Band 6 - Vegetation red edge 2", 0.74, 0.018, 20),
    Band("B07", "rededge", "Band 7 - Vegetation red edge 3", 0.783, 0.028, 20),
    Band("B08", "nir", "Band 8 - NIR", 0.842, 0.145, 10),
    Band("B8A", "rededge", "Band 8A - Vegetation red edge 4", 0.865, 0.033, 20),
    Band("B09", None, "Band 9 - Water vapor", 0.945, 0.026, 60),
    Band("B11", "swir16", "Band 11 - SWIR (1.6)", 1.61, 0.143, 20),
    Band("B12", "swir22", "Band 12 - SWIR (2.2)", 2.19, 0.242, 20),
)}
BAND_ORDER = tuple(BANDS)
_I = {name: i for i, name in enumerate(BAND_ORDER)}

# Spectral library, in BAND_ORDER: B01 B02 B03 B04 B05 B06 B07 B08 B8A B09 B11 B12
_FOREST_WINTER = np.array([.020, .020, .033, .022, .060, .140, .170, .190, .195, .180, .100, .045])
_FOREST_SUMMER = np.array([.022, .022, .042, .024, .075, .200, .250, .270, .280, .260, .130, .055])
_CROP = np.array([.030, .035, .075, .050, .110, .280, .340, .360, .370, .350, .210, .100])
_SOIL = np.array([.060, .070, .100, .130, .160, .180, .195, .200, .210, .205, .280, .220])
_GRASS = np.array([.030, .035, .070, .045, .100, .250, .300, .320, .330, .310, .200, .100])
_DRY_GRASS = np.array([.055, .065, .090, .105, .140, .170, .185, .195, .200, .195, .260, .190])
_WATER = np.array([.040, .035, .045, .030, .025, .020, .018, .015, .014, .012, .008, .005])
_TURBID = np.array([.060, .060, .075, .065, .055, .035, .028, .022, .020, .016, .010, .006])
_ROOF = np.array([.085, .090, .100, .110, .125, .140, .145, .150, .155, .150, .200, .170])
_SNOW = np.array([.820, .800, .780, .740, .720, .700, .680, .660, .650, .600, .100, .080])
#: Opaque cloud, and what a thin cirrus veil adds (used by :mod:`.render`).
CLOUD = np.array([.500, .480, .470, .460, .480, .500, .510, .520, .520, .480, .330, .220])
CIRRUS_ADD = np.array([.050, .050, .050, .050, .050, .050, .050, .050, .050, .045, .035, .025])
#: Calendar months with snow on the ground, and the share of a pixel it covers by land cover
#: (fields vanish under it; the conifer canopy stays partly dark).
SNOW_MONTHS = (12, 1, 2, 3)
SNOW_COVER = {FOREST: 0.2, FIELDS: 1.0, RIVER: 0.9, TOWN: 0.7}


def day_of_year(d: date) -> int:
    """Day of year in a non-leap year, so a calendar day has the same surface every year.

    Parameters
    ----------
    d : datetime.date

    Returns
    -------
    int
    """
    return date(2021, d.month, min(d.day, 28) if d.month == 2 else d.day).timetuple().tm_yday


def _smoothstep(x):
    """0 before 0, 1 after 1, a cosine ramp between."""
    return (1 - np.cos(np.pi * np.clip(x, 0.0, 1.0))) / 2


def field_greenness(doy, shift=0.0):
    """Crop cover of a field (0-1): green-up through May-June, peak mid-July to mid-August,
    senescence and harvest from late August to mid-October, bare soil over winter.

    Parameters
    ----------
    doy : int or array_like
        Day of year.
    shift : float or array_like
        Days by which a parcel's whole cycle is later.

    Returns
    -------
    numpy.ndarray
    """
    d = np.asarray(doy, dtype=np.float64) - shift
    return _smoothstep((d - 125) / 70) - _smoothstep((d - 225) / 60)


def _pasture_greenness(doy, shift=0.0):
    """Pasture and hay: greens up earlier, stays partly green until the autumn."""
    d = np.asarray(doy, dtype=np.float64) - shift
    return 0.15 + 0.7 * (_smoothstep((d - 110) / 50) - 0.75 * _smoothstep((d - 250) / 60))


def _lawn_greenness(doy: int) -> float:
    """Town lawns and street trees: green from mid-May to late September."""
    return float(_smoothstep((doy - 120) / 35) - _smoothstep((doy - 255) / 50))


def _forest_season(doy: int) -> float:
    """0 in late January, 1 in late July: evergreen conifers brighten a little in summer."""
    return (1 - math.cos(2 * math.pi * (doy - 20) / 365)) / 2


class Surface:
    """The clear-sky, noise-free surface reflectance of a :class:`~.landscape.Landscape`, by day.

    Reflectance is linear in three seasonal curves, so it is precomputed as
    ``static + forest_season(day) * forest + lawn(day) * lawns + greenness(pixel, day) * crops``
    (then mixed with snow in the snow months): a day costs three multiply-adds per band.

    Parameters
    ----------
    land : Landscape
        The grid's land covers and per-pixel parameters.
    bands : sequence of str
        Band names, a subset of :data:`BAND_ORDER` (fewer is cheaper).
    """

    def __init__(self, land: Landscape, bands=BAND_ORDER):
        self.land, self.bands = land, tuple(bands)
        idx = [_I[b] for b in self.bands]
        c = land.classes
        k = lambda spectrum: spectrum[idx][:, None, None].astype(np.float32)  # noqa: E731
        nir_like = np.array([b not in ("B01", "B02", "B03", "B04", "B11", "B12") for b in self.bands], np.float32)
        is_forest, is_fields, is_town, is_river = (c == FOREST), (c == FIELDS), (c == TOWN), (c == RIVER)
        # crowns brighten every band a little and the near-infrared more; gaps darken
        gain = 1 + (0.05 + 0.04 * nir_like)[:, None, None] * land.canopy.astype(np.float32)
        bare = (~land.pasture).astype(np.float32)
        field_base = k(_SOIL) * bare + k(_DRY_GRASS) * (1 - bare)
        urban, roof = land.urban.astype(np.float32), land.roof.astype(np.float32)
        self._static = np.where(is_forest, k(_FOREST_WINTER) * gain, 0)
        self._static += np.where(is_fields, field_base, 0)
        self._static += np.where(is_town, k(_ROOF) * roof * urban + k(_DRY_GRASS) * (1 - urban), 0)
        self._static += np.where(is_river, k(_WATER) + (k(_TURBID) - k(_WATER)) * land.turbidity.astype(np.float32), 0)
        self._forest = np.where(is_forest, (k(_FOREST_SUMMER) - k(_FOREST_WINTER)) * gain, 0).astype(np.float32)
        self._lawns = np.where(is_town, (k(_GRASS) - k(_DRY_GRASS)) * (1 - urban), 0).astype(np.float32)
        self._crops = np.where(is_fields, (k(_CROP) - field_base) * land.vigor.astype(np.float32), 0).astype(np.float32)
        self._static = self._static.astype(np.float32)
        cover = np.zeros(c.shape, np.float32)
        for code, fraction in SNOW_COVER.items():
            cover[c == code] = fraction
        self._snow_cover = np.where(is_forest, cover * (1 - 0.3 * land.canopy), cover).astype(np.float32)
        self._snow = k(_SNOW)
        self._fields = np.nonzero(is_fields)
        self._shift, self._pasture = land.shift[self._fields], land.pasture[self._fields]

    def greenness(self, day: date) -> np.ndarray:
        """Crop/pasture cover of each field pixel on ``day`` (before vigour), 0 elsewhere.

        Parameters
        ----------
        day : datetime.date

        Returns
        -------
        numpy.ndarray of float32
        """
        doy = day_of_year(day)
        green = np.zeros(self.land.classes.shape, np.float32)
        pasture = self._pasture
        values = np.where(pasture, _pasture_greenness(doy, self._shift), field_greenness(doy, self._shift))
        green[self._fields] = values
        return green

    def reflectance(self, day: date) -> np.ndarray:
        """Reflectance on ``day``; only the calendar day matters.

        Parameters
        ----------
        day : datetime.date

        Returns
        -------
        numpy.ndarray of float32
            ``(len(bands), rows, cols)``.
        """
        doy = day_of_year(day)
        out = self._static + _forest_season(doy) * self._forest + _lawn_greenness(doy) * self._lawns
        out += self.greenness(day)[None] * self._crops
        if day.month in SNOW_MONTHS:
            out = out * (1 - self._snow_cover) + self._snow * self._snow_cover
        return out


def surface_reflectance(land: Landscape, day: date, bands=BAND_ORDER) -> np.ndarray:
    """Clear-sky, noise-free surface reflectance ``(len(bands), rows, cols)`` on ``day``.

    A one-off :class:`Surface`; build one and call :meth:`Surface.reflectance` for many days.

    Parameters
    ----------
    land : Landscape
    day : datetime.date
    bands : sequence of str

    Returns
    -------
    numpy.ndarray of float32
    """
    return Surface(land, bands).reflectance(day)


def _normalized_difference(a, b):
    return (a - b) / (a + b)


def ndvi(refl: np.ndarray, bands=BAND_ORDER) -> np.ndarray:
    """NDVI, (B08 - B04) / (B08 + B04), from a reflectance stack of ``bands``.

    Parameters
    ----------
    refl : numpy.ndarray
    bands : sequence of str
        The band of each entry of ``refl``'s first axis.

    Returns
    -------
    numpy.ndarray
    """
    return _normalized_difference(refl[list(bands).index("B08")], refl[list(bands).index("B04")])


def ndsi(refl: np.ndarray, bands=BAND_ORDER) -> np.ndarray:
    """NDSI, (B03 - B11) / (B03 + B11), from a reflectance stack of ``bands``.

    Parameters
    ----------
    refl : numpy.ndarray
    bands : sequence of str
        The band of each entry of ``refl``'s first axis.

    Returns
    -------
    numpy.ndarray
    """
    return _normalized_difference(refl[list(bands).index("B03")], refl[list(bands).index("B11")])
