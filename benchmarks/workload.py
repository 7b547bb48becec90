"""What every method is asked to do: the same items, AOI, bands and output grid.

A :class:`Workload` is plain data (it crosses a process boundary as JSON): the path of a saved
STAC ItemCollection, the AOI's lon/lat bbox, the asset keys and the output resolution. The
output grid is the one :func:`labhelpers.sentinel2.stack` derives from those (EPSG:32610,
the AOI bbox projected and snapped outward to multiples of the resolution, pixels labelled by
their centres); :func:`grid` reads it off a lazy stack (no pixels are read), and every other
method writes onto exactly that grid, so composites can be compared pixel by pixel.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

# The lab's AOI (as students receive it) and the tile's own CRS (UTM 10N: no reprojection, only
# resampling), from the archive that defines them.
from labhelpers_standin.archive.sentinel2 import AOI, EPSG

ASSETS = ("B04", "B03", "B02", "B08")  # red, green, blue, nir: the lab's composite bands
MAX_CLOUD = 25  # the lab's cloud limit (eo:cloud_cover < 25 %)


@dataclass(frozen=True)
class Workload:
    items_path: str
    bbox: tuple[float, float, float, float]
    resolution: float
    assets: tuple[str, ...] = ASSETS
    epsg: int = EPSG

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Workload":
        d = json.loads(text)
        return cls(d["items_path"], tuple(d["bbox"]), d["resolution"], tuple(d["assets"]), d["epsg"])


def aoi_bbox() -> tuple[float, float, float, float]:
    """The AOI's (west, south, east, north) in degrees."""
    lons, lats = zip(*AOI)
    return (min(lons), min(lats), max(lons), max(lats))


def save_items(catalog, period: str, path: Path, max_cloud: float = MAX_CLOUD) -> int:
    """Search the lab's query for ``period`` and save the items as a GeoJSON ItemCollection; returns the count."""
    import labhelpers.stac

    items = labhelpers.stac.search(catalog, aoi_bbox(), period, max_cloud=max_cloud)
    items.save_object(str(path))
    return len(items)


@lru_cache(maxsize=None)
def load_items(items_path: str):
    import pystac

    return list(pystac.ItemCollection.from_file(items_path))


@dataclass(frozen=True)
class Grid:
    """The output grid: CRS, affine transform of the top-left corner, shape (rows, cols)."""

    epsg: int
    transform: tuple[float, ...]  # affine a, b, c, d, e, f
    shape: tuple[int, int]

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        a, _, c, _, e, f = self.transform
        return (c, f + e * self.shape[0], c + a * self.shape[1], f)


@lru_cache(maxsize=None)
def grid(wl: Workload) -> Grid:
    """The grid ``labhelpers.sentinel2.stack`` puts this workload on (lazy: reads no pixels)."""
    import labhelpers.sentinel2

    da = labhelpers.sentinel2.stack(load_items(wl.items_path), assets=wl.assets[:1], resolution=wl.resolution,
                                    bbox=wl.bbox, epsg=wl.epsg)
    t = da.attrs["transform"]
    return Grid(wl.epsg, (t.a, t.b, t.c, t.d, t.e, t.f), (da.sizes["y"], da.sizes["x"]))
