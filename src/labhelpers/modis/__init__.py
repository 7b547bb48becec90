"""MODIS on the Planetary Computer: find a tile, fetch its HDF4 file, read it, or use STAC instead.

MODIS land products are cut into tiles of the global *sinusoidal* grid: 36 columns (``h`` 0-35,
west to east) by 18 rows (``v`` 0-17, north to south), each 1111950.5197 m square and, at 500 m,
2400 x 2400 pixels of 463.3127 m. The sinusoidal projection keeps areas true (every pixel covers
the same ground) at the price of shearing the map away from the central meridian, so a tile is a
parallelogram in lon/lat, not a box. That is why "which tile is Chicago in?" needs care.

Two routes lead to the same numbers, and this module covers both:

**The blob route** (what the original lab does, and how the data is archived)::

    h, v = modis.tile_of(41.881832, -87.623177)          # Chicago -> (11, 4)
    client = modis.container_client()                    # modiseuwest/modis-061
    names = modis.list_hdf(client, "MCD43A4", h, v, "2019135")
    path = modis.download(modis.blob_url(client, names[-1]), "modis_data")
    ds = modis.open_hdf(path)                            # Nadir_Reflectance_Band1..7, 0-1
    modis.ndvi(ds).mean().item()

**The STAC route** (what the Planetary Computer recommends today): per-band Cloud-Optimized
GeoTIFFs, found by STAC search and read lazily, only the pixels you ask for::

    items = modis.search_stac(labhelpers.stac.open_catalog(), h, v, "2019-05-15", "2019-06-09")
    ds = modis.load_stac(items, bbox=(-88.3, 41.7, -87.9, 42.0))
    modis.ndvi(ds).mean(["x", "y"])

Both routes give float32 reflectance (the stored int16 times 0.0001) with the fill value 32767
as NaN, on the sinusoidal grid (x/y in metres, CRS written with rioxarray).

Which world (the real MPC or the offline stand-in) is used is chosen by the settings profile
(:mod:`labhelpers.settings`), never by the code above.

The package is split by route: :mod:`~labhelpers.modis.grid` (the sinusoidal grid, tiles, NASA's
tile table), :mod:`~labhelpers.modis.days` (``YYYYDDD`` day names), :mod:`~labhelpers.modis.blobs`
(listing and downloading HDF4 files), :mod:`~labhelpers.modis.hdf` (reading them) and
:mod:`~labhelpers.modis.stac` (the STAC route). Everything public is importable from
``labhelpers.modis`` directly.
"""

from __future__ import annotations

import xarray as xr

from labhelpers.modis._product import COLLECTION, NBAR_BANDS, NBAR_FILL, NBAR_SCALE, NIR, QA_BANDS, RED
from labhelpers.modis.blobs import DEFAULT_ACCOUNT, DEFAULT_CONTAINER, TOKEN_MARGIN, blob_url, container_client, \
    download, list_hdf
from labhelpers.modis.days import day_string, day_to_date
from labhelpers.modis.grid import (
    EARTH_RADIUS, N_H, N_V, PIXEL_SIZE_500M, PIXELS_500M, SINUSOIDAL_WKT2, SN_BOUND_FILE, TILE_SIZE, X0, Y0,
    clip_lonlat, lonlat_to_sinusoidal, sinusoidal_to_lonlat, tile_bounds, tile_extents, tile_of,
)
from labhelpers.modis.hdf import gdal_has_hdf4, open_hdf, parse_struct_metadata
from labhelpers.modis.stac import load_stac, search_stac

__all__ = [
    "COLLECTION", "NBAR_BANDS", "QA_BANDS", "RED", "NIR", "NBAR_SCALE", "NBAR_FILL",
    "EARTH_RADIUS", "X0", "Y0", "TILE_SIZE", "N_H", "N_V", "PIXELS_500M", "PIXEL_SIZE_500M", "SINUSOIDAL_WKT2",
    "SN_BOUND_FILE", "tile_extents", "lonlat_to_sinusoidal", "sinusoidal_to_lonlat", "tile_bounds", "tile_of",
    "clip_lonlat", "day_string", "day_to_date", "DEFAULT_ACCOUNT", "DEFAULT_CONTAINER", "TOKEN_MARGIN", "container_client", "list_hdf", "blob_url", "download",
    "gdal_has_hdf4", "parse_struct_metadata", "open_hdf", "search_stac", "load_stac", "ndvi",
]


def ndvi(ds: xr.Dataset) -> xr.DataArray:
    """NDVI = (NIR - red) / (NIR + red) from MODIS band 2 (NIR, 841-876 nm) and band 1 (red, 620-670 nm).

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`open_hdf` or :func:`load_stac` (both name bands as MODIS does).

    Returns
    -------
    xarray.DataArray
        Fill pixels (NaN) stay NaN, and 0/0 gives NaN, never inf.

    Raises
    ------
    InputError
        When ``ds`` is not a Dataset or band 1 or band 2 is missing from it.
    """
    from labhelpers.errors import InputError, InputTypeError
    from labhelpers.indices import normalized_difference

    if not isinstance(ds, xr.Dataset):
        hint = " For a Sentinel-2 stack use labhelpers.indices.ndvi." if isinstance(ds, xr.DataArray) else ""
        raise InputTypeError(f"ds must be the Dataset from open_hdf or load_stac, not {type(ds).__name__}.{hint}")
    missing = [b for b in (RED, NIR) if b not in ds]
    if missing:
        raise InputError(f"NDVI needs {RED} (red) and {NIR} (NIR); {missing} not in the dataset: open it with "
                         "variables=[RED, NIR].")
    out = normalized_difference(ds[NIR], ds[RED])
    out.name = "ndvi"
    out.attrs = {"long_name": "NDVI", "units": "1", "formula": f"({NIR} - {RED}) / ({NIR} + {RED})"}
    return out
