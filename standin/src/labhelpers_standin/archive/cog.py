"""Cloud-Optimized GeoTIFFs, encoded tile by tile: sparse, deterministic and fast.

The stand-in's Sentinel-2 bands are COGs of the full 109.8 km MGRS tile (10980 x 10980 pixels at
10 m) holding data only near the lab's area of interest. GDAL's COG driver can write such a file
(``SPARSE_OK=TRUE``), but it computes every overview level from the whole raster, empty or not:
about a second per band, thousands of bands per archive. This module writes the same file format
directly: it is handed only the tiles that hold data, at every level, and writes

* a classic little-endian TIFF with GDAL's COG layout: the "ghost" structural metadata right after
  the header (``LAYOUT=IFDS_BEFORE_DATA``, ``BLOCK_ORDER=ROW_MAJOR``, ``BLOCK_LEADER=SIZE_AS_UINT4``,
  ``BLOCK_TRAILER=LAST_4_BYTES_REPEATED``), then every IFD (full resolution first, then the
  overviews by decreasing size), then the tiles, smallest overview first and full resolution
  last, row-major, each with its 4-byte size leader and its last 4 bytes repeated after it, as
  GDAL writes and validates them (``validate_cloud_optimized_geotiff.py``);
* DEFLATE compression with the horizontal-differencing predictor (TIFF ``Predictor=2``);
* *sparse* tiles (GDAL's ``SPARSE_OK``): a tile without data has offset and byte count 0 and takes
  no bytes; GDAL reads it as nodata;
* the georeferencing GDAL itself would write: pixel scale and tie point from the transform, and
  the GeoKey directory copied from a one-pixel GeoTIFF GDAL writes for the same CRS (so any CRS
  GDAL knows works, including MODIS' sinusoidal one), plus ``GDAL_NODATA``.

The same input always gives the same bytes (no timestamps, fixed compression level).
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from affine import Affine

__all__ = ["Level", "overview_sizes", "downsample", "encode"]

_GHOST_PAYLOAD = (
    "LAYOUT=IFDS_BEFORE_DATA\n"
    "BLOCK_ORDER=ROW_MAJOR\n"
    "BLOCK_LEADER=SIZE_AS_UINT4\n"
    "BLOCK_TRAILER=LAST_4_BYTES_REPEATED\n"
    "KNOWN_INCOMPATIBLE_EDITION=NO\n "
)
_GHOST = f"GDAL_STRUCTURAL_METADATA_SIZE={len(_GHOST_PAYLOAD):06d} bytes\n{_GHOST_PAYLOAD}".encode("ascii")

# TIFF field types and the struct code / size of one value
_SHORT, _LONG, _ASCII, _DOUBLE = 3, 4, 2, 12
_TYPES = {_SHORT: ("H", 2), _LONG: ("I", 4), _ASCII: ("s", 1), _DOUBLE: ("d", 8)}
_SAMPLE_FORMAT = {"u": 1, "i": 2, "f": 3}


@dataclass
class Level:
    """One resolution level of a COG: its size, and the part of it that holds data.

    ``data`` is a ``(rows, cols)`` or ``(rows, cols, samples)`` array placed at pixel
    ``(row0, col0)`` of the level; everything outside it is nodata, and tiles it does not touch
    are not written at all.
    """

    width: int
    height: int
    data: np.ndarray
    row0: int = 0
    col0: int = 0


def overview_sizes(width: int, height: int, blocksize: int) -> list[tuple[int, int]]:
    """The overview sizes GDAL's COG driver makes by default: halve (rounding up) until the
    largest dimension fits in one block, e.g. 10980 px at 1024 px blocks: 5490, 2745, 1373, 687.

    Parameters
    ----------
    width, height : int
        Full-resolution size in pixels.
    blocksize : int
        Tile size in pixels.

    Returns
    -------
    list of (width, height)
        One entry per overview level, largest first.
    """
    out, factor, (w, h) = [], 1, (width, height)
    while max(w, h) > blocksize:
        factor *= 2
        w, h = math.ceil(width / factor), math.ceil(height / factor)
        out.append((w, h))
    return out


def downsample(level: Level, nodata, resampling: str) -> Level:
    """The next overview level (half the size, rounded up) of ``level``'s data window.

    Parameters
    ----------
    level : Level
        The finer level.
    nodata : int or float
        Pixels with this value are not data: ``"average"`` ignores them, and a coarse pixel whose
        four fine pixels are all nodata is nodata.
    resampling : {"average", "nearest"}
        ``"average"``: mean of the valid fine pixels, rounded (GDAL's AVERAGE); ``"nearest"``: the
        top-left fine pixel (GDAL's NEAREST at a factor of 2).

    Returns
    -------
    Level

    Raises
    ------
    ValueError
        For another resampling.
    """
    data, row0, col0 = level.data, level.row0, level.col0
    # pad so the window starts on an even pixel and has even dimensions
    top, left = row0 % 2, col0 % 2
    bottom, right = (data.shape[0] + top) % 2, (data.shape[1] + left) % 2
    if top or left or bottom or right:
        pad = [(top, bottom), (left, right)] + [(0, 0)] * (data.ndim - 2)
        data = np.pad(data, pad, constant_values=nodata)
    h, w = data.shape[0] // 2, data.shape[1] // 2
    blocks = data.reshape(h, 2, w, 2, *data.shape[2:])
    if resampling == "nearest":
        out = blocks[:, 0, :, 0].copy()
    elif resampling == "average":
        valid = blocks != nodata
        count = valid.sum(axis=(1, 3))
        total = np.where(valid, blocks, 0).astype(np.float64).sum(axis=(1, 3))
        mean = np.floor(total / np.maximum(count, 1) + 0.5)
        out = np.where(count > 0, mean, nodata).astype(data.dtype)
    else:
        raise ValueError(f"resampling must be 'average' or 'nearest', not {resampling!r}")
    return Level(math.ceil(level.width / 2), math.ceil(level.height / 2), out, (row0 - top) // 2, (col0 - left) // 2)


def _tiles(level: Level, blocksize: int, nodata) -> dict[tuple[int, int], tuple[int, np.ndarray, int]]:
    """The tiles of ``level`` that its data window touches, by (tile row, tile col), each as
    (nodata rows above, the rows holding data padded to the tile's width, nodata rows below)."""
    data = level.data
    r0, c0 = level.row0, level.col0
    r1, c1 = r0 + data.shape[0], c0 + data.shape[1]
    out = {}
    for tr in range(r0 // blocksize, (r1 - 1) // blocksize + 1):
        for tc in range(c0 // blocksize, (c1 - 1) // blocksize + 1):
            y0, x0 = tr * blocksize, tc * blocksize
            ya, yb = max(r0, y0), min(r1, y0 + blocksize)
            xa, xb = max(c0, x0), min(c1, x0 + blocksize)
            strip = np.full((yb - ya, blocksize) + data.shape[2:], nodata, dtype=data.dtype)
            strip[:, xa - x0 : xb - x0] = data[ya - r0 : yb - r0, xa - c0 : xb - c0]
            out[(tr, tc)] = (ya - y0, strip, y0 + blocksize - yb)
    return out


def _predict(rows: np.ndarray) -> np.ndarray:
    """TIFF's horizontal predictor: each sample minus the one to its left in the same row,
    modulo 2**bits (signed integers as their unsigned bit patterns)."""
    bits = rows.view(f"<u{rows.dtype.itemsize}")
    diff = bits.copy()
    diff[:, 1:] -= bits[:, :-1]
    return diff


def _compress(top: int, strip: np.ndarray, bottom: int, nodata, zlevel: int) -> bytes:
    """A zlib stream of one tile (after the predictor): ``top`` nodata rows, ``strip``, then
    ``bottom`` nodata rows.

    The nodata rows are deflated once per (row, count) and reused: the stream is raw deflate
    pieces, each ended with a full flush (so each starts afresh and they can be spliced), then
    the final block and the Adler-32 of the whole tile, combined from the pieces' checksums. It
    inflates exactly like ``zlib.compress`` of the whole tile.
    """
    empty = _predict(np.full((1,) + strip.shape[1:], nodata, dtype=strip.dtype)).tobytes()
    middle = _predict(strip).tobytes()
    c = zlib.compressobj(zlevel, zlib.DEFLATED, -15)
    body = c.compress(middle) + c.flush(zlib.Z_FULL_FLUSH)
    head, head_sum = _empty_rows(empty, top, zlevel)
    tail, tail_sum = _empty_rows(empty, bottom, zlevel)
    checksum = _adler32_combine(_adler32_combine(head_sum, zlib.adler32(middle), len(middle)), tail_sum,
                                len(empty) * bottom)
    end = zlib.compressobj(zlevel, zlib.DEFLATED, -15).flush()
    return b"\x78\x9c" + head + body + tail + end + struct.pack(">I", checksum)


@lru_cache(maxsize=256)
def _empty_rows(row: bytes, count: int, zlevel: int) -> tuple[bytes, int]:
    """Raw deflate of ``count`` copies of ``row`` ended with a full flush, and their Adler-32."""
    if count == 0:
        return b"", 1
    c = zlib.compressobj(zlevel, zlib.DEFLATED, -15)
    data = row * count
    return c.compress(data) + c.flush(zlib.Z_FULL_FLUSH), zlib.adler32(data)


def _adler32_combine(adler1: int, adler2: int, len2: int) -> int:
    """Adler-32 of A + B from those of A and B and the length of B (zlib's adler32_combine)."""
    base = 65521
    rem = len2 % base
    sum1 = adler1 & 0xFFFF
    sum2 = (rem * sum1) % base
    sum1 = (sum1 + (adler2 & 0xFFFF) + base - 1) % base
    sum2 = (sum2 + ((adler1 >> 16) & 0xFFFF) + ((adler2 >> 16) & 0xFFFF) + base - rem) % base
    return sum1 | (sum2 << 16)


@lru_cache(maxsize=8)
def _geokeys(crs_wkt: str) -> tuple:
    """The GeoKey tags (34735 directory, 34736 doubles, 34737 ASCII) GDAL writes for ``crs_wkt``,
    read back from a one-pixel GeoTIFF written with rasterio in memory."""
    from rasterio.crs import CRS
    from rasterio.io import MemoryFile

    with MemoryFile() as mem:
        with mem.open(driver="GTiff", width=1, height=1, count=1, dtype="uint8", crs=CRS.from_string(crs_wkt),
                      transform=Affine(1, 0, 1000, 0, -1, 1000)) as dst:
            dst.write(np.zeros((1, 1, 1), np.uint8))
        raw = mem.read()
    tags = _read_first_ifd(raw)
    return tuple((tag, tags[tag]) for tag in (34735, 34736, 34737) if tag in tags)


def _read_first_ifd(raw: bytes) -> dict[int, tuple[int, tuple]]:
    """Tags of the first IFD of a little-endian classic TIFF: {tag: (type, values)}."""
    if raw[:4] != b"II*\x00":
        raise ValueError("expected a little-endian classic TIFF from GDAL")
    (offset,) = struct.unpack_from("<I", raw, 4)
    (n,) = struct.unpack_from("<H", raw, offset)
    out = {}
    for i in range(n):
        tag, kind, count, value = struct.unpack_from("<HHI4s", raw, offset + 2 + 12 * i)
        if kind not in _TYPES:
            continue
        code, size = _TYPES[kind]
        where = value if count * size <= 4 else raw[struct.unpack("<I", value)[0]:][: count * size]
        values = struct.unpack(f"<{count}{code}", where[: count * size])
        out[tag] = (kind, values[0].rstrip(b"\0").decode("ascii") if kind == _ASCII else values)
    return out


def _entry(tag: int, kind: int, values) -> tuple[int, int, int, bytes]:
    """(tag, type, count, packed value bytes) of one IFD entry."""
    code, _ = _TYPES[kind]
    if kind == _ASCII:
        payload = values.encode("ascii") + b"\0"
        return tag, kind, len(payload), payload
    values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
    return tag, kind, len(values), struct.pack(f"<{len(values)}{code}", *values)


def encode(levels: list[Level], *, transform: Affine, crs_wkt: str, nodata, blocksize: int, zlevel: int = 6,
           photometric: str = "minisblack", metadata: dict[str, str] | None = None) -> bytes:
    """Encode a COG from its levels (full resolution first, then each overview).

    Parameters
    ----------
    levels : list of Level
        Full resolution, then overviews by decreasing size (see :func:`downsample`).
    transform : affine.Affine
        Geotransform of the full-resolution level (north up).
    crs_wkt : str
        The CRS, in any form ``rasterio.crs.CRS.from_string`` takes ("EPSG:32610", WKT).
    nodata : int or float
        Written as ``GDAL_NODATA``; fills padding and untouched tiles.
    blocksize : int
        Tile width and height in pixels (a multiple of 16).
    zlevel : int
        DEFLATE level (GDAL's default is 6).
    photometric : {"minisblack", "rgb"}
        ``"rgb"`` for 3-sample uint8 images such as a true-colour image.
    metadata : dict, optional
        Dataset metadata items written into GDAL's ``GDAL_METADATA`` tag.

    Returns
    -------
    bytes
        The whole file.

    Raises
    ------
    ValueError
        On a block size that is not a multiple of 16, or a rotated transform.
    """
    if blocksize % 16:
        raise ValueError(f"blocksize must be a multiple of 16, not {blocksize}")
    if transform.b or transform.d:
        raise ValueError("only north-up transforms are supported")
    dtype = levels[0].data.dtype
    samples = levels[0].data.shape[2] if levels[0].data.ndim == 3 else 1
    tiled = [_tiles(lv, blocksize, nodata) for lv in levels]
    grids = [(math.ceil(lv.height / blocksize), math.ceil(lv.width / blocksize)) for lv in levels]
    payloads = [{key: _compress(*t, nodata, zlevel) for key, t in tiles.items()} for tiles in tiled]

    gdal_md = None
    if metadata:
        items = "".join(f'  <Item name="{k}">{v}</Item>\n' for k, v in sorted(metadata.items()))
        gdal_md = f"<GDALMetadata>\n{items}</GDALMetadata>\n"

    ifds = []  # per level: list of entries (tile offsets/bytecounts filled in later)
    for i, (lv, (ny, nx)) in enumerate(zip(levels, grids)):
        n = ny * nx
        entries = []
        if i:
            entries.append(_entry(254, _LONG, 1))  # reduced-resolution image
        short_or_long = _SHORT if max(lv.width, lv.height) < 65536 else _LONG
        entries += [
            _entry(256, short_or_long, lv.width),
            _entry(257, short_or_long, lv.height),
            _entry(258, _SHORT, [dtype.itemsize * 8] * samples),
            _entry(259, _SHORT, 8),  # Adobe DEFLATE
            _entry(262, _SHORT, 2 if photometric == "rgb" else 1),
            _entry(277, _SHORT, samples),
            _entry(284, _SHORT, 1),  # contiguous (pixel interleaved)
            _entry(317, _SHORT, 2),  # horizontal differencing
            _entry(322, _SHORT, blocksize),
            _entry(323, _SHORT, blocksize),
            _entry(324, _LONG, [0] * n),
            _entry(325, _LONG, [0] * n),
            _entry(339, _SHORT, [_SAMPLE_FORMAT[dtype.kind]] * samples),
        ]
        if i == 0:
            entries += [
                _entry(33550, _DOUBLE, (transform.a, -transform.e, 0.0)),
                _entry(33922, _DOUBLE, (0.0, 0.0, 0.0, transform.c, transform.f, 0.0)),
            ]
            entries += [_entry(tag, kind, values) for tag, (kind, values) in _geokeys(crs_wkt)]
            if gdal_md:
                entries.append(_entry(42112, _ASCII, gdal_md))
        entries.append(_entry(42113, _ASCII, _nodata_text(nodata, dtype)))
        ifds.append(sorted(entries))

    # layout: header, ghost, IFDs with their out-of-line values, then tiles
    pos = 8 + len(_GHOST)
    pos += pos % 2
    ifd_at, sizes = [], []
    for entries in ifds:
        ifd_at.append(pos)
        size = 2 + 12 * len(entries) + 4
        size += sum(len(v) + len(v) % 2 for _, _, _, v in entries if len(v) > 4)
        sizes.append(size)
        pos += size
    offsets = [dict() for _ in levels]
    for li in reversed(range(len(levels))):  # smallest overview first, full resolution last
        for key in sorted(payloads[li]):
            offsets[li][key] = pos + 4  # after the leader
            pos += 4 + len(payloads[li][key]) + 4

    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_at[0]) + _GHOST)
    out += b"\0" * (ifd_at[0] - len(out))
    for li, entries in enumerate(ifds):
        ny, nx = grids[li]
        tile_offsets = [offsets[li].get((r, c), 0) for r in range(ny) for c in range(nx)]
        tile_counts = [len(payloads[li][(r, c)]) if (r, c) in payloads[li] else 0 for r in range(ny) for c in range(nx)]
        filled = {324: _entry(324, _LONG, tile_offsets)[3], 325: _entry(325, _LONG, tile_counts)[3]}
        extra_at = ifd_at[li] + 2 + 12 * len(entries) + 4
        head, extra = bytearray(struct.pack("<H", len(entries))), bytearray()
        for tag, kind, count, value in entries:
            value = filled.get(tag, value)
            if len(value) <= 4:
                head += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")
            else:
                head += struct.pack("<HHII", tag, kind, count, extra_at + len(extra))
                extra += value + b"\0" * (len(value) % 2)
        head += struct.pack("<I", ifd_at[li + 1] if li + 1 < len(ifds) else 0)
        out += head + extra
    for li in reversed(range(len(levels))):
        for key in sorted(payloads[li]):
            data = payloads[li][key]
            out += struct.pack("<I", len(data)) + data + data[-4:]
    return bytes(out)


def _nodata_text(nodata, dtype: np.dtype) -> str:
    """``GDAL_NODATA`` as GDAL writes it: an integer for integer types."""
    return str(int(nodata)) if dtype.kind in "iu" else repr(float(nodata))
