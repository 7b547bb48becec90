"""STAC items and the collection of ``modis-43A4-061``, key for key as MPC serves them.

The reference is stactools-modis' item for MCD43A4.A2022032.h14v10.061 (``tests/data``), which is
what MPC's pctasks publish: per-band COG assets in ``modis-061-cogs`` (``raster:bands`` with the
0.0001 scale, ``eo:bands``, QA ``classification:classes``), the HDF4 file and its XML metadata in
``modis-061``, the sinusoidal grid as ``proj:wkt2``/``proj:transform``/``proj:shape``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from labhelpers import modis
from labhelpers_standin.archive.layout import mpc_href
from labhelpers_standin.archive.modis.granules import (
    ACCOUNT, COG_CONTAINER, HDF_CONTAINER, PRODUCT, folder, footprint, production_datetime, stem,
)
from labhelpers_standin.archive.modis.model import N, SEED
from labhelpers_standin.archive.modis.tiles import TileSpec

__all__ = ["BAND_INFO", "COG_TYPE", "QA_CLASSES", "make_item", "make_collection"]

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


def make_item(spec: TileSpec, day: str, prod: str) -> dict:
    """A STAC item shaped like MPC's ``modis-43A4-061`` items (same properties and asset keys).

    Parameters
    ----------
    spec : TileSpec
    day, prod : str
        The granule's day (YYYYDDD) and production time.

    Returns
    -------
    dict
    """
    date = modis.day_to_date(day)
    name, where = stem(spec, day, prod), folder(spec, day)
    xmin, ymin, xmax, ymax = modis.tile_bounds(spec.h, spec.v)
    lon, lat = footprint(spec.h, spec.v)
    created = production_datetime(prod).replace(".000Z", "Z")
    assets = {"hdf": {"href": mpc_href(ACCOUNT, HDF_CONTAINER, f"{where}/{name}.hdf"), "type": "application/x-hdf",
                      "title": "Source data containing all bands", "roles": ["data"]},
              "metadata": {"href": mpc_href(ACCOUNT, HDF_CONTAINER, f"{where}/{name}.hdf.xml"),
                           "type": "application/xml", "title": "Federal Geographic Data Committee (FGDC) Metadata",
                           "roles": ["metadata"]}}
    for key, template in _asset_templates().items():
        assets[key] = {"href": mpc_href(ACCOUNT, COG_CONTAINER, f"{where}/{name}_{key}.tif"), **template}
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
    """The ``modis-43A4-061`` collection as MPC publishes it (pctasks template, description filled in).

    Returns
    -------
    dict
    """
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
