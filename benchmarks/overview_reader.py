"""A stackstac reader that reads a COG's overview when the output grid is coarser than the file.

stackstac 0.5.1 always warps from full resolution (stackstac issue #196): at 100 m it decodes
every 10 m pixel of the window and keeps one in a hundred. GDAL's ``RasterIO`` and odc-stac
pick an overview instead. :class:`OverviewRioReader` does the same inside stackstac: it opens
the file once, picks the coarsest overview whose pixels are still no larger than the output's,
and, if there is one, re-opens at that ``OVERVIEW_LEVEL`` (the header is already in GDAL's
cache, so that costs no request) and warps from it. Everything else (thread-local datasets,
404 as nodata) is stackstac's. Pass it as ``stackstac.stack(..., reader=OverviewRioReader)``.
"""

from __future__ import annotations

import warnings

from rasterio.vrt import WarpedVRT
from stackstac.rio_reader import (
    MULTITHREADED_DRIVER_ALLOWLIST,
    AutoParallelRioReader,
    NodataReader,
    SelfCleaningDatasetReader,
    SingleThreadedRioDataset,
    ThreadLocalRioDataset,
    exception_matches,
)


def overview_level(ds, resolution: float) -> int | None:
    """Index of the coarsest overview of ``ds`` whose pixel size is <= ``resolution``; None: full resolution."""
    level = None
    for i, factor in enumerate(ds.overviews(1)):
        if abs(ds.transform.a) * factor <= resolution:
            level = i
    return level


class OverviewRioReader(AutoParallelRioReader):
    """``AutoParallelRioReader`` that warps from the best overview instead of full resolution."""

    def _open(self):
        with self.gdal_env.open:
            try:
                ds = SelfCleaningDatasetReader(self.url, sharing=False)
                level = overview_level(ds, min(self.spec.resolutions_xy))
                if level is not None:
                    ds.close()
                    ds = SelfCleaningDatasetReader(self.url, sharing=False, overview_level=level)
            except Exception as e:
                if exception_matches(e, self.errors_as_nodata):
                    warnings.warn(f"Error opening {self.url!r}: {e!r}")
                    return NodataReader(dtype=self.dtype, fill_value=self.fill_value)
                raise RuntimeError(f"Error opening {self.url!r}: {e!r}") from e
            with self.gdal_env.open_vrt:
                vrt = WarpedVRT(ds, sharing=False, resampling=self.resampling, add_alpha=ds.nodata is None,
                                **self.spec.vrt_params)
        if ds.driver in MULTITHREADED_DRIVER_ALLOWLIST:
            return ThreadLocalRioDataset(self.gdal_env, ds, vrt=vrt)
        return SingleThreadedRioDataset(self.gdal_env, ds, vrt=vrt)
