"""The land around the AOI: forest, fields, a river and a town, drawn procedurally.

Four land covers, as the lab's questions need them (snow on open fields, evergreen forest, a
summer crop cycle, water and a built-up area):

* **conifer forest** everywhere nothing else is, textured: stands of ~90 m (Voronoi cells) of
  different canopy density, in districts of older and younger forest;
* **agricultural fields** in clearings: parcels are the cells of a jittered Voronoi lattice
  (irregular polygons of 2-14 ha), some split into strips, each with its own crop vigour,
  green-up date and use (crop or pasture), with grassy margins along the boundaries;
* a **river** meandering west to east through the south of the AOI, 50-100 m wide, with varying
  turbidity;
* a **town**: UNBC's campus in the middle of the AOI and a residential quarter to the south-east
  (and, for the whole-tile preview, Prince George itself 5 km east), on a street grid, each block
  with its own share of roofs and lawns and its own roof brightness.

Everything is a function of position in metres (see :mod:`.noise`), so a 10 m window, a 20 m grid
and the 320 m preview of the whole tile show the same place. Nothing here depends on the date:
:mod:`.spectra` turns a :class:`Landscape` into reflectance for a day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labhelpers_standin.archive.sentinel2.geography import aoi_center_utm
from labhelpers_standin.archive.sentinel2.noise import fbm, hash_uniform, value_noise

__all__ = ["FOREST", "FIELDS", "RIVER", "TOWN", "CLASS_NAMES", "Landscape", "landscape", "river_centerline"]

FOREST, FIELDS, RIVER, TOWN = 1, 2, 3, 4
#: Land-cover code -> name, as ``manifest.json`` and ``truth/s2_landcover.tif`` use them.
CLASS_NAMES = {FOREST: "conifer forest", FIELDS: "agricultural fields", RIVER: "river", TOWN: "town"}

_SEED = 53_900  # the landscape's own seed (the scenes have theirs)
_PARCEL_M = 270.0  # Voronoi lattice spacing of the field parcels
_STAND_M = 60.0  # ... and of the forest stands
_STREET_M = 115.0  # street spacing of the town grid
_STREET_ANGLE = np.radians(14.0)


@dataclass
class Landscape:
    """Static per-pixel description of the land on one grid (all arrays ``(rows, cols)``).

    ``classes`` holds the land-cover codes; the other fields are what :mod:`.spectra` needs to
    give each pixel its own reflectance: crop ``vigor`` (0-1), green-up ``shift`` (days) and
    ``pasture`` flag of fields, forest ``canopy`` texture (about -1..1), the ``urban`` share of
    town pixels (1 on streets), town ``roof`` brightness, river ``turbidity`` (0-1).
    """

    classes: np.ndarray
    vigor: np.ndarray
    shift: np.ndarray
    pasture: np.ndarray
    canopy: np.ndarray
    urban: np.ndarray
    roof: np.ndarray
    turbidity: np.ndarray

    def subset(self, rows: slice, cols: slice) -> "Landscape":
        """The same landscape on a rectangular part of the grid.

        Parameters
        ----------
        rows, cols : slice

        Returns
        -------
        Landscape
        """
        return Landscape(**{k: getattr(self, k)[rows, cols] for k in self.__dataclass_fields__})


def river_centerline(u: np.ndarray) -> np.ndarray:
    """North offset (m, from the AOI centre) of the river's centre line at east offset ``u``.

    Parameters
    ----------
    u : array_like
        East offsets from the AOI centre (m).

    Returns
    -------
    numpy.ndarray
    """
    u = np.asarray(u, dtype=np.float64)
    wander = 90 * value_noise(u, np.zeros(1), 700.0, _SEED + 1)[0]
    return (-640 + 170 * np.sin(2 * np.pi * (u + 400) / 2300) + 60 * np.sin(2 * np.pi * (u - 150) / 830 + 1.0)
            + wander + 1800 * np.sin(2 * np.pi * u / 40000))


def _river(u, v) -> tuple[np.ndarray, np.ndarray]:
    """(is river, signed distance from the centre line in m) on the grid."""
    centre = river_centerline(u[0])[None, :]
    width = 75 + 25 * np.sin(2 * np.pi * u / 3100)
    d = v - centre
    return np.abs(d) < width / 2, d


def _voronoi(x, y, spacing: float, seed: int):
    """Cells of a jittered lattice (Voronoi): (cell id, distance to the nearest boundary in m)."""
    gx, gy = np.floor(x / spacing).astype(np.int64), np.floor(y / spacing).astype(np.int64)
    best = np.full(np.broadcast(x, y).shape, np.inf)
    second = best.copy()
    pid = np.zeros(best.shape, dtype=np.int64)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            cx, cy = gx + dx, gy + dy
            sx = (cx + 0.1 + 0.8 * hash_uniform(cx, cy, seed)) * spacing
            sy = (cy + 0.1 + 0.8 * hash_uniform(cx, cy, seed + 1)) * spacing
            d = np.hypot(x - sx, y - sy)
            closer = d < best
            second = np.where(closer, best, np.minimum(second, d))
            best = np.where(closer, d, best)
            pid = np.where(closer, cx * 1_000_003 + cy, pid)
    return pid, (second - best) / 2


def _clearings(u, v, x, y, river_d) -> np.ndarray:
    """Where the farmland is: a clearing north-west of the campus, a block south of the river,
    and (over the whole tile) farm districts drawn from low-frequency noise."""
    edge = 140 * value_noise(x[0], y[:, 0], 220.0, _SEED + 4)
    north_west = (u > -1350 + edge) & (u < -120 - edge) & (v > 120 + edge) & (v < 1350 - edge)
    south = (u > -1500 - edge) & (u < 350 + edge) & (river_d < -90) & (river_d > -760 + edge)
    districts = fbm(x[0], y[:, 0], 9000.0, _SEED + 5, octaves=2) > 0.32
    far = np.hypot(u, v) > 2600
    return north_west | south | (districts & far)


def _towns(u, v, x, y) -> np.ndarray:
    """Built-up areas: the campus, the quarter south-east of it, and Prince George 5 km east."""
    wobble = 110 * value_noise(x[0], y[:, 0], 160.0, _SEED + 6)
    cos, sin = np.cos(np.radians(20)), np.sin(np.radians(20))
    a, b = (u - 260) * cos + (v - 260) * sin, -(u - 260) * sin + (v - 260) * cos
    campus = (a / 560) ** 2 + (b / 380) ** 2 < 1 + wobble / 400
    quarter = ((u - 1500) / 1150) ** 2 + ((v + 1550) / 850) ** 2 < 1 + wobble / 500
    city = np.hypot(u - 4200, (v - 2800) * 1.3) < 3400 + 4 * wobble
    return campus | quarter | city


def landscape(xs: np.ndarray, ys: np.ndarray, detail: bool = True) -> Landscape:
    """The landscape on the grid of pixel centres ``ys x xs`` (EPSG:32610 metres, 1-D arrays).

    Parameters
    ----------
    xs, ys : numpy.ndarray
        Pixel-centre x of the columns and y of the rows (north first).
    detail : bool
        False for grids much coarser than the parcels and stands (the 320 m preview): each pixel
        then gets their average instead of the one parcel or stand its centre falls in, as a
        coarse sensor would see it.

    Returns
    -------
    Landscape
    """
    cx, cy = aoi_center_utm()
    x, y = np.asarray(xs, float)[None, :], np.asarray(ys, float)[:, None]
    u, v = x - cx, y - cy
    shape = (y.shape[0], x.shape[1])
    u, v = np.broadcast_to(u, shape), np.broadcast_to(v, shape)
    x, y = np.broadcast_to(x, shape), np.broadcast_to(y, shape)
    river, river_d = _river(u, v)

    classes = np.full(shape, FOREST, dtype=np.uint8)
    fields = _clearings(u, v, x, y, river_d)
    classes[fields] = FIELDS
    town = _towns(u, v, x, y) & (np.abs(river_d) > 60)
    classes[town] = TOWN
    classes[river] = RIVER

    # fields: parcels, some split into strips; per-parcel vigour, green-up shift and use
    pid, to_edge = _voronoi(x, y, _PARCEL_M, _SEED + 2)
    h1 = hash_uniform(pid, 1, _SEED + 7)
    h2 = hash_uniform(pid, 2, _SEED + 7)
    h3 = hash_uniform(pid, 3, _SEED + 7)
    angle = np.pi * hash_uniform(pid, 4, _SEED + 7)
    strips = h3 < 0.35
    strip_id = np.floor((x * np.cos(angle) + y * np.sin(angle)) / (45 + 60 * h2)).astype(np.int64)
    sub = np.where(strips, pid * 131 + strip_id, pid)
    vigor = 0.72 + 0.28 * hash_uniform(sub, 5, _SEED + 8)
    vigor = np.where(to_edge < 7, 0.55 * vigor, vigor)  # grassy margins along the boundaries
    shift = np.round(-12 + 24 * hash_uniform(sub, 6, _SEED + 8))
    pasture = (h1 < 0.25) & ~strips

    # forest stands (~60 m cells) of different density, in districts of older and younger forest
    stand, _ = _voronoi(x, y, _STAND_M, _SEED + 15)
    district = np.round(2 * fbm(x[0], y[:, 0], 2500.0, _SEED + 10, octaves=2)) / 2
    canopy = np.clip(0.65 * (2 * hash_uniform(stand, 0, _SEED + 16) - 1) + 0.5 * district, -1, 1)

    # town: a street grid; each block its own share of roofs/pavement and roof brightness
    cos, sin = np.cos(_STREET_ANGLE), np.sin(_STREET_ANGLE)
    a, b = (x * cos + y * sin) / _STREET_M, (-x * sin + y * cos) / _STREET_M
    street = (np.abs(a - np.round(a)) * _STREET_M < 7) | (np.abs(b - np.round(b)) * _STREET_M < 7)
    bx, by = np.floor(a).astype(np.int64), np.floor(b).astype(np.int64)
    urban = np.where(street, 1.0, 0.45 + 0.5 * hash_uniform(bx, by, _SEED + 12))
    roof = 0.75 + 0.6 * hash_uniform(bx, by, _SEED + 13)

    turbidity = np.round(4 * (0.5 + 0.5 * fbm(x[0], y[:, 0], 400.0, _SEED + 14, octaves=2))) / 4

    if not detail:
        vigor, shift, pasture = np.full(shape, 0.72 + 0.14), np.zeros(shape), np.zeros(shape, bool)
        canopy, urban, roof = np.clip(0.5 * district, -1, 1), np.full(shape, 0.7), np.full(shape, 1.05)
    is_f, is_t = classes == FIELDS, classes == TOWN
    return Landscape(
        classes=classes,
        vigor=np.where(is_f, np.clip(vigor, 0, 1), 0.0),
        shift=np.where(is_f, shift, 0.0),
        pasture=is_f & pasture,
        canopy=np.where(classes == FOREST, canopy, 0.0),
        urban=np.where(is_t, urban, 0.0),
        roof=np.where(is_t, roof, 1.0),
        turbidity=np.where(classes == RIVER, turbidity, 0.0),
    )
