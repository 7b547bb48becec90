"""STAC items and the collection, key for key as MPC serves ``sentinel-2-l2a``.

The references are two real MPC items (``tests/data/s2archive_mpc_item_{2019_baseline0212,
2024_baseline0510}.json``) and MPC's collection (recorded 2025-07-31): every property in MPC's
order, all 24 asset keys with their fields (``proj:*`` of the whole MGRS tile), the six link
rels, projection extension v1.1.0 on 05.10 products and v1.0.0 before. Each item's geometry is
the tile's footprint, minus what lies beyond the swath edge for relative orbit 113, as MPC's
footprints follow the valid data.

Percentages (``eo:cloud_cover``, ``s2:*_percentage``) are computed from the SCL written, over
the valid pixels of the full-resolution window (the only pixels there are);
``s2:nodata_pixel_percentage`` is the share of the whole tile beyond the swath edge, which is
what the geometry leaves out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
from shapely import transform as shapely_transform
from shapely.geometry import Polygon

from labhelpers_standin.archive.sentinel2.geography import (
    EPSG, MGRS_TILE, TILE_BBOX, aoi_center_lonlat, tile_footprint, tile_shape, tile_transform, to_lonlat,
)
from labhelpers_standin.archive.sentinel2.render import (
    SCL_CIRRUS, SCL_CLOUD_HIGH, SCL_CLOUD_MEDIUM, SCL_NODATA, swath_edge_line,
)
from labhelpers_standin.archive.sentinel2.schedule import Scene, mission, reflectance_conversion_factor, solar_angles
from labhelpers_standin.archive.sentinel2.spectra import BANDS

__all__ = [
    "COLLECTION_ID", "ACCOUNT", "CONTAINER", "MPC_STAC", "MPC_DATA_API", "COG_TYPE", "ASSET_KEYS",
    "scl_percentages", "footprint", "stac_item", "collection", "asset_description",
]

COLLECTION_ID = "sentinel-2-l2a"
ACCOUNT = "sentinel2l2a01"
CONTAINER = "sentinel2-l2"
MPC_STAC = "https://planetarycomputer.microsoft.com/api/stac/v1"
MPC_DATA_API = "https://planetarycomputer.microsoft.com/api/data/v1"
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"
#: MPC's asset keys, in MPC's order.
ASSET_KEYS = (
    "AOT", "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B11", "B12", "B8A", "SCL", "WVP",
    "visual", "preview", "safe-manifest", "granule-metadata", "inspire-metadata", "product-metadata",
    "datastrip-metadata", "tilejson", "rendered_preview",
)
_TITLES = {
    "AOT": "Aerosol optical thickness (AOT)", "SCL": "Scene classfication map (SCL)",  # sic: MPC's spelling
    "WVP": "Water vapour (WVP)", "visual": "True color image", "preview": "Thumbnail",
    "safe-manifest": "SAFE manifest", "granule-metadata": "Granule metadata", "inspire-metadata": "INSPIRE metadata",
    "product-metadata": "Product metadata", "datastrip-metadata": "Datastrip metadata",
}
_GSD = {"AOT": 10, "SCL": 20, "WVP": 10, "visual": 10}
_SCL_PERCENTAGES = {  # property -> SCL codes, as ESA counts them in the granule metadata
    "s2:water_percentage": (6,),
    "s2:snow_ice_percentage": (11,),
    "s2:vegetation_percentage": (4,),
    "s2:thin_cirrus_percentage": (10,),
    "s2:cloud_shadow_percentage": (3,),
    "s2:unclassified_percentage": (7,),
    "s2:dark_features_percentage": (2,),
    "s2:not_vegetated_percentage": (5,),
    "s2:high_proba_clouds_percentage": (9,),
    "s2:medium_proba_clouds_percentage": (8,),
    "s2:saturated_defective_pixel_percentage": (1,),
}


def asset_description(key: str) -> dict:
    """What MPC says about an asset whatever the item (its ``item_assets`` entry).

    Parameters
    ----------
    key : str
        One of :data:`ASSET_KEYS` except the two data-API ones.

    Returns
    -------
    dict
        ``gsd``/``type``/``roles``/``title``/``eo:bands`` as MPC's collection lists them.
    """
    if key in BANDS:
        band = BANDS[key]
        return {"gsd": float(band.gsd), "type": COG_TYPE, "roles": ["data"], "title": f"{band.description} - {band.gsd}m",
                "eo:bands": [band.eo()]}
    if key in _GSD:
        out = {"gsd": float(_GSD[key]), "type": COG_TYPE, "roles": ["data"], "title": _TITLES[key]}
        if key == "visual":
            out["eo:bands"] = [BANDS[b].eo() for b in ("B04", "B03", "B02")]
        return out
    if key == "preview":
        return {"type": COG_TYPE, "roles": ["thumbnail"], "title": _TITLES[key]}
    return {"type": "application/xml", "roles": ["metadata"], "title": _TITLES[key]}


def _data_asset(key: str, href: str) -> dict:
    """An image asset with MPC's fields, in MPC's (2024) order."""
    d = asset_description(key)
    gsd = int(d["gsd"])
    t = tile_transform(gsd)
    out = {"href": href, "proj:bbox": list(TILE_BBOX), "proj:shape": list(tile_shape(gsd)),
           "proj:transform": [t.a, t.b, t.c, t.d, t.e, t.f], "gsd": d["gsd"], "type": d["type"], "roles": d["roles"],
           "title": d["title"]}
    if "eo:bands" in d:
        out["eo:bands"] = d["eo:bands"]
    return out


def scl_percentages(scl: np.ndarray, nodata_fraction: float) -> dict[str, float]:
    """``eo:cloud_cover`` and the ``s2:*`` percentages as ESA computes them: every class over the
    valid pixels, cloud = medium + high probability + thin cirrus; nodata is ``nodata_fraction``
    of the tile (see the module docstring).

    Parameters
    ----------
    scl : numpy.ndarray
        The SCL written (the window).
    nodata_fraction : float
        Share of the tile without data (0-1).

    Returns
    -------
    dict
    """
    counts = np.bincount(scl.reshape(-1), minlength=12)
    valid = max(scl.size - int(counts[SCL_NODATA]), 1)
    pct = {key: round(100 * int(counts[list(codes)].sum()) / valid, 6) for key, codes in _SCL_PERCENTAGES.items()}
    cloud = int(counts[[SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH, SCL_CIRRUS]].sum())
    pct["eo:cloud_cover"] = round(100 * cloud / valid, 6)
    pct["s2:nodata_pixel_percentage"] = round(100 * nodata_fraction, 6)
    pct["s2:degraded_msi_data_percentage"] = 0.0
    return pct


def footprint(scene: Scene) -> tuple[Polygon, float]:
    """The item's geometry (lon/lat) and the share of the tile outside it: the whole tile, or for
    relative orbit 113 the part east of the swath edge.

    Parameters
    ----------
    scene : Scene

    Returns
    -------
    (shapely.geometry.Polygon, float)
    """
    tile = tile_footprint()
    area = tile
    if scene.swath_edge_m is not None:
        y0, y1 = TILE_BBOX[1] - 1000, TILE_BBOX[3] + 1000
        (x0, _), (x1, _) = swath_edge_line(scene, y0, y1)
        far = TILE_BBOX[2] + 1000
        area = tile.intersection(Polygon([(x0, y0), (far, y0), (far, y1), (x1, y1)]))
    lonlat = shapely_transform(area, to_lonlat().transform, interleaved=False)
    ring = [(round(x, 7), round(y, 7)) for x, y in lonlat.exterior.coords]
    return Polygon(ring), 1 - area.area / tile.area


def _isotime(t: datetime, digits: int) -> str:
    """MPC's timestamps: ``2019-06-29T21:25:29.024000Z`` (items) or with ms (Esri generation)."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[: 20 + digits] + "Z"


def stac_item(scene: Scene, scl: np.ndarray, hrefs: dict[str, str], product_uri: str) -> dict:
    """The STAC item of a scene, key for key the way MPC serves ``sentinel-2-l2a`` items.

    Parameters
    ----------
    scene : Scene
    scl : numpy.ndarray
        The SCL written for it (the percentages come from it).
    hrefs : dict
        Asset key -> MPC href, for every key of :data:`ASSET_KEYS` plus ``"map"`` (the page the
        ``preview`` link opens).
    product_uri : str
        The SAFE name.

    Returns
    -------
    dict
    """
    t, p, n = scene.sensing, mission(scene.platform), scene.baseline
    created = scene.generation + timedelta(seconds=2 if scene.processor == "ESRI" else 0)
    zenith, azimuth = solar_angles(t, *aoi_center_lonlat())
    geometry, outside = footprint(scene)
    pct = scl_percentages(scl, outside)
    properties = {
        "datetime": _isotime(t.replace(microsecond=24000), 6),
        "platform": scene.platform,
        "proj:epsg": EPSG,
        "instruments": ["msi"],
        "s2:mgrs_tile": MGRS_TILE,
        "constellation": "Sentinel 2",
        "s2:granule_id": f"{p}_OPER_MSI_L2A_TL_{scene.processor}_{created:%Y%m%dT%H%M%S}_A{scene.absolute_orbit:06d}"
                         f"_T{MGRS_TILE}_N{n}",
        "eo:cloud_cover": pct["eo:cloud_cover"],
        "s2:datatake_id": f"G{p}_{t:%Y%m%dT%H%M%S}_{scene.absolute_orbit:06d}_N{n}",
        "s2:product_uri": product_uri,
        "s2:datastrip_id": f"{p}_OPER_MSI_L2A_DS_{scene.processor}_{created:%Y%m%dT%H%M%S}_S{t:%Y%m%dT%H%M%S}_N{n}",
        "s2:product_type": "S2MSI2A",
        "sat:orbit_state": "descending",
        "s2:datatake_type": "INS-NOBS",
        "s2:generation_time": _isotime(scene.generation, 3 if scene.processor == "ESRI" else 6),
        "sat:relative_orbit": scene.relative_orbit,
        "s2:water_percentage": pct["s2:water_percentage"],
        "s2:mean_solar_zenith": zenith,
        "s2:mean_solar_azimuth": azimuth,
        "s2:processing_baseline": n,
        "s2:snow_ice_percentage": pct["s2:snow_ice_percentage"],
        "s2:vegetation_percentage": pct["s2:vegetation_percentage"],
        "s2:thin_cirrus_percentage": pct["s2:thin_cirrus_percentage"],
        "s2:cloud_shadow_percentage": pct["s2:cloud_shadow_percentage"],
        "s2:nodata_pixel_percentage": pct["s2:nodata_pixel_percentage"],
        "s2:unclassified_percentage": pct["s2:unclassified_percentage"],
        "s2:dark_features_percentage": pct["s2:dark_features_percentage"],
        "s2:not_vegetated_percentage": pct["s2:not_vegetated_percentage"],
        "s2:degraded_msi_data_percentage": pct["s2:degraded_msi_data_percentage"],
        "s2:high_proba_clouds_percentage": pct["s2:high_proba_clouds_percentage"],
        "s2:reflectance_conversion_factor": reflectance_conversion_factor(t.date()),
        "s2:medium_proba_clouds_percentage": pct["s2:medium_proba_clouds_percentage"],
        "s2:saturated_defective_pixel_percentage": pct["s2:saturated_defective_pixel_percentage"],
    }
    coll_url = f"{MPC_STAC}/collections/{COLLECTION_ID}"
    assets = {}
    for key in ASSET_KEYS:
        if key == "tilejson":
            assets[key] = {"title": "TileJSON with default rendering", "href": hrefs[key], "type": "application/json",
                           "roles": ["tiles"]}
        elif key == "rendered_preview":
            assets[key] = {"title": "Rendered preview", "rel": "preview", "href": hrefs[key], "roles": ["overview"],
                           "type": "image/png"}
        elif key in BANDS or key in _GSD:
            assets[key] = _data_asset(key, hrefs[key])
        else:
            assets[key] = {"href": hrefs[key], **asset_description(key)}
    return {
        "id": scene.id,
        "bbox": list(geometry.bounds),
        "type": "Feature",
        "links": [
            {"rel": "collection", "type": "application/json", "href": coll_url},
            {"rel": "parent", "type": "application/json", "href": coll_url},
            {"rel": "root", "type": "application/json", "href": f"{MPC_STAC}/"},
            {"rel": "self", "type": "application/geo+json", "href": f"{coll_url}/items/{scene.id}"},
            {"rel": "license", "href": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"},
            {"rel": "preview", "href": hrefs["map"], "title": "Map of item", "type": "text/html"},
        ],
        "assets": assets,
        "geometry": {"type": "Polygon", "coordinates": [[list(c) for c in geometry.exterior.coords]]},
        "collection": COLLECTION_ID,
        "properties": properties,
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.0.0/schema.json",
            "https://stac-extensions.github.io/sat/v1.0.0/schema.json",
            # MPC serves projection v1.1.0 on recent (05.10) items and v1.0.0 on older ones
            f"https://stac-extensions.github.io/projection/v1.{1 if n >= '05.10' else 0}.0/schema.json",
        ],
        "stac_version": "1.0.0",
    }


def collection(items: list[dict]) -> dict:
    """The ``sentinel-2-l2a`` collection: MPC's (recorded 2025-07-31) with this archive's extent.

    Parameters
    ----------
    items : list of dict
        The archive's items, by datetime.

    Returns
    -------
    dict
    """
    bboxes = np.array([it["bbox"] for it in items])
    item_assets = {key: asset_description(key) for key in ASSET_KEYS if key not in ("tilejson", "rendered_preview")}
    self_url = f"{MPC_STAC}/collections/{COLLECTION_ID}"
    summary_bands = [{"name": "AOT", "description": "aerosol optical thickness"}] + [
        {"gsd": b.gsd, **b.eo()} for b in BANDS.values()
    ]
    return {
        "id": COLLECTION_ID,
        "type": "Collection",
        "links": [
            {"rel": "items", "type": "application/geo+json", "href": f"{self_url}/items"},
            {"rel": "parent", "type": "application/json", "href": f"{MPC_STAC}/"},
            {"rel": "root", "type": "application/json", "href": f"{MPC_STAC}/"},
            {"rel": "self", "type": "application/json", "href": self_url},
            {"rel": "license", "title": "Copernicus Sentinel data terms",
             "href": "https://scihub.copernicus.eu/twiki/pub/SciHubWebPortal/TermsConditions/Sentinel_Data_Terms_and_Conditions.pdf"},
            {"rel": "describedby", "href": "https://planetarycomputer.microsoft.com/dataset/sentinel-2-l2a",
             "title": "Human readable dataset overview and reference", "type": "text/html"},
        ],
        "title": "Sentinel-2 Level-2A",
        "assets": {"thumbnail": {
            "href": "https://ai4edatasetspublicassets.blob.core.windows.net/assets/pc_thumbnails/sentinel-2.png",
            "type": "image/png", "roles": ["thumbnail"], "title": "Sentinel 2 L2A"}},
        "extent": {
            "spatial": {"bbox": [[*bboxes[:, :2].min(axis=0).tolist(), *bboxes[:, 2:].max(axis=0).tolist()]]},
            "temporal": {"interval": [[items[0]["properties"]["datetime"], items[-1]["properties"]["datetime"]]]},
        },
        "license": "proprietary",
        "keywords": ["Sentinel", "Copernicus", "ESA", "Satellite", "Global", "Imagery", "Reflectance"],
        "providers": [
            {"url": "https://sentinel.esa.int/web/sentinel/missions/sentinel-2", "name": "ESA", "roles": ["producer", "licensor"]},
            {"url": "https://www.esri.com/", "name": "Esri", "roles": ["processor"]},
            {"url": "https://planetarycomputer.microsoft.com", "name": "Microsoft", "roles": ["host", "processor"]},
        ],
        "summaries": {
            "gsd": [10, 20, 60],
            "eo:bands": summary_bands,
            "platform": ["Sentinel-2A", "Sentinel-2B"],
            "instruments": ["msi"],
            "constellation": ["sentinel-2"],
            "view:off_nadir": [0],
        },
        "description": (
            "SYNTHETIC offline stand-in for MPC's Sentinel-2 Level-2A collection: a deterministic archive of "
            f"full tiles {MGRS_TILE} (data near the labhelpers AOI only), generated by "
            "labhelpers_standin.archive.sentinel2; not Copernicus data. Collection metadata follows MPC's real "
            "collection (GET /api/stac/v1/collections/sentinel-2-l2a, recorded 2025-07-31). MPC's description: "
            "The [Sentinel-2](https://sentinel.esa.int/web/sentinel/missions/sentinel-2) program provides global "
            "imagery in thirteen spectral bands at 10m-60m resolution and a revisit time of approximately five days.  "
            "This dataset represents the global Sentinel-2 archive, from 2016 to the present, processed to L2A "
            "(bottom-of-atmosphere) using [Sen2Cor](https://step.esa.int/main/snap-supported-plugins/sen2cor/) and "
            "converted to [cloud-optimized GeoTIFF](https://www.cogeo.org/) format."
        ),
        "item_assets": item_assets,
        "stac_version": "1.0.0",
        "msft:container": CONTAINER,
        "stac_extensions": [
            "https://stac-extensions.github.io/item-assets/v1.0.0/schema.json",
            "https://stac-extensions.github.io/table/v1.2.0/schema.json",
        ],
        "msft:storage_account": ACCOUNT,
        "msft:short_description": (
            "The Sentinel-2 program provides global imagery in thirteen spectral bands at 10m-60m resolution and a "
            "revisit time of approximately five days.  This dataset contains the global Sentinel-2 archive, from 2016 "
            "to the present, processed to L2A (bottom-of-atmosphere)."
        ),
        "msft:region": "westeurope",
        "labhelpers:source": (
            "Shape copied from the real MPC collection and items recorded in pystac-client's test cassettes (MIT) "
            "and odc-stac's test data (Apache-2.0); pixels are synthetic."
        ),
    }
