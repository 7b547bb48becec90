"""MCD43A4 granules as HDF4-EOS files, readable by pyhdf and georeferenced by GDAL's HDF4 driver.

Each file is what GDAL and pyhdf see in a real MCD43A4: grid ``MOD_Grid_BRDF`` 2400 x 2400 on the
sinusoidal grid (463.3127165 m), ``StructMetadata.0`` with ``GCTP_SNSOID`` and the tile's
``UpperLeftPointMtrs``/``LowerRightMtrs`` in the format of the real files, the HDF-EOS Vgroups
(grid / "Data Fields") GDAL's HDF-EOS layer needs to georeference a grid, SDS
``Nadir_Reflectance_Band1..7`` (int16, scale_factor 0.0001, _FillValue 32767, valid_range
0-32767) and ``BRDF_Albedo_Band_Mandatory_Quality_Band1..7`` (uint8, fill 255),
deflate-compressed, plus short CoreMetadata/ArchiveMetadata.

**Deterministic bytes.** The HDF4 library stores the file name it is given inside the file (as a
Vgroup name), so the bytes depend on that name. :func:`write_hdf` is given the blob's path
*relative to the archive root* and must run in a process whose working directory is the archive
root (:mod:`~labhelpers_standin.archive.modis.generate` writes granules in such worker
processes): the stored name is then the blob's path in the archive, the same wherever the
archive is built. Nothing here changes the working directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from labhelpers import modis
from labhelpers_standin.archive.modis.granules import GRID, granule_facts
from labhelpers_standin.archive.modis.model import N
from labhelpers_standin.archive.modis.tiles import TileSpec

__all__ = ["NBAR_DEFLATE", "QA_DEFLATE", "struct_metadata", "write_hdf"]

#: DEFLATE levels of the SDSs (recorded in StructMetadata): zlib's default for the reflectances;
#: the quality masks are almost constant, and level 1 deflates them 3-4 times faster.
NBAR_DEFLATE = 6
QA_DEFLATE = 1


def struct_metadata(h: int, v: int, fields: list[tuple[str, str, int]]) -> str:
    """``StructMetadata.0`` of an MCD43A4 tile, in the exact layout of real MODIS v061 files.

    Parameters
    ----------
    h, v : int
        The tile.
    fields : list of (name, HDF type, deflate level)

    Returns
    -------
    str
    """
    xmin, ymin, xmax, ymax = modis.tile_bounds(h, v)
    objs = "".join(
        f'\t\t\tOBJECT=DataField_{i}\n\t\t\t\tDataFieldName="{name}"\n\t\t\t\tDataType={dtype}\n'
        f'\t\t\t\tDimList=("YDim","XDim")\n\t\t\t\tCompressionType=HDFE_COMP_DEFLATE\n'
        f"\t\t\t\tDeflateLevel={level}\n\t\t\tEND_OBJECT=DataField_{i}\n"
        for i, (name, dtype, level) in enumerate(fields, start=1)
    )
    return (
        "GROUP=SwathStructure\nEND_GROUP=SwathStructure\nGROUP=GridStructure\n\tGROUP=GRID_1\n"
        f'\t\tGridName="{GRID}"\n\t\tXDim={N}\n\t\tYDim={N}\n'
        f"\t\tUpperLeftPointMtrs=({xmin:.6f},{ymax:.6f})\n\t\tLowerRightMtrs=({xmax:.6f},{ymin:.6f})\n"
        f"\t\tProjection=GCTP_SNSOID\n\t\tProjParams=({modis.EARTH_RADIUS:.6f},0,0,0,0,0,0,0,0,0,0,0,0)\n"
        "\t\tSphereCode=-1\n\t\tGridOrigin=HDFE_GD_UL\n\t\tGROUP=Dimension\n\t\tEND_GROUP=Dimension\n"
        f"\t\tGROUP=DataField\n{objs}\t\tEND_GROUP=DataField\n\t\tGROUP=MergedFields\n\t\tEND_GROUP=MergedFields\n"
        "\tEND_GROUP=GRID_1\nEND_GROUP=GridStructure\nGROUP=PointStructure\nEND_GROUP=PointStructure\nEND\n"
    )


def _odl(group: str, values: dict) -> str:
    """An ODL group as the ECS metadata attributes hold them."""
    body = "".join(
        f"  OBJECT = {k}\n    NUM_VAL = 1\n    VALUE = {json.dumps(v) if isinstance(v, str) else v}\n  END_OBJECT = {k}\n\n"
        for k, v in values.items()
    )
    return f"\nGROUP = {group}\n\n{body}END_GROUP = {group}\n\nEND\n"


def write_hdf(relative: str, spec: TileSpec, day: str, prod: str, bands, qa) -> None:
    """Write one MCD43A4 granule at ``relative`` (a path relative to the archive root).

    Parameters
    ----------
    relative : str
        The file's path relative to the current working directory, which must be the archive
        root (see the module docstring); its folder must exist.
    spec : TileSpec
    day, prod : str
        The granule's day (YYYYDDD) and production time.
    bands : list of numpy.ndarray
        The seven int16 NBAR bands.
    qa : numpy.ndarray
        The uint8 mandatory-quality band (the same for the seven bands).

    Raises
    ------
    ValueError
        When ``relative`` is absolute (its bytes would then depend on where the archive is built).
    """
    if os.path.isabs(relative):
        raise ValueError(f"write_hdf needs a path relative to the archive root, not {relative!r}")
    import pyhdf.V  # noqa: F401  (HDF.vgstart() needs the V module loaded)
    from pyhdf.HDF import HC, HDF
    from pyhdf.SD import SD, SDC

    name = Path(relative).as_posix()
    sd = SD(name, SDC.WRITE | SDC.CREATE | SDC.TRUNC)
    refs, fields = [], []
    for field, data, qa_band in [(n, b, False) for n, b in zip(modis.NBAR_BANDS, bands)] + \
                                [(n, qa, True) for n in modis.QA_BANDS]:
        level = QA_DEFLATE if qa_band else NBAR_DEFLATE
        sds = sd.create(field, SDC.UINT8 if qa_band else SDC.INT16, (N, N))
        sds.dim(0).setname(f"YDim:{GRID}")
        sds.dim(1).setname(f"XDim:{GRID}")
        sds.setcompress(SDC.COMP_DEFLATE, value=level)
        sds[:] = data
        if qa_band:
            sds.attr("long_name").set(SDC.CHAR8, field)
            sds.attr("units").set(SDC.CHAR8, "concatenated flags")
            sds.attr("valid_range").set(SDC.UINT8, [0, 254])
            sds.attr("_FillValue").set(SDC.UINT8, 255)
            sds.attr("Description").set(SDC.CHAR8, "Mandatory QA:\n 0 = processed, good quality (full BRDF "
                                        "inversions)\n 1 = processed, see other QA (magnitude BRDF inversions)\n")
        else:
            sds.attr("long_name").set(SDC.CHAR8, field)
            sds.attr("units").set(SDC.CHAR8, "reflectance, no units")
            sds.attr("valid_range").set(SDC.INT16, [0, 32767])
            sds.attr("_FillValue").set(SDC.INT16, modis.NBAR_FILL)
            sds.attr("scale_factor").set(SDC.FLOAT64, modis.NBAR_SCALE)
            sds.attr("scale_factor_err").set(SDC.FLOAT64, 0.0)
            sds.attr("add_offset").set(SDC.FLOAT64, 0.0)
            sds.attr("add_offset_err").set(SDC.FLOAT64, 0.0)
            sds.attr("calibrated_nt").set(SDC.INT32, 5)
        refs.append(sds.ref())
        fields.append((field, "DFNT_UINT8" if qa_band else "DFNT_INT16", level))
        sds.endaccess()
    facts = granule_facts(spec, day, prod)
    sd.attr("HDFEOSVersion").set(SDC.CHAR8, "HDFEOS_V2.19")
    sd.attr("StructMetadata.0").set(SDC.CHAR8, struct_metadata(spec.h, spec.v, fields))
    core = {k: facts[k] for k in ("LOCALGRANULEID", "SHORTNAME", "VERSIONID", "PRODUCTIONDATETIME",
                                  "RANGEBEGINNINGDATE", "RANGEBEGINNINGTIME", "RANGEENDINGDATE", "RANGEENDINGTIME")}
    sd.attr("CoreMetadata.0").set(SDC.CHAR8, _odl("INVENTORYMETADATA", core))
    archive = {k: facts[k] for k in ("HORIZONTALTILENUMBER", "VERTICALTILENUMBER", "NORTHBOUNDINGCOORDINATE",
                                     "SOUTHBOUNDINGCOORDINATE", "EASTBOUNDINGCOORDINATE", "WESTBOUNDINGCOORDINATE")}
    sd.attr("ArchiveMetadata.0").set(SDC.CHAR8, _odl("ARCHIVEDMETADATA", archive))
    sd.attr("identifier_product_doi").set(SDC.CHAR8, "10.5067/MODIS/MCD43A4.061")
    sd.attr("identifier_product_doi_authority").set(SDC.CHAR8, "http://dx.doi.org")
    sd.end()

    # HDF-EOS finds a grid through Vgroups: <grid> (class GRID) holding "Data Fields" (the SDSs)
    # and "Grid Attributes". Without them GDAL lists plain SDSs with no georeferencing.
    hdf = HDF(name, HC.WRITE)
    vg = hdf.vgstart()
    grid = vg.create(GRID)
    grid._class = "GRID"
    data_fields = vg.create("Data Fields")
    data_fields._class = "GRID Vgroup"
    grid_attrs = vg.create("Grid Attributes")
    grid_attrs._class = "GRID Vgroup"
    for ref in refs:
        data_fields.add(HC.DFTAG_NDG, ref)
    grid.insert(data_fields)
    grid.insert(grid_attrs)
    for g in (data_fields, grid_attrs, grid):
        g.detach()
    vg.end()
    hdf.close()
