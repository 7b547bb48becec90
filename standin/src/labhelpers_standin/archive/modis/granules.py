"""How a MODIS granule is named and described: blob paths, production times, outline, metadata.

Shared by the HDF4 writer, the STAC items and the truth, so all three say the same thing.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from labhelpers import modis
from labhelpers_standin.archive.modis.model import SEED
from labhelpers_standin.archive.modis.tiles import TileSpec

__all__ = ["PRODUCT", "GRID", "ACCOUNT", "HDF_CONTAINER", "COG_CONTAINER", "stem", "folder", "production", "production_datetime",
           "footprint", "granule_facts", "metadata_xml"]

PRODUCT, GRID = "MCD43A4", "MOD_Grid_BRDF"
ACCOUNT, HDF_CONTAINER, COG_CONTAINER = "modiseuwest", "modis-061", "modis-061-cogs"


def stem(spec: TileSpec, day: str, prod: str) -> str:
    """File name without extension: ``MCD43A4.AYYYYDDD.hHHvVV.061.<production time>``.

    Parameters
    ----------
    spec : TileSpec
    day, prod : str
        Day (YYYYDDD) and production time (YYYYDDDHHMMSS).

    Returns
    -------
    str
    """
    return f"{PRODUCT}.A{day}.{spec.name}.061.{prod}"


def folder(spec: TileSpec, day: str) -> str:
    """Blob folder inside the container: ``MCD43A4/HH/VV/YYYYDDD``.

    Parameters
    ----------
    spec : TileSpec
    day : str

    Returns
    -------
    str
    """
    return f"{PRODUCT}/{spec.h:02d}/{spec.v:02d}/{day}"


def production(day: str) -> str:
    """Production time ``YYYYDDDHHMMSS``: nine days after the granule, at a seeded time of day.

    Parameters
    ----------
    day : str

    Returns
    -------
    str
    """
    date = modis.day_to_date(day) + dt.timedelta(days=9)
    secs = int(np.random.default_rng([SEED, int(day)]).integers(0, 86400))
    return f"{modis.day_string(date)}{secs // 3600:02d}{secs // 60 % 60:02d}{secs % 60:02d}"


def production_datetime(prod: str) -> str:
    """A production time ``YYYYDDDHHMMSS`` as ISO 8601 (``2021-05-09T13:24:05.000Z``).

    Parameters
    ----------
    prod : str

    Returns
    -------
    str
    """
    date = modis.day_to_date(prod[:7])
    return f"{date}T{prod[7:9]}:{prod[9:11]}:{prod[11:13]}.000Z"


def metadata_xml(spec: TileSpec, day: str, prod: str) -> str:
    """The granule's ``.hdf.xml`` (ECS granule metadata: id, production, time range, outline).

    Parameters
    ----------
    spec : TileSpec
    day, prod : str

    Returns
    -------
    str
    """
    f = granule_facts(spec, day, prod)
    lon, lat = footprint(spec.h, spec.v, n=2)
    points = "".join(f"<Point><PointLongitude>{x:.6f}</PointLongitude><PointLatitude>{y:.6f}</PointLatitude></Point>"
                     for x, y in zip(lon[:-1], lat[:-1]))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<GranuleMetaDataFile>\n<GranuleURMetaData>\n'
        f"<CollectionMetaData><ShortName>{PRODUCT}</ShortName><VersionID>61</VersionID></CollectionMetaData>\n"
        f"<ECSDataGranule><LocalGranuleID>{f['LOCALGRANULEID']}</LocalGranuleID>"
        f"<ProductionDateTime>{f['PRODUCTIONDATETIME']}</ProductionDateTime></ECSDataGranule>\n"
        f"<RangeDateTime><RangeEndingTime>{f['RANGEENDINGTIME']}</RangeEndingTime><RangeEndingDate>"
        f"{f['RANGEENDINGDATE']}</RangeEndingDate><RangeBeginningTime>{f['RANGEBEGINNINGTIME']}</RangeBeginningTime>"
        f"<RangeBeginningDate>{f['RANGEBEGINNINGDATE']}</RangeBeginningDate></RangeDateTime>\n"
        f"<SpatialDomainContainer><HorizontalSpatialDomainContainer><GPolygon><Boundary>{points}</Boundary>"
        "</GPolygon></HorizontalSpatialDomainContainer></SpatialDomainContainer>\n"
        "<!-- synthetic granule of the labhelpers offline archive -->\n</GranuleURMetaData>\n</GranuleMetaDataFile>\n"
    )


def footprint(h: int, v: int, n: int = 16):
    """The tile's outline in lon/lat (a closed ring, counter-clockwise), clipped to the globe.

    Parameters
    ----------
    h, v : int
    n : int
        Points per side.

    Returns
    -------
    (list of float, list of float)
        Longitudes and latitudes.
    """
    xmin, ymin, xmax, ymax = modis.tile_bounds(h, v)
    lat = np.linspace(np.degrees(ymin / modis.EARTH_RADIUS), np.degrees(ymax / modis.EARTH_RADIUS), n + 1)
    lat = np.clip(lat, -89.999, 89.999)
    west = np.clip(modis.sinusoidal_to_lonlat(xmin, np.radians(lat) * modis.EARTH_RADIUS)[0], -180, 180)
    east = np.clip(modis.sinusoidal_to_lonlat(xmax, np.radians(lat) * modis.EARTH_RADIUS)[0], -180, 180)
    lons = list(west[::-1]) + list(east) + [west[-1]]
    lats = list(lat[::-1]) + list(lat) + [lat[-1]]
    return [round(float(x), 6) for x in lons], [round(float(y), 6) for y in lats]


def granule_facts(spec: TileSpec, day: str, prod: str) -> dict:
    """The ECS metadata values of a granule (its HDF attributes and XML say the same).

    Parameters
    ----------
    spec : TileSpec
    day, prod : str

    Returns
    -------
    dict
    """
    date = modis.day_to_date(day)
    lon, lat = footprint(spec.h, spec.v)
    return {
        "LOCALGRANULEID": f"{stem(spec, day, prod)}.hdf",
        "SHORTNAME": PRODUCT, "VERSIONID": 61,
        "PRODUCTIONDATETIME": production_datetime(prod),
        "RANGEBEGINNINGDATE": str(date - dt.timedelta(days=8)), "RANGEBEGINNINGTIME": "00:00:00.000000",
        "RANGEENDINGDATE": str(date + dt.timedelta(days=7)), "RANGEENDINGTIME": "23:59:59.999999",
        "HORIZONTALTILENUMBER": spec.h, "VERTICALTILENUMBER": spec.v,
        "NORTHBOUNDINGCOORDINATE": max(lat), "SOUTHBOUNDINGCOORDINATE": min(lat),
        "EASTBOUNDINGCOORDINATE": max(lon), "WESTBOUNDINGCOORDINATE": min(lon),
    }


