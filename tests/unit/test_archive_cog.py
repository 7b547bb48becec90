"""The archive's own COG encoder writes files GDAL reads as sparse, valid COGs with the right pixels.

GDAL (through rasterio) is the independent reader: every level is read back and compared with
what was encoded, and GDAL's own layout checks (``LAYOUT=COG``, overview sizes, block size,
``TileByteCounts`` of empty tiles) must agree with what the encoder promises.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.io import MemoryFile

from labhelpers import modis
from labhelpers_standin.archive import cog, writer

UTM = "EPSG:32610"
TILE = Affine(10, 0, 499980, 0, -10, 6000020)


def _window(shape, dtype="uint16", seed=0, low=1, high=4000):
    return np.random.default_rng(seed).integers(low, high, shape).astype(dtype)


def test_overview_sizes_are_gdals_for_sentinel2_tiles():
    assert cog.overview_sizes(10980, 10980, 1024) == [(5490, 5490), (2745, 2745), (1373, 1373), (687, 687)]
    assert cog.overview_sizes(5490, 5490, 1024) == [(2745, 2745), (1373, 1373), (687, 687)]
    assert cog.overview_sizes(1830, 1830, 1024) == [(915, 915)]
    assert cog.overview_sizes(343, 343, 512) == []


def test_sparse_full_tile_cog_reads_back_at_every_level(tmp_path):
    data = _window((324, 294))
    path = writer.write_cog(tmp_path / "b04.tif", data, transform=TILE, crs=UTM, size=(10980, 10980),
                            offset=(2688, 1080), blocksize=1024, resampling="nearest")
    with rasterio.open(path) as src:
        assert (src.width, src.height) == (10980, 10980)
        assert src.block_shapes == [(1024, 1024)]
        assert src.overviews(1) == [2, 4, 8, 16]
        assert src.tags(ns="IMAGE_STRUCTURE") == {"LAYOUT": "COG", "COMPRESSION": "DEFLATE", "INTERLEAVE": "BAND",
                                                   "PREDICTOR": "2"}
        assert src.crs.to_epsg() == 32610 and src.transform == TILE and src.nodata == 0
        np.testing.assert_array_equal(src.read(1, window=((2688, 2688 + 324), (1080, 1080 + 294))), data)
        assert src.read(1, window=((0, 2000), (0, 2000))).max() == 0  # nodata everywhere else
        assert src.tags()["OVR_RESAMPLING_ALG"] == "NEAREST"
    level = cog.Level(10980, 10980, data, 2688, 1080)
    for i in range(4):
        level = cog.downsample(level, 0, "nearest")
        with rasterio.open(path, overview_level=i) as ovr:
            got = ovr.read(1, window=((level.row0, level.row0 + level.data.shape[0]),
                                      (level.col0, level.col0 + level.data.shape[1])))
            np.testing.assert_array_equal(got, level.data)
    # sparse: only the one block per level that touches the window holds bytes
    assert path.stat().st_size < 2 * data.nbytes


def test_empty_tiles_take_no_bytes(tmp_path):
    path = writer.write_cog(tmp_path / "x.tif", _window((40, 40)), transform=TILE, crs=UTM, size=(10980, 10980),
                            offset=(5000, 5000), blocksize=1024, resampling=None)
    raw = path.read_bytes()
    (ifd,) = struct.unpack_from("<I", raw, 4)
    (n,) = struct.unpack_from("<H", raw, ifd)
    tags = {}
    for i in range(n):
        tag, kind, count, value = struct.unpack_from("<HHII", raw, ifd + 2 + 12 * i)
        tags[tag] = (count, value)
    count, at = tags[325]  # TileByteCounts
    counts = struct.unpack_from(f"<{count}I", raw, at)
    assert count == 11 * 11 and sum(c > 0 for c in counts) == 1
    assert raw[8:8 + 30] == b"GDAL_STRUCTURAL_METADATA_SIZE="


def test_average_overviews_ignore_nodata():
    data = np.array([[4, 0], [6, 0]], dtype="uint16")
    out = cog.downsample(cog.Level(2, 2, data), 0, "average")
    assert out.data.tolist() == [[5]]
    empty = cog.downsample(cog.Level(2, 2, np.zeros((2, 2), "uint16")), 0, "average")
    assert empty.data.tolist() == [[0]]
    odd = cog.downsample(cog.Level(10, 10, np.full((3, 3), 8, "uint16"), row0=1, col0=1), 0, "average")
    assert (odd.row0, odd.col0, odd.data.shape) == (0, 0, (2, 2)) and (odd.data == 8).all()
    with pytest.raises(ValueError, match="resampling"):
        cog.downsample(cog.Level(2, 2, data), 0, "cubic")


def test_compressed_tiles_inflate_to_the_predicted_tile():
    """Spliced deflate pieces and the combined Adler-32 make a stream zlib accepts as a whole."""
    for dtype, nodata, shape in (("uint16", 0, (300, 290)), ("int16", 32767, (512, 600)), ("uint8", 0, (40, 50, 3))):
        level = cog.Level(3000, 3000, _window(shape, dtype, high=120), 1500, 1000)
        for top, strip, bottom in cog._tiles(level, 1024, nodata).values():
            full = np.full((1024, 1024) + shape[2:], nodata, dtype)
            full[top:1024 - bottom] = strip
            assert zlib.decompress(cog._compress(top, strip, bottom, nodata, 6)) == cog._predict(full).tobytes()


def test_dense_sinusoidal_int16_cog_matches_gdals_georeferencing(tmp_path):
    """MODIS' sinusoidal CRS: the GeoKeys are GDAL's own, so the CRS reads back identically."""
    data = _window((2400, 2400), "int16", high=9000)
    data[:100] = modis.NBAR_FILL
    xmin, _, _, ymax = modis.tile_bounds(10, 3)
    transform = Affine(modis.PIXEL_SIZE_500M, 0, xmin, 0, -modis.PIXEL_SIZE_500M, ymax)
    path = writer.write_cog(tmp_path / "m.tif", data, transform=transform, crs=modis.SINUSOIDAL_WKT2,
                            size=(2400, 2400), nodata=modis.NBAR_FILL, blocksize=512, resampling="average")
    with MemoryFile() as mem:
        with mem.open(driver="GTiff", width=1, height=1, count=1, dtype="int16", crs=modis.SINUSOIDAL_WKT2,
                      transform=transform) as ref:
            ref_crs = ref.crs
    with rasterio.open(path) as src:
        assert src.crs == ref_crs and src.transform.almost_equals(transform)
        assert src.nodata == modis.NBAR_FILL and src.overviews(1) == [2, 4, 8]
        np.testing.assert_array_equal(src.read(1), data)


def test_rgb_and_determinism(tmp_path):
    rgb = _window((100, 120, 3), "uint8", high=255)
    kw = dict(transform=TILE, crs=UTM, size=(10980, 10980), offset=(10, 20), blocksize=1024, photometric="rgb")
    a = writer.write_cog(tmp_path / "a.tif", rgb, **kw)
    b = writer.write_cog(tmp_path / "b.tif", rgb, **kw)
    assert a.read_bytes() == b.read_bytes()
    with rasterio.open(a) as src:
        assert src.count == 3 and src.colorinterp[0].name == "red"
        np.testing.assert_array_equal(np.moveaxis(src.read(window=((10, 110), (20, 140))), 0, -1), rgb)


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="does not fit"):
        writer.write_cog(tmp_path / "x.tif", _window((10, 10)), transform=TILE, crs=UTM, size=(100, 100), offset=(95, 0))
    with pytest.raises(ValueError, match="multiple of 16"):
        cog.encode([cog.Level(10, 10, _window((10, 10)))], transform=TILE, crs_wkt=UTM, nodata=0, blocksize=100)
    assert not list(tmp_path.iterdir())


def test_png_is_readable():
    import io

    import matplotlib.image

    rgb = _window((7, 9, 3), "uint8", high=255)
    back = matplotlib.image.imread(io.BytesIO(writer.png_bytes(rgb)), format="png")
    np.testing.assert_array_equal((back[..., :3] * 255).round().astype("uint8"), rgb)
