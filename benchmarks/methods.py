"""The ways of making the lab's composite that the benchmark compares, all on one :class:`~benchmarks.workload.Workload`.

Every method reads the same Sentinel-2 L2A COGs over HTTP from the stand-in's blob server (as
students read MPC's), turns DNs into reflectance the same way (DN 0 -> NaN, the item's baseline
offset, / 10000, see :mod:`labhelpers.sentinel2`) and returns a numpy composite on the grid of
:func:`~benchmarks.workload.grid`:

``ours``
    :func:`labhelpers.sentinel2.stack` (stackstac) -> :func:`labhelpers.composites.median` or
    :func:`~labhelpers.composites.monthly`, computed with dask's threaded scheduler. The
    proposed overview reader, which ``stack`` does not take yet, is passed through to
    ``stackstac.stack`` to measure the change before it is made.
``odc``
    ``odc.stac.load`` on a GeoBox equal to that grid -> the same reductions. MPC items have no
    ``raster:bands``, so nodata 0, the offset and the scale are applied here, as for ``ours``.
``naive``
    a plain loop: per scene and band, ``rioxarray.open_rasterio`` -> ``clip_box`` -> ``reproject``
    onto the grid, then ``numpy.nanmedian`` over time.
``limit``
    what no method can beat: one ``rasterio`` open and one windowed read per asset of exactly the
    grid's pixels (GDAL picks the overview), on 1 or 2 threads, no reduction. Its stack is reduced
    after the clock stops, only to check it agrees.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np

from benchmarks.workload import Workload, grid, load_items

#: GDAL settings for the raw-read limit, the same as stackstac's and odc-stac's defaults: no
#: directory listing on open (no .aux/.ovr/.msk probes), adjacent blocks in one range request.
#: Not used: ``CPL_VSIL_CURL_USE_HEAD=NO``. It swaps each HEAD for a GET that GDAL aborts after
#: the headers; Azurite leaks one file descriptor per aborted GET and fails every request once
#: its 20 000 are gone (measured: +1 descriptor per asset), and it saves no request.
READ_GDAL = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
}


def to_reflectance(dn: np.ndarray, offset: float) -> np.ndarray:
    """DN -> float32 reflectance, DN 0 (no data) -> NaN: the rule of :mod:`labhelpers.sentinel2`."""
    dn = dn.astype("float32")
    return np.where(dn == 0, np.float32(np.nan), (dn + np.float32(offset)) / np.float32(10000))


def nanmedian(stack: np.ndarray) -> np.ndarray:
    """Median over axis 0 skipping NaN; all-NaN pixels stay NaN (without numpy's warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(stack, axis=0).astype("float32")


@contextmanager
def _threads(num_workers: int | None):
    import dask

    with dask.config.set(scheduler="threads", num_workers=num_workers):
        yield


def _reduce(da, reduce: str) -> np.ndarray:
    import labhelpers.composites

    if reduce == "median":
        return labhelpers.composites.median(da).values
    if reduce == "monthly":
        return labhelpers.composites.monthly(da).values
    raise ValueError(f"unknown reduction {reduce!r}")


@contextmanager
def _stackstac_extra(extra: dict):
    """Let ``labhelpers.sentinel2.stack`` pass ``extra`` to ``stackstac.stack`` (what a new keyword would do)."""
    import labhelpers.sentinel2 as s2

    if not extra:
        yield
        return
    original = s2.stackstac
    patched = type(original)(original.__name__)
    patched.__dict__.update({k: v for k, v in vars(original).items() if not k.startswith("__")})  # DEFAULT_GDAL_ENV...

    def stack(*args, **kwargs):  # ``extra`` wins over what labhelpers passes (its own reader=)
        return original.stack(*args, **{**kwargs, **extra})

    patched.stack = stack
    s2.stackstac = patched
    try:
        yield
    finally:
        s2.stackstac = original


def ours(wl: Workload, reduce: str = "median", threads: int | None = None, overviews: bool = False) -> np.ndarray:
    """``labhelpers.sentinel2.stack`` -> composite, computed on dask's threaded scheduler.

    ``overviews=True`` gives stackstac the proposed :class:`~benchmarks.overview_reader.OverviewRioReader`.
    """
    import labhelpers.sentinel2

    extra = {}
    if overviews:
        from benchmarks.overview_reader import OverviewRioReader

        # labhelpers' own reader (clear, redacted errors) with the overview choice on top
        extra["reader"] = type("ProposedReader", (OverviewRioReader, labhelpers.sentinel2._Reader), {})
    with _stackstac_extra(extra), _threads(threads):
        da = labhelpers.sentinel2.stack(load_items(wl.items_path), assets=wl.assets, resolution=wl.resolution,
                                        bbox=wl.bbox, epsg=wl.epsg)
        return _reduce(da, reduce)


def odc(wl: Workload, reduce: str = "median", threads: int | None = None, overviews: bool = True) -> np.ndarray:
    """``odc.stac.load`` on the same grid -> the same reductions (nodata, offset, scale applied here).

    ``overviews=False`` makes odc-stac warp from full resolution, as stackstac does: the reference
    for methods that read full resolution (nearest from an overview samples other pixels).
    """
    import odc.stac
    import xarray as xr
    from affine import Affine
    from odc.geo.geobox import GeoBox

    from labhelpers.sentinel2 import boa_offset

    items = load_items(wl.items_path)
    g = grid(wl)
    odc.stac.configure_rio(cloud_defaults=True)  # what odc-stac's docs recommend for cloud COGs
    geobox = GeoBox(g.shape, Affine(*g.transform), f"EPSG:{g.epsg}")
    # MPC items carry no raster:bands: tell odc-stac the data type and nodata of every asset.
    cfg = {"sentinel-2-l2a": {"assets": {"*": {"data_type": "uint16", "nodata": 0}}}}
    with _threads(threads):
        ds = odc.stac.load(items, bands=list(wl.assets), geobox=geobox, chunks={"x": 2048, "y": 2048},
                           groupby="id", resampling="nearest", stac_cfg=cfg, use_overviews=overviews)
        offset_of = {np.datetime64(i.datetime.replace(tzinfo=None), "ns"): boa_offset(i) for i in items}
        offset = xr.DataArray(np.array([offset_of[t] for t in ds.time.values], "float32"), dims="time")
        dn = ds[list(wl.assets)].to_array("band").transpose("time", "band", "y", "x")
        reflectance = ((dn.where(dn != 0) + offset) / 10000).astype("float32")
        return _reduce(reflectance, reduce)


def naive(wl: Workload) -> np.ndarray:
    """Scene by scene, band by band with rioxarray onto the grid, then ``numpy.nanmedian``."""
    import rioxarray
    from affine import Affine
    from rasterio.enums import Resampling

    from labhelpers.sentinel2 import boa_offset

    g = grid(wl)
    pad = wl.resolution  # one output pixel of margin so nearest never samples outside the clip
    west, south, east, north = g.bounds
    scenes = []
    for item in load_items(wl.items_path):
        bands = []
        for asset in wl.assets:
            src = rioxarray.open_rasterio(item.assets[asset].href)
            clip = src.rio.clip_box(west - pad, south - pad, east + pad, north + pad)
            out = clip.rio.reproject(f"EPSG:{g.epsg}", shape=g.shape, transform=Affine(*g.transform),
                                     resampling=Resampling.nearest, nodata=0)
            bands.append(to_reflectance(out.values[0], boa_offset(item)))
            src.close()
        scenes.append(bands)
    return nanmedian(np.array(scenes))


def limit_reads(wl: Workload, threads: int = 1) -> np.ndarray:
    """One open + one windowed read per asset, exactly the grid's pixels; returns the raw DN stack (time, band, y, x)."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.windows import from_bounds

    g = grid(wl)

    def read(href: str) -> np.ndarray:
        with rasterio.open(href) as src:
            window = from_bounds(*g.bounds, transform=src.transform)
            return src.read(1, window=window, out_shape=g.shape, resampling=Resampling.nearest)

    hrefs = [item.assets[a].href for item in load_items(wl.items_path) for a in wl.assets]
    with rasterio.Env(**READ_GDAL), ThreadPoolExecutor(threads) as pool:
        dns = list(pool.map(read, hrefs))
    return np.array(dns).reshape((-1, len(wl.assets)) + g.shape)


def limit_composite(wl: Workload, dns: np.ndarray) -> np.ndarray:
    """The median composite of :func:`limit_reads`' stack (outside the timing: only to check agreement)."""
    from labhelpers.sentinel2 import boa_offset

    offsets = [boa_offset(i) for i in load_items(wl.items_path)]
    return nanmedian(np.array([to_reflectance(dn, off) for dn, off in zip(dns, offsets)]))
