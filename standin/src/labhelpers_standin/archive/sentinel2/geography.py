"""Where the Sentinel-2 archive is: the lab's AOI, the real MGRS tile 10UEE, the data window.

The AOI is the handout's polygon, character for character (UNBC's campus on Cranbrook Hill,
Prince George, BC): five positions, the ring not closed, without GeoJSON's outer list level.
Projected to UTM zone 10N (EPSG:32610) it lies at x 511 403-513 113 m, y 5 970 521-5 972 496 m,
inside exactly one Sentinel-2 tile, 10UEE (x 499 980-609 780, y 5 890 220-6 000 020; its
neighbours 10UDE end at x 509 760 and 10UEF starts at y 5 990 220).

Every item covers the whole tile, like MPC's: ``proj:shape`` 10980 x 10980 at 10 m (5490 at 20 m,
1830 at 60 m). Pixels are written at full resolution only inside a :class:`Window` around the
AOI; the rest of each COG is sparse (nodata that takes no bytes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from affine import Affine
from pyproj import Transformer
from shapely import transform as shapely_transform
from shapely.geometry import Polygon, box

__all__ = [
    "AOI", "AOI_BBOX", "EPSG", "CRS", "MGRS_TILE", "TILE_ORIGIN", "TILE_SIZE_M", "TILE_BBOX",
    "Window", "to_utm", "to_lonlat", "aoi_polygon", "aoi_center_utm", "aoi_center_lonlat",
    "tile_shape", "tile_transform", "tile_footprint", "grid_centers",
]

#: The lab's AOI exactly as the handout gives it (five positions, not closed, no outer list).
AOI = [
    [-122.8226566, 53.9006842],
    [-122.826519, 53.8837441],
    [-122.8019714, 53.8829854],
    [-122.8004265, 53.9007348],
    [-122.8227425, 53.9006842],
]
#: [west, south, east, north] of the AOI (what the lab searches and stacks with).
AOI_BBOX = [min(p[0] for p in AOI), min(p[1] for p in AOI), max(p[0] for p in AOI), max(p[1] for p in AOI)]
EPSG = 32610
CRS = f"EPSG:{EPSG}"
MGRS_TILE = "10UEE"
#: Upper-left corner of tile 10UEE in EPSG:32610, and its side (10980 pixels of 10 m).
TILE_ORIGIN = (499980.0, 6000020.0)
TILE_SIZE_M = 109800.0
#: The tile's [xmin, ymin, xmax, ymax] in EPSG:32610: every asset's ``proj:bbox``.
TILE_BBOX = [TILE_ORIGIN[0], TILE_ORIGIN[1] - TILE_SIZE_M, TILE_ORIGIN[0] + TILE_SIZE_M, TILE_ORIGIN[1]]


@lru_cache(maxsize=1)
def to_utm() -> Transformer:
    """lon/lat (EPSG:4326, x = lon) to EPSG:32610.

    Returns
    -------
    pyproj.Transformer
    """
    return Transformer.from_crs(4326, EPSG, always_xy=True)


@lru_cache(maxsize=1)
def to_lonlat() -> Transformer:
    """EPSG:32610 to lon/lat (x = lon).

    Returns
    -------
    pyproj.Transformer
    """
    return Transformer.from_crs(EPSG, 4326, always_xy=True)


def aoi_polygon(utm: bool = False) -> Polygon:
    """The AOI as a closed shapely polygon.

    Parameters
    ----------
    utm : bool
        True for EPSG:32610 coordinates, False (default) for lon/lat.

    Returns
    -------
    shapely.geometry.Polygon
    """
    polygon = Polygon(AOI)
    return shapely_transform(polygon, to_utm().transform, interleaved=False) if utm else polygon


def aoi_center_utm() -> tuple[float, float]:
    """The AOI's centroid in EPSG:32610: the landscape is laid out in metres around it.

    Returns
    -------
    (float, float)
        x, y.
    """
    c = aoi_polygon(utm=True).centroid
    return c.x, c.y


def aoi_center_lonlat() -> tuple[float, float]:
    """Centre of the AOI's bbox: where solar angles are evaluated.

    Returns
    -------
    (float, float)
        lon, lat.
    """
    return (AOI_BBOX[0] + AOI_BBOX[2]) / 2, (AOI_BBOX[1] + AOI_BBOX[3]) / 2


def tile_shape(gsd: int) -> tuple[int, int]:
    """(rows, cols) of the whole tile at ``gsd`` metres: ``proj:shape``.

    Parameters
    ----------
    gsd : int

    Returns
    -------
    (int, int)
    """
    n = round(TILE_SIZE_M / gsd)
    return n, n


def tile_transform(gsd: float) -> Affine:
    """Geotransform of the whole tile at ``gsd`` metres: ``proj:transform``.

    Parameters
    ----------
    gsd : float

    Returns
    -------
    affine.Affine
    """
    return Affine(gsd, 0.0, TILE_ORIGIN[0], 0.0, -gsd, TILE_ORIGIN[1])


def tile_footprint() -> Polygon:
    """The tile's outline in EPSG:32610.

    Returns
    -------
    shapely.geometry.Polygon
    """
    return box(*TILE_BBOX)


def grid_centers(bbox, gsd: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre x (columns) and y (rows, north first) of a north-up grid over ``bbox``.

    Parameters
    ----------
    bbox : sequence of 4 float
        xmin, ymin, xmax, ymax (metres).
    gsd : float
        Pixel size.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
    """
    xmin, ymin, xmax, ymax = bbox
    x = xmin + gsd * (np.arange(round((xmax - xmin) / gsd)) + 0.5)
    y = ymax - gsd * (np.arange(round((ymax - ymin) / gsd)) + 0.5)
    return x, y


@dataclass(frozen=True)
class Window:
    """The part of the tile written at full resolution: 10 m pixels aligned to 60 m from the
    tile's corner, so the 20 m and 60 m grids nest exactly inside it."""

    xmin: float
    ymax: float
    width: int  # 10 m pixels
    height: int

    @classmethod
    def around_aoi(cls, margin_m: float) -> "Window":
        """The smallest 60 m-aligned window holding the AOI plus ``margin_m`` on every side.

        Parameters
        ----------
        margin_m : float

        Returns
        -------
        Window

        Raises
        ------
        ValueError
            When the margin reaches beyond tile 10UEE.
        """
        xs, ys = to_utm().transform(*zip(*AOI))
        x0 = TILE_ORIGIN[0] + 60 * math.floor((min(xs) - margin_m - TILE_ORIGIN[0]) / 60)
        x1 = TILE_ORIGIN[0] + 60 * math.ceil((max(xs) + margin_m - TILE_ORIGIN[0]) / 60)
        y0 = TILE_ORIGIN[1] - 60 * math.ceil((TILE_ORIGIN[1] - (min(ys) - margin_m)) / 60)
        y1 = TILE_ORIGIN[1] - 60 * math.floor((TILE_ORIGIN[1] - (max(ys) + margin_m)) / 60)
        if x0 < TILE_BBOX[0] or x1 > TILE_BBOX[2] or y0 < TILE_BBOX[1] or y1 > TILE_BBOX[3]:
            raise ValueError(f"A {margin_m} m margin around the AOI leaves tile {MGRS_TILE}.")
        return cls(x0, y1, round((x1 - x0) / 10), round((y1 - y0) / 10))

    @property
    def bbox(self) -> list[float]:
        """[xmin, ymin, xmax, ymax] of the window in EPSG:32610."""
        return [self.xmin, self.ymax - 10 * self.height, self.xmin + 10 * self.width, self.ymax]

    def shape(self, gsd: int) -> tuple[int, int]:
        """(rows, cols) of the window at ``gsd`` metres.

        Parameters
        ----------
        gsd : int

        Returns
        -------
        (int, int)
        """
        return self.height * 10 // gsd, self.width * 10 // gsd

    def offset(self, gsd: int) -> tuple[int, int]:
        """(row, col) of the window's first pixel in the whole tile's grid at ``gsd`` metres.

        Parameters
        ----------
        gsd : int

        Returns
        -------
        (int, int)
        """
        return round((TILE_ORIGIN[1] - self.ymax) / gsd), round((self.xmin - TILE_ORIGIN[0]) / gsd)

    def transform(self, gsd: int) -> Affine:
        """Geotransform of the window alone (the truth raster).

        Parameters
        ----------
        gsd : int

        Returns
        -------
        affine.Affine
        """
        return Affine(gsd, 0.0, self.xmin, 0.0, -gsd, self.ymax)

    def centers(self, gsd: int) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre x (1-D, columns) and y (1-D, rows) of the window at ``gsd``.

        Parameters
        ----------
        gsd : int

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
        """
        return grid_centers(self.bbox, gsd)
