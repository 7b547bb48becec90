"""A tiny offline archive for the service tests, used until the real generators are installed.

It has the real archive's layout (``labhelpers_standin.archive.layout``) and an MPC-shaped
``sentinel-2-l2a`` collection of 30 items on one tile, so the services can be tested end to end
without the minute-long real build:

* pixels: a real Sentinel-2 L2A tile (29RKH, 2020-02-19, decimated x10; cogeotiff/rio-tiler-pds,
  BSD-3-Clause; see ``tests/data/README.md``), the SCL COG for every item and B04 for the first;
* items: the real MPC item ``S2B_MSIL2A_20240516T162829_R083_T31XDL_20240516T214419``
  (pystac-client's recorded MPC response, MIT; ``tests/data/stac``) with its id, datetime,
  cloud cover, footprint and assets rewritten for the tile above, hrefs on MPC's blob account;
* 6 items in December 2019 and 24 in 2020, cloud cover ``(37 * i) % 100``: the manifest records,
  in the real generator's format, a bbox/datetime/cloud query and exactly which items match it.
"""

from __future__ import annotations

import copy
import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from labhelpers_standin.archive.layout import blob_path, mpc_href

DATA = Path(__file__).parent / "data"
TILE = DATA / "sentinel2_29RKH"
TEMPLATE = DATA / "stac" / "mpc_s2l2a_item_S2B_MSIL2A_20240516T162829_R083_T31XDL_20240516T214419.json"
FOOTPRINT = DATA / "sentinel2_29RKH" / "S2A_29RKH_20200219_0_L2A.json"
VERSION = "tiny-test-archive-1"
SEARCH = {"bbox": [-11.6, 24.6, -11.2, 25.0], "datetime": "2020-01-01/2020-12-31", "cloud_cover_lt": 25}


def _item(i: int, when: datetime, template: dict, footprint: dict) -> dict:
    stamp = when.strftime("%Y%m%dT%H%M%S")
    item_id = f"S2A_MSIL2A_{stamp}_R037_T29RKH_{stamp}"
    folder = f"29/R/KH/{when:%Y/%m/%d}/S2A_MSIL2A_{stamp}_N0214_R037_T29RKH_{stamp}.SAFE/GRANULE/L2A_T29RKH/IMG_DATA"
    item = copy.deepcopy(template)
    item["id"] = item_id
    item["bbox"], item["geometry"] = footprint["bbox"], footprint["geometry"]
    item["properties"].update({
        "datetime": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "eo:cloud_cover": float((37 * i) % 100),
        "proj:epsg": 32629, "s2:mgrs_tile": "29RKH", "s2:processing_baseline": "02.14",
        "platform": "Sentinel-2A", "s2:product_uri": f"S2A_MSIL2A_{stamp}_N0214_R037_T29RKH_{stamp}.SAFE",
    })
    keep = {"SCL": f"{folder}/R20m/T29RKH_{stamp}_SCL_20m.tif"}
    if i == 0:
        keep["B04"] = f"{folder}/R10m/T29RKH_{stamp}_B04_10m.tif"
    assets = {}
    for key, path in keep.items():
        a = copy.deepcopy(template["assets"][key])
        a["href"] = mpc_href("sentinel2l2a01", "sentinel2-l2", path)
        assets[key] = a
    item["assets"] = assets
    item["links"] = [link for link in item["links"] if link["rel"] in ("license", "self", "collection", "parent", "root")]
    return item


def build(root: Path) -> Path:
    """Write the tiny archive into ``root`` (complete with manifest.json and BUILD_OK)."""
    template = json.loads(TEMPLATE.read_text())
    footprint = json.loads(FOOTPRINT.read_text())
    days = [datetime(2019, 12, 1, 11, 21, 21, tzinfo=timezone.utc) + timedelta(days=5 * i) for i in range(6)]
    days += [datetime(2020, 1, 3, 11, 21, 21, tzinfo=timezone.utc) + timedelta(days=15 * i) for i in range(24)]
    items = [_item(i, when, template, footprint) for i, when in enumerate(days)]
    for item in items:
        for key, asset in item["assets"].items():
            dest = blob_path(root, asset["href"])
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(TILE / f"S2A_29RKH_20200219_0_L2A_{key}.tif", dest)
    (root / "stac" / "items").mkdir(parents=True, exist_ok=True)
    (root / "stac" / "collections").mkdir(parents=True, exist_ok=True)
    with open(root / "stac" / "items" / "sentinel-2-l2a.ndjson", "w") as f:
        for item in items:
            f.write(json.dumps(item) + "\n")
    collection = {
        "type": "Collection", "id": "sentinel-2-l2a", "stac_version": "1.0.0",
        "title": "Sentinel-2 Level-2A (tiny test archive)",
        "description": "A tiny stand-in for MPC's sentinel-2-l2a collection, for service tests.",
        "license": "proprietary", "links": [],
        "extent": {"spatial": {"bbox": [footprint["bbox"]]},
                   "temporal": {"interval": [[items[0]["properties"]["datetime"], items[-1]["properties"]["datetime"]]]}},
        "msft:storage_account": "sentinel2l2a01", "msft:container": "sentinel2-l2",
    }
    (root / "stac" / "collections" / "sentinel-2-l2a.json").write_text(json.dumps(collection))
    start, end = SEARCH["datetime"].split("/")
    matching = [
        it["id"] for it in items
        if start <= it["properties"]["datetime"][:10] <= end
        and it["properties"]["eo:cloud_cover"] < SEARCH["cloud_cover_lt"]
    ]
    # The same keys as labhelpers_standin.archive.sentinel2's truth (the subset the service tests read).
    manifest = {
        "sentinel-2-l2a": {
            "aoi_bbox": SEARCH["bbox"],
            "lab_query": {"datetime": SEARCH["datetime"], "eo:cloud_cover_lt": SEARCH["cloud_cover_lt"], "ids": matching},
            "counts": {"archive": len(items), "lab_query": len(matching)},
        },
        "modis": {}, "size": "ci", "builder_version": VERSION,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    (root / "BUILD_OK").write_text(json.dumps({"builder_version": VERSION}) + "\n")
    return root
