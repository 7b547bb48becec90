"""Stack Sentinel-2 L2A scenes into one (time, band, y, x) array of surface reflectance.

What turns a list of STAC items into science-ready reflectance, and why each step is needed:

1. **One grid.** Scenes come in different UTM zones and resolutions (10 m and 20 m bands).
   stackstac reprojects every asset onto one grid: a CRS (``epsg``), a ``resolution`` and
   ``bounds``. stackstac 0.5.1 only reads ``proj:epsg``, but pystac >= 1.12 rewrites
   ``proj:epsg`` to ``proj:code`` ("EPSG:32610") when it loads an item; without an EPSG code
   stackstac silently ignores each asset's ``proj:transform``. So we put ``proj:epsg`` back on
   each item and always pass ``epsg=`` explicitly.
2. **No data is not zero reflectance.** A digital number (DN) of 0 marks pixels outside the
   satellite's swath; we turn them into NaN so that medians and means skip them.
3. **DN to reflectance.** L2A stores ``reflectance * 10000`` as integers. Since processing
   baseline 04.00 (products from 2022-01-25 on) ESA also adds 1000 to every DN
   (``BOA_ADD_OFFSET = -1000`` in the product metadata) so that noise below zero survives.
   MPC's items do not describe this offset (no ``raster:bands``), so we decide it per item from
   ``s2:processing_baseline`` and apply it exactly once: ``(DN + offset) / 10000``.
4. **Names you can read.** Bands are labelled by common name (``red``, ``nir``, ``swir16``)
   instead of asset keys (``B04``, ``B08``, ``B11``).
5. **Clouds (optional).** The scene classification layer (SCL) flags clouds, their shadows and
   defective pixels; ``mask_clouds=True`` sets those to NaN and keeps snow (class 11).

Reads are bounded: GDAL waits at most :func:`labhelpers.settings.timeouts` for each answer of the
blob server and retries once, and a failed read raises one
:class:`~labhelpers.errors.ServiceError` naming the file (without its SAS token) and what to do.
A stack larger than :data:`MAX_STACK_BYTES` is refused, one larger than :data:`WARN_STACK_BYTES`
warned about, both naming the size: usually the resolution was given in the wrong unit.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections import Counter
from datetime import datetime, timezone

import numpy as np
import pystac
import stackstac
import xarray as xr
from stackstac.rio_reader import AutoParallelRioReader, nodata_for_window

from labhelpers import _checks
from labhelpers._net import RETRIES, redact, scrub
from labhelpers.errors import InputError, InputTypeError, ServiceError, SizeWarning, StackTooLargeError
from labhelpers.settings import timeouts

__all__ = ["BASELINE_04_DATE", "COMMON_NAMES", "SCL_MASKED", "MAX_STACK_BYTES", "WARN_STACK_BYTES", "boa_offset",
           "item_epsg", "choose_epsg", "stack"]

#: A stack larger than this (if it were computed whole, as float32) is refused: 64 GiB is more than
#: any lab machine or course cluster holds, and every lab stack is under 1 GiB. Reduce it with a
#: coarser ``resolution``, a smaller ``bbox``, fewer dates or fewer ``assets``.
MAX_STACK_BYTES = 64 * 2**30
#: A stack larger than this is warned about: ``.persist()`` or ``.compute()`` of the whole stack
#: would not fit a 2 GiB worker; reduce it first (a median, a mean) or make it smaller.
WARN_STACK_BYTES = 2 * 2**30

#: ESA changed L2A processing on this date (baseline 04.00): DNs carry a +1000 offset since.
BASELINE_04_DATE = datetime(2022, 1, 25, tzinfo=timezone.utc)

#: Asset key -> STAC ``eo:common_name`` for the L2A bands the lab uses.
COMMON_NAMES = {
    "B01": "coastal", "B02": "blue", "B03": "green", "B04": "red", "B05": "rededge",
    "B06": "rededge", "B07": "rededge", "B08": "nir", "B8A": "nir08", "B09": "nir09",
    "B11": "swir16", "B12": "swir22", "SCL": "scl",
}

#: SCL classes that are not a clear view of the ground: no data (0), saturated or defective (1),
#: cloud shadow (3), cloud medium (8) and high (9) probability, thin cirrus (10). Snow (11) stays.
SCL_MASKED = (0, 1, 3, 8, 9, 10)

#: Assets that are not reflectance: no offset, no scaling.
NOT_REFLECTANCE = {"SCL", "AOT", "WVP", "visual"}


def _props(item) -> dict:
    if isinstance(item, pystac.Item):
        return item.properties
    if isinstance(item, dict) and isinstance(item.get("properties"), dict):
        return item["properties"]
    raise InputTypeError(f"Expected a STAC item (pystac.Item or its dict), not {type(item).__name__} {str(item)[:80]!r}.")


def _baseline_number(baseline: str) -> tuple[int, int]:
    major, _, minor = str(baseline).partition(".")
    return int(major), int(minor or 0)


def boa_offset(item) -> int:
    """The DN offset to add to this item's reflectance bands: -1000 from baseline 04.00, else 0.

    It has ESA's meaning of ``BOA_ADD_OFFSET``: reflectance = (DN + offset) / 10000.

    Parameters
    ----------
    item : pystac.Item or dict
        A Sentinel-2 L2A item. Baselines are compared as numbers ("10.00" > "04.00"; as strings
        "10.00" < "4.00"). An item without ``s2:processing_baseline`` falls back on its date
        (2022-01-25).

    Returns
    -------
    int
        -1000 or 0.
    """
    props = _props(item)
    baseline = props.get("s2:processing_baseline")
    if baseline is None:
        when = item.datetime if isinstance(item, pystac.Item) else datetime.fromisoformat(
            props["datetime"].replace("Z", "+00:00")
        )
        return -1000 if when >= BASELINE_04_DATE else 0
    return -1000 if _baseline_number(baseline) >= (4, 0) else 0


def item_epsg(item) -> int | None:
    """The item's EPSG code from ``proj:epsg`` or ``proj:code`` ("EPSG:32610").

    Parameters
    ----------
    item : pystac.Item or dict

    Returns
    -------
    int or None
        None when the item has neither property (or a non-EPSG ``proj:code``).
    """
    props = _props(item)
    if props.get("proj:epsg") is not None:
        return int(props["proj:epsg"])
    code = props.get("proj:code")
    if isinstance(code, str) and code.upper().startswith("EPSG:"):
        return int(code.split(":", 1)[1])
    return None


def _as_stackstac_dict(item) -> dict:
    """The item as a dict that stackstac 0.5.1 understands: ``proj:epsg`` restored."""
    # transform_hrefs=False: otherwise pystac fetches the root catalog to resolve relative links
    d = item.to_dict(transform_hrefs=False) if isinstance(item, pystac.Item) else dict(item)
    epsg = item_epsg(item)
    if epsg is not None:
        d["properties"] = {**d["properties"], "proj:epsg": epsg}
    return d


def choose_epsg(items) -> int:
    """The most common EPSG code among ``items`` (ties: the smallest code, so it is repeatable).

    Parameters
    ----------
    items : sequence of pystac.Item or dict

    Returns
    -------
    int

    Raises
    ------
    InputError
        When no item has ``proj:epsg`` or ``proj:code``; pass ``epsg=`` to :func:`stack` then.
    """
    counts = Counter(e for e in (item_epsg(i) for i in items) if e is not None)
    if not counts:
        raise InputError("None of the items has proj:epsg or proj:code: pass epsg= explicitly (e.g. epsg=32610).")
    best = max(counts.values())
    return min(e for e, n in counts.items() if n == best)


def _check_items(items) -> list:
    if isinstance(items, (pystac.Item, dict, str, bytes)) or not hasattr(items, "__iter__"):
        raise InputTypeError(f"items must be a list of STAC items (the ItemCollection labhelpers.stac.search "
                             f"returns), not {type(items).__name__}; for one item write [item].")
    items = list(items)
    if not items:
        raise InputError("No items to stack: run a search that returns items first.")
    for item in items:
        _props(item)
    return items


def _check_assets(assets) -> list[str]:
    assets = [assets] if isinstance(assets, str) else list(assets)
    by_name = {name: key for key, name in COMMON_NAMES.items()}
    for a in assets:
        if a in by_name and a not in COMMON_NAMES:
            raise InputError(f"assets takes asset keys, not common names: write {by_name[a]!r} for {a!r}.")
        _checks.choice("assets", a, sorted(COMMON_NAMES), what="Sentinel-2 asset")
    if len(set(assets)) != len(assets) or not assets:
        raise InputError(f"assets={assets!r}: give each asset key once, e.g. ('B04', 'B08').")
    return assets


def _check_grid(epsg: int, resolution: float) -> None:
    """Refuse a resolution in the wrong unit for the CRS (degrees for UTM, metres for EPSG:4326)."""
    import pyproj

    try:
        crs = pyproj.CRS.from_epsg(epsg)
    except pyproj.exceptions.CRSError:
        raise InputError(f"epsg={epsg} is not an EPSG code pyproj knows; the lab uses UTM codes such as 32610.") from None
    if crs.is_geographic and resolution >= 1:
        raise InputError(f"EPSG:{epsg} measures in degrees, so resolution={resolution:g} means {resolution:g}-degree "
                         "pixels. Keep the items' UTM CRS (leave epsg=None) with a resolution in metres, e.g. 100.")
    if not crs.is_geographic and resolution < 1:
        raise InputError(f"resolution={resolution:g} is in the units of EPSG:{epsg}, metres: {resolution:g} m pixels "
                         "(Sentinel-2's finest band is 10 m). Give metres, e.g. resolution=100.")


def _check_size(raw: xr.DataArray, resolution: float) -> None:
    size, shape = raw.nbytes, " x ".join(f"{n:,}" for n in raw.shape)
    what = f"This stack would be {size / 2**30:,.1f} GiB as float32 ({shape} = time x band x y x x)"
    if size > MAX_STACK_BYTES:
        raise StackTooLargeError(f"{what}, more than the {MAX_STACK_BYTES / 2**30:.0f} GiB limit. resolution="
                                 f"{resolution:g} is in metres: the lab uses 100; also check bbox, the dates and assets.")
    if size > WARN_STACK_BYTES:
        warnings.warn(f"{what}: too big to .compute() or .persist() whole. Reduce it first (a median over time), or "
                      "use a coarser resolution or a smaller bbox.", SizeWarning, stacklevel=3)


def stack(
    items,
    assets=("B04", "B03", "B02", "B08"),
    resolution: float = 100,
    bbox=None,
    epsg: int | None = None,
    mask_clouds: bool = False,
    chunksize: int = 2048,
    harmonize: bool = True,
) -> xr.DataArray:
    """Stack Sentinel-2 L2A ``items`` into float32 surface reflectance ``(time, band, y, x)``.

    Parameters
    ----------
    items : sequence of pystac.Item or dict
        E.g. from :func:`labhelpers.stac.search`.
    assets : sequence of str, default ("B04", "B03", "B02", "B08")
        Asset keys to load; the band coordinate becomes their common names.
    resolution : float, default 100
        Output pixel size in the units of the CRS: metres for the items' UTM CRS (100 m keeps a
        multi-year stack small).
    bbox : sequence of 4 float, optional
        ``(west, south, east, north)`` in degrees to clip to; None = the union of the items
        (whole MGRS tiles: large).
    epsg : int, optional
        Output CRS; default the most common among the items (MPC hrefs span UTM zones).
    mask_clouds : bool, default False
        Set pixels whose SCL class is in :data:`SCL_MASKED` to NaN (loads SCL too).
    chunksize : int, default 2048
        Dask chunk size in pixels (y and x).
    harmonize : bool, default True
        Apply each item's :func:`boa_offset`; ``False`` only to *see* the baseline jump.

    Returns
    -------
    xarray.DataArray
        Lazy (dask): nothing is read until you ``.compute()`` or ``.persist()``.
        ``attrs["boa_offset_applied"]`` records that the baseline offset has been applied.
        A read that fails later raises :class:`~labhelpers.errors.ServiceError`.

    Raises
    ------
    InputError
        For no items, an unknown or repeated asset key, a resolution in the wrong unit for the
        CRS, a bbox that is not (west, south, east, north) or overlaps no item.
    StackTooLargeError
        When the stack would exceed :data:`MAX_STACK_BYTES`; the message gives its size.

    Warns
    -----
    SizeWarning
        When the stack exceeds :data:`WARN_STACK_BYTES`.
    """
    items = _check_items(items)
    assets = _check_assets(assets)
    resolution = _checks.number("resolution", resolution, 0, lo_open=True, unit="metres (the CRS's unit)")
    if bbox is not None:
        bbox = _checks.bbox(bbox)
        _checks.overlap([i.bbox if isinstance(i, pystac.Item) else i.get("bbox") for i in items], bbox, "items")
    epsg = choose_epsg(items) if epsg is None else _checks.number("epsg", epsg, 1024, 999999, integer=True)
    _check_grid(epsg, resolution)
    mask_clouds, harmonize = _checks.flag("mask_clouds", mask_clouds), _checks.flag("harmonize", harmonize)
    chunksize = _checks.number("chunksize", chunksize, 1, integer=True)
    load = assets + (["SCL"] if mask_clouds and "SCL" not in assets else [])
    connect, read = timeouts()
    gdal_env = stackstac.DEFAULT_GDAL_ENV.updated(always=dict(
        GDAL_HTTP_CONNECTTIMEOUT=int(connect), GDAL_HTTP_TIMEOUT=int(read), GDAL_HTTP_MAX_RETRY=RETRIES,
        GDAL_HTTP_RETRY_DELAY=1))

    raw = stackstac.stack(
        [_as_stackstac_dict(i) for i in items],
        assets=load,
        epsg=epsg,
        resolution=resolution,
        bounds_latlon=bbox,
        dtype="float32",
        fill_value=np.float32(np.nan),
        rescale=False,  # MPC items carry no raster:bands scale/offset; we apply them below
        chunksize=chunksize,
        xy_coords="center",  # label pixels by their centres, as xarray plotting and rioxarray assume
        gdal_env=gdal_env,
        errors_as_nodata=(),  # _Reader turns a missing file (404) into no data itself, with a redacted warning
        reader=_Reader,
    )
    _check_size(raw, resolution)

    # Offset per scene, looked up by id (stackstac sorts items by date).
    offsets = {i.id if isinstance(i, pystac.Item) else i["id"]: boa_offset(i) if harmonize else 0 for i in items}
    offset = xr.DataArray(
        np.array([offsets[i] for i in raw["id"].values], dtype="float32"), dims="time"
    )
    is_reflectance = xr.DataArray([b not in NOT_REFLECTANCE for b in load], dims="band")

    dn = raw.where(raw != 0)  # DN 0 = no data, for every band (SCL 0 too)
    reflectance = xr.where(is_reflectance, (dn + offset) / 10000, dn).transpose(*raw.dims).astype("float32")
    reflectance = reflectance.assign_coords(band=[COMMON_NAMES[b] for b in load])

    if mask_clouds:
        scl = reflectance.sel(band="scl")
        reflectance = reflectance.where(~scl.isin(SCL_MASKED) & scl.notnull())
        if "SCL" not in assets:
            reflectance = reflectance.drop_sel(band="scl")

    reflectance.attrs.update(raw.attrs)
    reflectance.attrs.update(
        boa_offset_applied=bool(harmonize),
        units="surface reflectance (0-1)",
        epsg=epsg,
        resolution=resolution,
        cloud_masked=bool(mask_clouds),
    )
    reflectance.name = "reflectance"
    return reflectance


# --- reading: bounded, redacted, quiet ------------------------------------------------------------

_MARK = "labhelpers could not read"
# Hosts whose last read got no HTTP answer (per process). While a host is down, one read at a time
# tries it again (the probe); reads that arrive meanwhile wait for its outcome and fail at once if it
# failed, instead of each waiting for its own timeout. The first read that succeeds clears the host.
_DOWN: set[str] = set()
_PROBING: set[str] = set()
_LOCK = threading.Condition()


def _host(url: str) -> str:
    return url.split("/")[2] if url.count("/") >= 2 else url


def _forget(url: str) -> None:
    """Make GDAL try the host of ``url`` again: /vsicurl/ remembers a file it could not reach for the
    life of the process (so a notebook stayed broken after the server came back). rasterio has no
    call for it: VSICurlPartialClearCache is called in the GDAL library rasterio loaded."""
    import ctypes
    import glob
    import os

    import rasterio

    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "libgdal" in line})
    except OSError:  # not Linux: the library shipped in rasterio's wheel
        paths = sorted(glob.glob(os.path.join(os.path.dirname(rasterio.__file__), "..", "rasterio*", "libgdal*")))
    for path in paths:
        try:
            clear = ctypes.CDLL(path).VSICurlPartialClearCache
        except (OSError, AttributeError):
            continue
        clear.argtypes = [ctypes.c_char_p]
        clear(("/vsicurl/" + "/".join(url.split("/")[:3]) + "/").encode())
        return


def _read_error(url: str, err: Exception) -> ServiceError:
    while err.__cause__ is not None:  # the root cause: GDAL's own words
        err = err.__cause__
    text = f"{type(err).__name__}: " + " ".join(scrub(err).split())
    with _LOCK:  # an HTTP status is an answer: the host is up
        (_DOWN.discard if "HTTP response code" in text else _DOWN.add)(_host(url))
    read = timeouts()[1]
    fix = ("on the Planetary Computer an HTTP 403 means the SAS token expired: search again (items are signed "
           "as they arrive) and rebuild the stack" if "code: 403" in text else
           "check the blob server: offline `labhelpers offline status` (restart: `labhelpers offline up`), online "
           "your connection")
    return ServiceError(f"{_MARK} {redact(url)} from blob storage ({text[:240]}; tried {RETRIES + 1} "
                        f"times, waiting up to {read:.0f} s for each answer). To fix: {fix}, then compute again.")


class _Reader(AutoParallelRioReader):
    """stackstac's reader, with errors that name the blob server, hold no SAS token and come fast once it is down."""

    def _guarded(self, call):
        host = _host(self.url)
        with _LOCK:
            waited = host in _PROBING
            while host in _PROBING:
                _LOCK.wait()
            if waited and host in _DOWN:
                raise ServiceError(f"{_MARK} {redact(self.url)}: the blob server {host} did not answer just now. "
                                   "Check it (offline: `labhelpers offline status`) and compute again.")
            probe = host in _DOWN
            if probe:
                _PROBING.add(host)
        if probe:
            _forget(self.url)
        try:
            result = call()
        except ServiceError:
            raise
        except Exception as err:  # noqa: BLE001 - every failure becomes one clear ServiceError
            failure = err
        else:
            with _LOCK:
                _DOWN.discard(host)
            return result
        finally:
            if probe:
                with _LOCK:
                    _PROBING.discard(host)
                    _LOCK.notify_all()
        if "HTTP response code: 404" in str(failure):  # stackstac's default: a missing file is no data
            with _LOCK:
                _DOWN.discard(host)
            warnings.warn(f"{redact(self.url)} does not exist (HTTP 404): its pixels are NaN.", stacklevel=3)
            return None
        # raised outside the except block: no __context__ chain (it would carry the signed URL, and
        # rasterio's errors do not survive the pickling that sends an error from a worker to the notebook)
        raise _read_error(self.url, failure)

    def read(self, window, **kwargs):  # (stackstac opens the file inside read: one guard covers both)
        data = self._guarded(lambda: super(_Reader, self).read(window, **kwargs))
        return nodata_for_window(window, self.fill_value, self.dtype) if data is None else data


class _WorkerLogFilter(logging.Filter):
    """On Dask workers: log the first failed read of a process in full, drop the repeats, redact tokens."""

    def __init__(self):
        super().__init__()
        self.seen, self.lock = False, threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("Compute Failed"):
            return True
        record.args = tuple(scrub(a) for a in record.args) if isinstance(record.args, tuple) else record.args
        if _MARK in str(record.args):
            with self.lock:
                if self.seen:
                    return False
                self.seen = True
        return True


def _install_log_filter() -> None:
    logger = logging.getLogger("distributed.worker")
    if not any(isinstance(f, _WorkerLogFilter) for f in logger.filters):
        logger.addFilter(_WorkerLogFilter())


_install_log_filter()  # runs wherever this module is imported: the notebook and every worker that reads
