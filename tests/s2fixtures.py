"""Real Sentinel-2 pixels in an MPC-shaped item, for pixel tests of labhelpers.sentinel2.

The pixels are a real L2A tile (29RKH, 2020-02-19, decimated x10; tests/data/README.md); the
item around them is a real MPC item (odc-stac's copy, baseline 02.12) with its hrefs and
``proj:*`` fields pointed at those files. That is exactly what ``stack`` sees from MPC: an item
with ``proj:epsg``, per-asset ``proj:transform``/``proj:shape``, no ``raster:bands``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import rasterio

DATA = Path(__file__).parent / "data"
TILE = DATA / "sentinel2_29RKH"
ASSETS = ("B02", "B03", "B04", "B08", "B11", "SCL")


def tile_path(asset: str, folder: Path = TILE) -> Path:
    return folder / f"S2A_29RKH_20200219_0_L2A_{asset}.tif"


def read(asset: str, folder: Path = TILE) -> np.ndarray:
    with rasterio.open(tile_path(asset, folder)) as src:
        return src.read(1)


def mpc_item(folder: Path = TILE, baseline: str = "02.14", item_id: str = "S2A_MSIL2A_20200219T112121_R037_T29RKH_20200219T142300",
             datetime: str = "2020-02-19T11:21:21Z") -> dict:
    """An MPC-shaped item dict whose assets are the real tile's files in ``folder``."""
    template = json.loads((DATA / "stac" / "odcstac_mpc_item_S2B_MSIL2A_20190629T212529_R043_T06VVN_20201006T080531.json").read_text())
    item = copy.deepcopy(template)
    item["id"] = item_id
    item["properties"].update({"datetime": datetime, "proj:epsg": 32629, "s2:processing_baseline": baseline,
                               "s2:mgrs_tile": "29RKH"})
    assets = {}
    for key in ASSETS:
        with rasterio.open(tile_path(key, folder)) as src:
            a = copy.deepcopy(template["assets"][key])
            a["href"] = str(tile_path(key, folder))
            a["proj:shape"] = [src.height, src.width]
            a["proj:transform"] = list(src.transform)[:6]
            a["proj:bbox"] = list(src.bounds)
        assets[key] = a
    item["assets"] = assets
    return item


def write_copy(dest: Path, offset: int = 0, swath_edge: bool = False) -> Path:
    """Copy the tile to ``dest``, optionally as a baseline >= 04.00 product writes it (every
    non-zero DN + ``offset``) and/or with a swath edge: the top-left triangle set to DN 0, as
    real scenes at the edge of the satellite's swath are."""
    dest.mkdir(parents=True, exist_ok=True)
    for key in ASSETS:
        with rasterio.open(tile_path(key)) as src:
            profile, data = src.profile, src.read(1)
        if key != "SCL":
            data = np.where(data == 0, 0, data.astype("uint32") + offset).astype("uint16")
        if swath_edge:
            rows, cols = np.indices(data.shape)
            data = np.where(rows + cols < data.shape[0] // 2, 0, data).astype(data.dtype)
        with rasterio.open(tile_path(key, dest), "w", **profile) as dst:
            dst.write(data, 1)
    return dest
