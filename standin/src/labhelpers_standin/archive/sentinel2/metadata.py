"""The small files of a Sentinel-2 L2A product besides its images: SAFE metadata and previews.

MPC's items link five metadata files of each product (``safe-manifest``, ``product-metadata``,
``granule-metadata``, ``datastrip-metadata``, ``inspire-metadata``). The stand-in writes them as
*short* XML documents with the real files' root elements and the fields a user looks for in
them (from ESA's Level-2A product specification; the real ``MTD_MSIL2A.xml`` of
S2A_MSIL2A_20230821T221941_N0509_R029_T01KAB in ``shared/reference`` is the model):
``PROCESSING_BASELINE``, ``BOA_QUANTIFICATION_VALUE`` and, from baseline 04.00, the per-band
``BOA_ADD_OFFSET`` of -1000, the cloud percentages, the tile's geocoding, the sun angles.

MPC's two data-API assets and its ``preview`` link (``rendered_preview`` -> a PNG made by its
tiler, ``tilejson`` -> TileJSON for map tiles, ``preview`` -> an HTML map) have no server
offline. The stand-in stores their static equivalents next to the product in blob storage, so
the hrefs resolve: the rendered preview as a real PNG (the PVI's pixels), a TileJSON 3.0.0
document describing the item (its ``tiles`` template names MPC's tiler, which only answers
online), and an HTML page showing the PNG.
"""

from __future__ import annotations

import json
from datetime import datetime
from xml.sax.saxutils import escape

from labhelpers_standin.archive.sentinel2.geography import EPSG, MGRS_TILE, TILE_ORIGIN, tile_shape
from labhelpers_standin.archive.sentinel2.schedule import Scene, boa_add_offset, mission
from labhelpers_standin.archive.sentinel2.spectra import BAND_ORDER

__all__ = ["product_metadata", "granule_metadata", "datastrip_metadata", "inspire_metadata", "safe_manifest",
           "tilejson", "map_html"]

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
_PSD = "https://psd-14.sentinel2.eo.esa.int/PSD"
_NOTE = "<!-- Synthetic product of the labhelpers offline stand-in; not Copernicus data. -->\n"
# ESA's band_id of each L2A band (B10 = 10 is not in L2A)
_BAND_ID = {b: i if i < 10 else i + 1 for i, b in enumerate(BAND_ORDER)}


def _t(when: datetime, digits: int = 3) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[: 20 + digits] + "Z"


def product_metadata(scene: Scene, product_uri: str, percentages: dict) -> str:
    """``MTD_MSIL2A.xml``: product info, quantification and offsets, quality indicators.

    Parameters
    ----------
    scene : Scene
    product_uri : str
    percentages : dict
        The item's cloud and class percentages.

    Returns
    -------
    str
    """
    offset = boa_add_offset(scene.baseline)
    offsets = ""
    if offset:
        rows = "".join(f'        <BOA_ADD_OFFSET band_id="{i}">{offset}</BOA_ADD_OFFSET>\n' for i in range(13))
        offsets = f"      <BOA_ADD_OFFSET_VALUES_LIST>\n{rows}      </BOA_ADD_OFFSET_VALUES_LIST>\n"
    qi = "".join(
        f"      <{tag}>{percentages[key]}</{tag}>\n" for tag, key in (
            ("NODATA_PIXEL_PERCENTAGE", "s2:nodata_pixel_percentage"), ("CLOUD_SHADOW_PERCENTAGE", "s2:cloud_shadow_percentage"),
            ("VEGETATION_PERCENTAGE", "s2:vegetation_percentage"), ("NOT_VEGETATED_PERCENTAGE", "s2:not_vegetated_percentage"),
            ("WATER_PERCENTAGE", "s2:water_percentage"), ("MEDIUM_PROBA_CLOUDS_PERCENTAGE", "s2:medium_proba_clouds_percentage"),
            ("HIGH_PROBA_CLOUDS_PERCENTAGE", "s2:high_proba_clouds_percentage"), ("THIN_CIRRUS_PERCENTAGE", "s2:thin_cirrus_percentage"),
            ("SNOW_ICE_PERCENTAGE", "s2:snow_ice_percentage"))
    )
    return (
        f'{_XML}<n1:Level-2A_User_Product xmlns:n1="{_PSD}/User_Product_Level-2A.xsd">\n{_NOTE}'
        "  <n1:General_Info>\n    <Product_Info>\n"
        f"      <PRODUCT_START_TIME>{_t(scene.sensing)}</PRODUCT_START_TIME>\n"
        f"      <PRODUCT_STOP_TIME>{_t(scene.sensing)}</PRODUCT_STOP_TIME>\n"
        f"      <PRODUCT_URI>{product_uri}</PRODUCT_URI>\n"
        "      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>\n      <PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>\n"
        f"      <PROCESSING_BASELINE>{scene.baseline}</PROCESSING_BASELINE>\n"
        f"      <GENERATION_TIME>{_t(scene.generation, 6)}</GENERATION_TIME>\n"
        f'      <Datatake datatakeIdentifier="G{mission(scene.platform)}_{scene.sensing:%Y%m%dT%H%M%S}_'
        f'{scene.absolute_orbit:06d}_N{scene.baseline}">\n'
        f"        <SPACECRAFT_NAME>{scene.platform}</SPACECRAFT_NAME>\n"
        "        <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>\n"
        f"        <SENSING_ORBIT_NUMBER>{scene.relative_orbit}</SENSING_ORBIT_NUMBER>\n"
        "        <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>\n      </Datatake>\n"
        "    </Product_Info>\n    <Product_Image_Characteristics>\n"
        "      <Special_Values><SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX></Special_Values>\n"
        "      <Special_Values><SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT><SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX></Special_Values>\n"
        "      <QUANTIFICATION_VALUES_LIST>\n"
        '        <BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>\n'
        '        <AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE>\n'
        '        <WVP_QUANTIFICATION_VALUE unit="cm">1000.0</WVP_QUANTIFICATION_VALUE>\n'
        f"      </QUANTIFICATION_VALUES_LIST>\n{offsets}"
        "    </Product_Image_Characteristics>\n  </n1:General_Info>\n"
        "  <n1:Quality_Indicators_Info>\n"
        f"    <Cloud_Coverage_Assessment>{percentages['eo:cloud_cover']}</Cloud_Coverage_Assessment>\n"
        f"    <Image_Content_QI>\n{qi}    </Image_Content_QI>\n  </n1:Quality_Indicators_Info>\n"
        "</n1:Level-2A_User_Product>\n"
    )


def granule_metadata(scene: Scene, granule: str, zenith: float, azimuth: float, percentages: dict) -> str:
    """``MTD_TL.xml``: tile id, sensing time, geocoding per resolution, mean sun angles.

    Parameters
    ----------
    scene : Scene
    granule : str
    zenith, azimuth : float
        Mean sun angles (degrees).
    percentages : dict

    Returns
    -------
    str
    """
    sizes = "".join(
        f'      <Size resolution="{gsd}"><NROWS>{tile_shape(gsd)[0]}</NROWS><NCOLS>{tile_shape(gsd)[1]}</NCOLS></Size>\n'
        for gsd in (10, 20, 60)
    )
    positions = "".join(
        f'      <Geoposition resolution="{gsd}"><ULX>{TILE_ORIGIN[0]:.0f}</ULX><ULY>{TILE_ORIGIN[1]:.0f}</ULY>'
        f"<XDIM>{gsd}</XDIM><YDIM>-{gsd}</YDIM></Geoposition>\n" for gsd in (10, 20, 60)
    )
    return (
        f'{_XML}<n1:Level-2A_Tile_ID xmlns:n1="{_PSD}/S2_PDI_Level-2A_Tile_Metadata.xsd">\n{_NOTE}'
        "  <n1:General_Info>\n"
        f"    <TILE_ID>{escape(granule)}</TILE_ID>\n"
        f"    <SENSING_TIME>{_t(scene.sensing)}</SENSING_TIME>\n"
        "  </n1:General_Info>\n  <n1:Geometric_Info>\n    <Tile_Geocoding>\n"
        f"      <HORIZONTAL_CS_NAME>WGS84 / UTM zone 10N</HORIZONTAL_CS_NAME>\n"
        f"      <HORIZONTAL_CS_CODE>EPSG:{EPSG}</HORIZONTAL_CS_CODE>\n{sizes}{positions}"
        "    </Tile_Geocoding>\n    <Tile_Angles>\n      <Mean_Sun_Angle>\n"
        f'        <ZENITH_ANGLE unit="deg">{zenith}</ZENITH_ANGLE>\n'
        f'        <AZIMUTH_ANGLE unit="deg">{azimuth}</AZIMUTH_ANGLE>\n'
        "      </Mean_Sun_Angle>\n    </Tile_Angles>\n  </n1:Geometric_Info>\n"
        "  <n1:Quality_Indicators_Info>\n"
        f"    <CLOUDY_PIXEL_PERCENTAGE>{percentages['eo:cloud_cover']}</CLOUDY_PIXEL_PERCENTAGE>\n"
        f"    <NODATA_PIXEL_PERCENTAGE>{percentages['s2:nodata_pixel_percentage']}</NODATA_PIXEL_PERCENTAGE>\n"
        "  </n1:Quality_Indicators_Info>\n</n1:Level-2A_Tile_ID>\n"
    )


def datastrip_metadata(scene: Scene, datastrip_id: str) -> str:
    """``MTD_DS.xml``: datastrip id, spacecraft, sensing and processing.

    Parameters
    ----------
    scene : Scene
    datastrip_id : str

    Returns
    -------
    str
    """
    return (
        f'{_XML}<n1:Level-2A_DataStrip_ID xmlns:n1="{_PSD}/S2_PDI_Level-2A_Datastrip_Metadata.xsd">\n{_NOTE}'
        "  <n1:General_Info>\n    <Datastrip_Time_Info>\n"
        f"      <DATASTRIP_SENSING_START>{_t(scene.sensing)}</DATASTRIP_SENSING_START>\n"
        f"      <DATASTRIP_SENSING_STOP>{_t(scene.sensing)}</DATASTRIP_SENSING_STOP>\n"
        "    </Datastrip_Time_Info>\n"
        f"    <DATASTRIP_ID>{escape(datastrip_id)}</DATASTRIP_ID>\n"
        f"    <SPACECRAFT_NAME>{scene.platform}</SPACECRAFT_NAME>\n"
        f"    <PROCESSING_BASELINE>{scene.baseline}</PROCESSING_BASELINE>\n"
        f"    <PROCESSING_CENTER>{scene.processor}</PROCESSING_CENTER>\n"
        "  </n1:General_Info>\n</n1:Level-2A_DataStrip_ID>\n"
    )


def inspire_metadata(scene: Scene, product_uri: str, bbox_lonlat: list[float]) -> str:
    """``INSPIRE.xml``: an ISO 19139 record with the product's name, date and bounding box.

    Parameters
    ----------
    scene : Scene
    product_uri : str
    bbox_lonlat : list of 4 float

    Returns
    -------
    str
    """
    west, south, east, north = bbox_lonlat
    return (
        f'{_XML}<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd" '
        'xmlns:gco="http://www.isotc211.org/2005/gco">\n' + _NOTE +
        f"  <gmd:fileIdentifier><gco:CharacterString>{product_uri}</gco:CharacterString></gmd:fileIdentifier>\n"
        f"  <gmd:dateStamp><gco:Date>{scene.generation:%Y-%m-%d}</gco:Date></gmd:dateStamp>\n"
        "  <gmd:identificationInfo><gmd:MD_DataIdentification><gmd:extent><gmd:EX_Extent><gmd:geographicElement>\n"
        "    <gmd:EX_GeographicBoundingBox>\n"
        f"      <gmd:westBoundLongitude><gco:Decimal>{west}</gco:Decimal></gmd:westBoundLongitude>\n"
        f"      <gmd:eastBoundLongitude><gco:Decimal>{east}</gco:Decimal></gmd:eastBoundLongitude>\n"
        f"      <gmd:southBoundLatitude><gco:Decimal>{south}</gco:Decimal></gmd:southBoundLatitude>\n"
        f"      <gmd:northBoundLatitude><gco:Decimal>{north}</gco:Decimal></gmd:northBoundLatitude>\n"
        "    </gmd:EX_GeographicBoundingBox>\n"
        "  </gmd:geographicElement></gmd:EX_Extent></gmd:extent></gmd:MD_DataIdentification></gmd:identificationInfo>\n"
        "</gmd:MD_Metadata>\n"
    )


def safe_manifest(product_uri: str, files: dict[str, tuple[str, int, str]]) -> str:
    """``manifest.safe``: the XFDU index of the product's files.

    Parameters
    ----------
    product_uri : str
    files : dict
        Key -> (path inside the SAFE, size in bytes, MIME type).

    Returns
    -------
    str
    """
    objects = "".join(
        f'    <dataObject ID="{escape(key)}"><byteStream mimeType="{mime}" size="{size}">'
        f'<fileLocation locatorType="URL" href="./{escape(path)}"/></byteStream></dataObject>\n'
        for key, (path, size, mime) in sorted(files.items())
    )
    return (
        f'{_XML}<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" version="esa/safe/sentinel/1.1/sentinel-2/msi/archive_l2a_user_product">\n'
        f'{_NOTE}  <informationPackageMap><xfdu:contentUnit textInfo="{escape(product_uri)}"/></informationPackageMap>\n'
        f"  <dataObjectSection>\n{objects}  </dataObjectSection>\n</xfdu:XFDU>\n"
    )


def tilejson(item_id: str, bbox: list[float], tiles_template: str) -> str:
    """A TileJSON 3.0.0 document for the item (what MPC's ``tilejson`` asset returns).

    Parameters
    ----------
    item_id : str
    bbox : list of 4 float
    tiles_template : str

    Returns
    -------
    str
    """
    west, south, east, north = bbox
    doc = {
        "tilejson": "3.0.0", "name": item_id, "scheme": "xyz", "minzoom": 8, "maxzoom": 14,
        "bounds": [west, south, east, north], "center": [(west + east) / 2, (south + north) / 2, 10],
        "tiles": [tiles_template],
        "description": "Offline stand-in: a static copy of what MPC's data API returns for this item. "
                       "Its tile URLs are MPC's tiler, which answers online only.",
    }
    return json.dumps(doc, indent=2) + "\n"


def map_html(item_id: str, png_name: str) -> str:
    """The page MPC's ``preview`` link opens (an interactive map there; the rendered preview here).

    Parameters
    ----------
    item_id : str
    png_name : str
        The rendered preview's file name, relative to the page.

    Returns
    -------
    str
    """
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
        f"<title>Map of item {escape(item_id)}</title></head>\n<body>\n"
        f"<h1>{escape(item_id)}</h1>\n"
        f'<img src="{escape(png_name)}" alt="True-colour preview of {escape(item_id)}, the whole tile {MGRS_TILE} at 320 m">\n'
        "<p>Offline stand-in for the Planetary Computer's item map.</p>\n</body>\n</html>\n"
    )
