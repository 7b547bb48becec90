"""Reading MODIS HDF4-EOS files into xarray, with GDAL where it has the HDF4 driver, else pyhdf."""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from labhelpers import _checks
from labhelpers.errors import InputError, MissingFileError
from labhelpers.modis.grid import SINUSOIDAL_WKT2

__all__ = ["gdal_has_hdf4", "parse_struct_metadata", "open_hdf"]


def gdal_has_hdf4() -> bool:
    """Whether rasterio's GDAL can read HDF4 (PyPI wheels cannot; conda-forge's can).

    Returns
    -------
    bool
    """
    import rasterio

    with rasterio.Env() as env:
        return "HDF4" in env.drivers()


def _odl_value(text: str, key: str) -> str:
    m = re.search(rf"^\s*{key}=(.*)$", text, flags=re.MULTILINE)
    if not m:
        raise InputError(f"StructMetadata has no {key}: is this an HDF-EOS file?")
    return m.group(1).strip().strip('"')


def parse_struct_metadata(text: str) -> dict[str, dict]:
    """The grids of an HDF-EOS ``StructMetadata.0`` text: ``{grid name: {shape, corners, fields}}``.

    HDF4 itself knows nothing about map projections; HDF-EOS adds a text attribute in ODL
    (``GROUP=... END_GROUP``) that describes each grid: its size, the *outer corners* of the
    upper-left and lower-right pixels in metres (``UpperLeftPointMtrs``, ``LowerRightMtrs``), the
    projection (``GCTP_SNSOID`` = sinusoidal, sphere radius in ``ProjParams``) and its fields.

    Parameters
    ----------
    text : str
        The ``StructMetadata.0`` attribute (concatenated when split over several).

    Returns
    -------
    dict
        ``{grid name: {"shape", "upper_left", "lower_right", "projection", "fields"}}``.

    Raises
    ------
    InputError
        When a grid lacks a required key.
    """
    _checks.text("text", text)
    grids = {}
    for block in re.findall(r"GROUP=GRID_\d+(.*?)END_GROUP=GRID_\d+", text, flags=re.DOTALL):
        name = _odl_value(block, "GridName")
        ul = tuple(float(c) for c in _odl_value(block, "UpperLeftPointMtrs").strip("()").split(","))
        lr = tuple(float(c) for c in _odl_value(block, "LowerRightMtrs").strip("()").split(","))
        grids[name] = {
            "shape": (int(_odl_value(block, "YDim")), int(_odl_value(block, "XDim"))),
            "upper_left": ul,
            "lower_right": lr,
            "projection": _odl_value(block, "Projection"),
            "fields": re.findall(r'DataFieldName="([^"]+)"', block),
        }
    return grids


def _select(fields: Sequence[str], variables) -> list[str]:
    if variables is None:
        return list(fields)
    patterns = [variables] if isinstance(variables, str) else list(variables)
    chosen = [f for f in fields if any(fnmatch.fnmatchcase(f, p) for p in patterns)]
    unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(f, p) for f in fields)]
    if unknown:
        raise InputError(f"No field matches {unknown}; the grid has {list(fields)}.")
    return chosen


def _choose_grid(grids: dict, grid: str | None, path) -> str:
    if grid is None:
        if len(grids) != 1:
            raise InputError(
                f"{Path(path).name} has {len(grids)} grids {list(grids)} (different pixel sizes cannot "
                "share x/y coordinates): pass grid=<one of them>."
            )
        return next(iter(grids))
    if grid not in grids:
        raise InputError(f"{Path(path).name} has no grid {grid!r}; it has {list(grids)}.")
    return grid


def _decode(raw: np.ndarray, attrs: dict, mask_and_scale: bool) -> tuple[np.ndarray, dict]:
    """Apply the HDF4 conventions: fill and out-of-range -> NaN, then ``(raw - add_offset) * scale_factor``.

    Only fields with a ``scale_factor`` are quantities; fields without one (quality flags, class
    codes such as snow = 200) stay integer codes, their fill value recorded in ``attrs``.

    A MODIS quirk: most products store the *multiplier* (MCD43A4: 0.0001), but MOD09 surface
    reflectance stores the *divisor* (``scale_factor = 10000``). A reflectance cannot exceed ~1.6,
    so a scale factor above 1 on a reflectance field is read as a divisor.
    """
    keep = {k: attrs[k] for k in ("long_name", "units") if k in attrs}
    if not mask_and_scale or "scale_factor" not in attrs:
        keep.update({k: attrs[k] for k in ("_FillValue", "valid_range", "scale_factor", "add_offset") if k in attrs})
        return raw, keep
    bad = np.zeros(raw.shape, dtype=bool)
    if "_FillValue" in attrs:
        bad |= raw == attrs["_FillValue"]
    if "valid_range" in attrs:
        lo, hi = attrs["valid_range"]
        bad |= (raw < lo) | (raw > hi)
    scale = float(attrs["scale_factor"])
    if scale > 1 and "reflectance" in str(attrs.get("units", "")).lower():
        scale = 1 / scale
    scale = np.float32(scale)
    offset = np.float32(attrs.get("add_offset", 0))
    out = (raw.astype("float32") - offset) * scale
    out[bad] = np.nan
    return out, keep


def _number(value: str):
    parts = [p.strip() for p in str(value).split(",")]
    nums = [float(p) if re.search(r"[.eE]", p) else int(p) for p in parts]
    return nums if len(nums) > 1 else nums[0]


def _read_pyhdf(path, grid, variables):
    from pyhdf.SD import SD, SDC

    sd = SD(str(path), SDC.READ)
    try:
        gattrs = sd.attributes()
        text = "".join(gattrs[k] for k in sorted(gattrs) if k.startswith("StructMetadata."))
        grids = parse_struct_metadata(text)
        name = _choose_grid(grids, grid, path)
        info = grids[name]
        out = {}
        for field in _select(info["fields"], variables):
            sds = sd.select(field)
            try:
                out[field] = (sds[:], sds.attributes())
            finally:
                sds.endaccess()
    finally:
        sd.end()
    return name, info["upper_left"], info["lower_right"], info["shape"], out


def _read_gdal(path, grid, variables):
    import rasterio

    with rasterio.open(str(path)) as src:
        subdatasets = src.subdatasets
    grids: dict[str, list[str]] = {}
    for sub in subdatasets:
        if sub.startswith("HDF4_EOS:EOS_GRID:"):
            g, field = sub.rsplit(":", 2)[-2:]
            grids.setdefault(g, []).append(field)
    if not grids:
        raise InputError(f"GDAL sees no HDF-EOS grid in {Path(path).name}; is it an HDF4-EOS MODIS file?")
    name = _choose_grid(grids, grid, path)
    out, transform, shape = {}, None, None
    for field in _select(grids[name], variables):
        with rasterio.open(f'HDF4_EOS:EOS_GRID:"{path}":{name}:{field}') as src:
            tags = src.tags()
            attrs = {k: (v if k in ("long_name", "units") else _number(v))
                     for k, v in tags.items()
                     if k in ("long_name", "units", "_FillValue", "valid_range", "scale_factor", "add_offset")}
            out[field] = (src.read(1), attrs)
            transform, shape = src.transform, src.shape
    ul = (transform.c, transform.f)
    lr = (transform.c + transform.a * shape[1], transform.f + transform.e * shape[0])
    return name, ul, lr, shape, out


def open_hdf(
    path: str | os.PathLike,
    engine: str = "auto",
    variables: str | Sequence[str] | None = None,
    grid: str | None = None,
    mask_and_scale: bool = True,
) -> xr.Dataset:
    """Read a MODIS HDF4-EOS file into an xarray Dataset on its sinusoidal grid.

    For an MCD43A4 file this gives ``Nadir_Reflectance_Band1..7`` as float32 reflectance (the
    stored int16 times ``scale_factor`` 0.0001; the fill value 32767 and values outside
    ``valid_range`` become NaN) and ``BRDF_Albedo_Band_Mandatory_Quality_Band1..7`` as uint8 codes
    (0 = full BRDF inversion, 1 = magnitude inversion, 255 = fill). Coordinates ``x``/``y`` are the
    pixel *centres* in metres, computed from the grid corners in the file's ``StructMetadata.0``
    (which are pixel *edges*: hence the half-pixel shift), and the CRS is written with rioxarray,
    so ``ds.rio.reproject(...)``/``ds.rio.clip_box(...)`` work.

    ``engine``: ``"gdal"`` reads with rasterio/rioxarray and needs a GDAL with the HDF4 driver
    (conda-forge's has it; the PyPI rasterio wheel does not); ``"pyhdf"`` reads with pyhdf (pip
    wheels bundle the HDF4 library); ``"auto"`` uses GDAL when it can, else pyhdf. Both give the
    same values, coordinates and attributes.

    ``variables``: field names or glob patterns (``"Nadir_Reflectance_Band*"``); default all.
    ``grid``: the HDF-EOS grid, needed when a file has several (MOD09GA has a 1 km and a 500 m
    grid). ``mask_and_scale=False`` returns the raw integers with their encoding attributes.

    Parameters
    ----------
    path : str or path
        A local HDF4-EOS file (see :func:`download`).
    engine : {"auto", "gdal", "pyhdf"}, default "auto"
    variables : str or sequence of str, optional
        Field names or glob patterns; default all.
    grid : str, optional
        Needed when the file has several grids.
    mask_and_scale : bool, default True

    Returns
    -------
    xarray.Dataset
        ``(y, x)`` fields on the sinusoidal grid, CRS written with rioxarray.

    Raises
    ------
    MissingFileError
        When ``path`` does not exist (a ``FileNotFoundError``).
    InputError
        For an unknown engine, grid or field, a file that is not HDF4-EOS (a failed or partial
        download: delete it and download again), or a GDAL without HDF4 when ``engine="gdal"``.
    """
    from pyhdf.error import HDF4Error
    from rasterio.errors import RasterioError

    if not isinstance(path, (str, os.PathLike)):
        raise _checks.InputTypeError(f"path must be the path of a downloaded .hdf file, not {type(path).__name__}.")
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"No such HDF file: {path} (download it first: labhelpers.modis.download).")
    _checks.choice("engine", engine, ["auto", "gdal", "pyhdf"])
    _checks.flag("mask_and_scale", mask_and_scale)
    try:
        return _open(path, engine, variables, grid, mask_and_scale)
    except InputError:
        raise
    except (HDF4Error, RasterioError, OSError, KeyError, ValueError) as err:  # the file is the problem
        raise InputError(f"{path.name} cannot be read as HDF4-EOS ({type(err).__name__}: {str(err)[:120]}). If it was "
                         "downloaded, delete it and download it again.") from None


def _open(path: Path, engine: str, variables, grid, mask_and_scale: bool) -> xr.Dataset:
    import pyproj
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    if engine == "auto":
        engine = "gdal" if gdal_has_hdf4() else "pyhdf"
    if engine == "gdal":
        if not gdal_has_hdf4():
            raise InputError(
                "engine='gdal' needs a GDAL with the HDF4 driver, and rasterio's has none (PyPI wheels "
                "are built without it). Use engine='pyhdf' (or 'auto'), or install rasterio from conda-forge."
            )
        grid_name, ul, lr, shape, fields = _read_gdal(path, grid, variables)
    elif engine == "pyhdf":
        grid_name, ul, lr, shape, fields = _read_pyhdf(path, grid, variables)
    else:
        raise InputError(f"engine must be 'auto', 'gdal' or 'pyhdf', not {engine!r}.")

    ny, nx = shape
    dx = (lr[0] - ul[0]) / nx
    dy = (ul[1] - lr[1]) / ny
    x = ul[0] + (np.arange(nx) + 0.5) * dx
    y = ul[1] - (np.arange(ny) + 0.5) * dy
    data_vars = {}
    for field, (raw, attrs) in fields.items():
        values, keep = _decode(np.asarray(raw), attrs, mask_and_scale)
        data_vars[field] = xr.DataArray(values, dims=("y", "x"), attrs=keep)
    ds = xr.Dataset(data_vars, coords={"x": x, "y": y}, attrs={"source": path.name, "grid": grid_name})
    return ds.rio.write_crs(pyproj.CRS.from_wkt(SINUSOIDAL_WKT2))


