"""Every file the archive generators write goes through here: COGs, STAC, metadata, images.

Both generators (:mod:`~labhelpers_standin.archive.sentinel2` and
:mod:`~labhelpers_standin.archive.modis`) use these functions, so every file of the archive is
written the same way:

* **atomically**: bytes go to a temporary name in the target folder, then ``os.replace`` puts
  them in place, so an interrupted build never leaves a truncated file where a reader expects a
  complete one (and :mod:`~labhelpers_standin.archive.build` discards the whole unfinished
  archive anyway);
* **deterministically**: no timestamps, sorted JSON keys where the format allows, fixed
  compression levels, so two builds give identical bytes;
* **in MPC's formats**: COGs (see :mod:`~labhelpers_standin.archive.cog`), STAC collections as
  JSON and items as newline-delimited JSON (one item per line, as ``pypgstac load`` reads them),
  PNG images.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from affine import Affine

from labhelpers_standin.archive import cog

__all__ = ["write_bytes", "write_text", "write_json", "write_cog", "write_stac", "png_bytes"]


def write_bytes(path: Path, content: bytes) -> Path:
    """Write ``content`` to ``path`` atomically (temporary name in the same folder, then rename).

    Parameters
    ----------
    path : pathlib.Path
        The file; missing parent folders are created.
    content : bytes

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return path


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`write_bytes`).

    Parameters
    ----------
    path : pathlib.Path
    text : str

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, doc, indent: int | None = 2, sort_keys: bool = True) -> Path:
    """Write ``doc`` as JSON (plus a final newline) atomically.

    Parameters
    ----------
    path : pathlib.Path
    doc : JSON-serialisable object
    indent : int or None
        ``None`` for one line.
    sort_keys : bool
        False keeps the order the generator chose (MPC's key order, for example).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    return write_text(path, json.dumps(doc, indent=indent, sort_keys=sort_keys) + "\n")


def write_stac(root: Path, collection: dict, items: list[dict]) -> tuple[Path, Path]:
    """Write one collection and its items where the stand-in loads them from.

    ``root/stac/collections/<id>.json`` (indented) and ``root/stac/items/<id>.ndjson`` (one
    item per line, in the order given; keys in the order the generator built them, which is
    MPC's order).

    Parameters
    ----------
    root : pathlib.Path
        The archive folder being built.
    collection : dict
        A STAC collection with an ``id``.
    items : list of dict
        Its items.

    Returns
    -------
    (pathlib.Path, pathlib.Path)
        The collection file and the items file.

    Raises
    ------
    ValueError
        When an item names another collection.
    """
    cid = collection["id"]
    wrong = [it["id"] for it in items if it.get("collection", cid) != cid]
    if wrong:
        raise ValueError(f"Items {wrong[:3]} do not belong to collection {cid!r}.")
    stac = Path(root) / "stac"
    coll = write_json(stac / "collections" / f"{cid}.json", collection, sort_keys=False)
    lines = write_text(stac / "items" / f"{cid}.ndjson", "".join(json.dumps(it) + "\n" for it in items))
    return coll, lines


def write_cog(path: Path, data: np.ndarray, *, transform: Affine, crs: str, size: tuple[int, int],
              offset: tuple[int, int] = (0, 0), nodata=0, blocksize: int = 512, resampling: str | None = "average",
              overviews: int | None = None, photometric: str = "minisblack", zlevel: int = 6,
              metadata: dict[str, str] | None = None) -> Path:
    """Write a COG of ``size`` pixels whose only data is ``data`` at pixel ``offset`` (sparse).

    Parameters
    ----------
    path : pathlib.Path
    data : numpy.ndarray
        ``(rows, cols)``, or ``(rows, cols, samples)`` for a pixel-interleaved image (RGB).
    transform : affine.Affine
        Geotransform of the full raster.
    crs : str
        Anything ``rasterio.crs.CRS.from_string`` takes ("EPSG:32610", a WKT).
    size : (width, height)
        The full raster; every tile ``data`` does not touch is absent from the file.
    offset : (row, col)
        Where ``data`` starts in the full raster.
    nodata : int or float
        The value of every pixel outside ``data`` (and of nodata pixels inside it).
    blocksize : int
        Tile size in pixels.
    resampling : {"average", "nearest"} or None
        How overviews are made from ``data``; None writes no overviews.
    overviews : int, optional
        How many overview levels; default GDAL's (halve until one tile holds the image).
    photometric : {"minisblack", "rgb"}
    zlevel : int
        DEFLATE level.
    metadata : dict, optional
        GDAL dataset metadata items.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        When ``data`` does not fit inside ``size`` at ``offset``.
    """
    width, height = size
    row0, col0 = offset
    if row0 < 0 or col0 < 0 or row0 + data.shape[0] > height or col0 + data.shape[1] > width:
        raise ValueError(f"A {data.shape[:2]} window at {offset} does not fit a {height} x {width} raster.")
    levels = [cog.Level(width, height, data, row0, col0)]
    if resampling is not None:
        count = len(cog.overview_sizes(width, height, blocksize)) if overviews is None else overviews
        for _ in range(count):
            levels.append(cog.downsample(levels[-1], nodata, resampling))
    if len(levels) > 1:
        metadata = {**(metadata or {}), "OVR_RESAMPLING_ALG": resampling.upper()}
    content = cog.encode(levels, transform=transform, crs_wkt=crs, nodata=nodata, blocksize=blocksize,
                         zlevel=zlevel, photometric=photometric, metadata=metadata)
    return write_bytes(path, content)


def png_bytes(rgb: np.ndarray) -> bytes:
    """A PNG of an 8-bit RGB image ``(rows, cols, 3)`` (no metadata chunks, so deterministic).

    Parameters
    ----------
    rgb : numpy.ndarray
        uint8, shape ``(rows, cols, 3)``.

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        For another shape or dtype.
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected uint8 (rows, cols, 3), got {rgb.dtype} {rgb.shape}")
    h, w, _ = rgb.shape
    sub = rgb.copy()  # PNG filter 1 ("Sub"): each byte minus the same channel of the pixel to its left
    sub[:, 1:] -= rgb[:, :-1]
    raw = b"".join(b"\x01" + sub[r].tobytes() for r in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
