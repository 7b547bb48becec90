"""labhelpers: thin helpers for the Planetary Computer remote-sensing lab.

One concept per module, each importable on its own (``import labhelpers.stac``): :mod:`settings`
(which world: the Planetary Computer or the offline stand-in), :mod:`aoi`, :mod:`stac`,
:mod:`sentinel2`, :mod:`composites`, :mod:`indices`, :mod:`modis`, :mod:`tables`,
:mod:`plotting`, :mod:`cluster`, and :mod:`errors` (every exception). Modules are imported when
used, so ``import labhelpers`` is instant.
"""

__version__ = "0.2.0"

__all__ = [
    "aoi", "cluster", "composites", "errors", "indices", "modis", "plotting", "sentinel2", "settings", "stac",
    "tables", "__version__",
]
