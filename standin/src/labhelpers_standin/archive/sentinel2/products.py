"""Write one scene as MPC stores it: a SAFE folder of COGs and metadata, and its STAC item.

Blob paths follow MPC's ``sentinel2l2a01/sentinel2-l2`` container::

    10/U/EE/YYYY/MM/DD/<product>.SAFE/
        GRANULE/L2A_T10UEE_A<orbit>_<time>/IMG_DATA/R10m/T10UEE_<time>_{B02,B03,B04,B08,AOT,WVP,TCI}_10m.tif
                                                  /R20m/T10UEE_<time>_{B05,B06,B07,B8A,B11,B12,SCL}_20m.tif
                                                  /R60m/T10UEE_<time>_{B01,B09}_60m.tif
                                       /QI_DATA/T10UEE_<time>_PVI.tif
                                       /MTD_TL.xml
        DATASTRIP/DS_<centre>_<created>_S<time>/MTD_DS.xml
        MTD_MSIL2A.xml  INSPIRE.xml  manifest.safe
        offline-data-api/{rendered_preview.png, tilejson.json, map.html}   (the stand-in's only addition)

Every band is a COG of the whole tile (10980, 5490 or 1830 pixels) in 1024-pixel blocks with
overviews down to one block (4 levels at 10 m, 3 at 20 m, 1 at 60 m), DEFLATE with the
horizontal predictor, nodata 0, written *sparse*: only the blocks touching the full-resolution
window hold bytes (see :mod:`labhelpers_standin.archive.cog`). Overviews are the window's pixels
by nearest neighbour (GDAL's NEAREST); outside the window every level is empty.

*Why the overviews are not filled for the whole tile.* A reader that uses overviews at 100 m
(GDAL, odc-stac, rioxarray's ``overview_level``) takes the 80 m level (1373 x 1373), the 160 m
level only from 160 m on. Filling both for the whole tile, from the landscape without its
parcels and stands, costs about 117 + 49 kB per band per scene (measured), so ~2.3 MB a scene
for the 12 bands, TCI and SCL, ~0.9 GB for ``ci`` (budget: ~400 MB) and about as much CPU as the
rest of the build; and the lab's own reader, stackstac 0.5.1, reads full resolution anyway. The
whole tile is shown instead by the product's *preview* (PVI, 320 m, the same landscape and
clouds) and the rendered preview PNG made from it.
"""

from __future__ import annotations

from pathlib import Path

from labhelpers_standin.archive import writer
from labhelpers_standin.archive.layout import blob_path, mpc_href
from labhelpers_standin.archive.sentinel2 import metadata
from labhelpers_standin.archive.sentinel2.geography import CRS, MGRS_TILE, TILE_BBOX, tile_shape, tile_transform, aoi_center_lonlat
from labhelpers_standin.archive.sentinel2.render import (
    BANDS_10M, BANDS_20M, BANDS_60M, PVI_GSD, Model, Rendered, encode_dn, render,
)
from labhelpers_standin.archive.sentinel2.schedule import Scene, mission, solar_angles
from labhelpers_standin.archive.sentinel2.stac import ACCOUNT, CONTAINER, COLLECTION_ID, MPC_DATA_API, stac_item

__all__ = ["BLOCKSIZE", "product_uri", "blob_paths", "write_scene"]

#: Tile size of every band COG (the figure of Sentinel-2 L2A COGs; see the report of issue 16).
BLOCKSIZE = 1024
# Overviews by nearest neighbour: every overview pixel is a pixel of the full resolution, and they
# compress like it (averages of a textured landscape made the overviews bigger than the image).
_RESAMPLING = "nearest"
_API_FOLDER = "offline-data-api"


def product_uri(scene: Scene) -> str:
    """The SAFE name: ``S2A_MSIL2A_<sensing>_N<baseline>_R<orbit>_T10UEE_<generation>.SAFE``.

    Parameters
    ----------
    scene : Scene

    Returns
    -------
    str
    """
    return (
        f"{mission(scene.platform)}_MSIL2A_{scene.sensing:%Y%m%dT%H%M%S}_N{scene.baseline.replace('.', '')}"
        f"_R{scene.relative_orbit:03d}_T{MGRS_TILE}_{scene.generation:%Y%m%dT%H%M%S}.SAFE"
    )


def _datastrip(scene: Scene) -> str:
    created = scene.generation.replace(microsecond=0)
    return f"DS_{scene.processor}_{created:%Y%m%dT%H%M%S}_S{scene.sensing:%Y%m%dT%H%M%S}"


def blob_paths(scene: Scene) -> dict[str, str]:
    """MPC's blob path (inside the container) of every file of the scene.

    Parameters
    ----------
    scene : Scene

    Returns
    -------
    dict
        Asset key -> path, plus ``"map"``: the page of the ``preview`` link.
    """
    t = scene.sensing
    safe = f"{MGRS_TILE[:2]}/{MGRS_TILE[2]}/{MGRS_TILE[3:]}/{t:%Y/%m/%d}/{product_uri(scene)}"
    granule = f"{safe}/GRANULE/L2A_T{MGRS_TILE}_A{scene.absolute_orbit:06d}_{t:%Y%m%dT%H%M%S}"
    stem = f"T{MGRS_TILE}_{t:%Y%m%dT%H%M%S}"
    img = f"{granule}/IMG_DATA"
    paths = {}
    for band in (*BANDS_10M, *BANDS_20M, *BANDS_60M, "AOT", "WVP", "SCL"):
        gsd = 10 if band in (*BANDS_10M, "AOT", "WVP") else 60 if band in BANDS_60M else 20
        paths[band] = f"{img}/R{gsd}m/{stem}_{band}_{gsd}m.tif"
    paths["visual"] = f"{img}/R10m/{stem}_TCI_10m.tif"
    paths["preview"] = f"{granule}/QI_DATA/{stem}_PVI.tif"
    paths["safe-manifest"] = f"{safe}/manifest.safe"
    paths["granule-metadata"] = f"{granule}/MTD_TL.xml"
    paths["inspire-metadata"] = f"{safe}/INSPIRE.xml"
    paths["product-metadata"] = f"{safe}/MTD_MSIL2A.xml"
    paths["datastrip-metadata"] = f"{safe}/DATASTRIP/{_datastrip(scene)}/MTD_DS.xml"
    paths["rendered_preview"] = f"{safe}/{_API_FOLDER}/rendered_preview.png"
    paths["tilejson"] = f"{safe}/{_API_FOLDER}/tilejson.json"
    paths["map"] = f"{safe}/{_API_FOLDER}/map.html"
    return paths


def _cog(root: Path, href: str, data, gsd: int, model: Model, **kw) -> Path:
    """A band COG of the whole tile at ``gsd`` with ``data`` in the window (sparse elsewhere)."""
    rows, cols = tile_shape(gsd)
    return writer.write_cog(blob_path(root, href), data, transform=tile_transform(gsd), crs=CRS, size=(cols, rows),
                            offset=model.window.offset(gsd), blocksize=BLOCKSIZE, resampling=_RESAMPLING, **kw)


def _write_images(root: Path, scene: Scene, px: Rendered, model: Model, hrefs: dict[str, str]) -> None:
    """The 16 image COGs and the preview."""
    valid10, valid20, valid60 = px.valid10, px.valid20, px.valid60
    for i, band in enumerate(BANDS_10M):
        _cog(root, hrefs[band], encode_dn(px.r10[i], scene.baseline, valid10), 10, model)
    for i, band in enumerate(BANDS_20M):
        _cog(root, hrefs[band], encode_dn(px.r20[i], scene.baseline, valid20), 20, model)
    for i, band in enumerate(BANDS_60M):
        _cog(root, hrefs[band], encode_dn(px.r60[i], scene.baseline, valid60), 60, model)
    _cog(root, hrefs["AOT"], px.aot, 10, model)
    _cog(root, hrefs["WVP"], px.wvp, 10, model)
    _cog(root, hrefs["SCL"], px.scl, 20, model)
    _cog(root, hrefs["visual"], px.tci, 10, model, photometric="rgb")
    n = round((TILE_BBOX[2] - TILE_BBOX[0]) / PVI_GSD)
    writer.write_cog(blob_path(root, hrefs["preview"]), px.pvi, transform=tile_transform(PVI_GSD), crs=CRS,
                     size=(n, n), blocksize=512, resampling=None, photometric="rgb")


def write_scene(scene: Scene, model: Model, root: Path) -> dict:
    """Render one scene, write all its files into archive ``root`` and return its STAC item.

    Parameters
    ----------
    scene : Scene
    model : Model
        The landscape shared by all scenes.
    root : pathlib.Path
        The archive being built.

    Returns
    -------
    dict
        The item, with MPC hrefs.
    """
    px = render(scene, model)
    paths = blob_paths(scene)
    hrefs = {key: mpc_href(ACCOUNT, CONTAINER, path) for key, path in paths.items()}
    _write_images(root, scene, px, model, hrefs)

    uri = product_uri(scene)
    item = stac_item(scene, px.scl, hrefs, uri)
    pct = {k: v for k, v in item["properties"].items() if k.endswith("_percentage") or k == "eo:cloud_cover"}
    zenith, azimuth = solar_angles(scene.sensing, *aoi_center_lonlat())
    granule = paths["granule-metadata"].split("/")[-2]
    texts = {
        "product-metadata": metadata.product_metadata(scene, uri, pct),
        "granule-metadata": metadata.granule_metadata(scene, granule, zenith, azimuth, pct),
        "datastrip-metadata": metadata.datastrip_metadata(scene, item["properties"]["s2:datastrip_id"]),
        "inspire-metadata": metadata.inspire_metadata(scene, uri, item["bbox"]),
    }
    for key, text in texts.items():
        writer.write_text(blob_path(root, hrefs[key]), text)
    writer.write_bytes(blob_path(root, hrefs["rendered_preview"]), writer.png_bytes(px.pvi))
    query = f"collection={COLLECTION_ID}&item={scene.id}&assets=visual&asset_bidx=visual%7C1%2C2%2C3&nodata=0"
    writer.write_text(blob_path(root, hrefs["tilejson"]),
                      metadata.tilejson(scene.id, item["bbox"], f"{MPC_DATA_API}/item/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}@1x?{query}"))
    writer.write_text(blob_path(root, hrefs["map"]), metadata.map_html(scene.id, "rendered_preview.png"))

    safe = paths["safe-manifest"].rsplit("/", 1)[0] + "/"
    listed = {}
    for key, path in paths.items():
        if key in ("safe-manifest", "tilejson", "rendered_preview", "map"):
            continue
        mime = "image/tiff" if path.endswith(".tif") else "text/xml"
        listed[key] = (path.removeprefix(safe), blob_path(root, hrefs[key]).stat().st_size, mime)
    writer.write_text(blob_path(root, hrefs["safe-manifest"]), metadata.safe_manifest(uri, listed))
    return item
