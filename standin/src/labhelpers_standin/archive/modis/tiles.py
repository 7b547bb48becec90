"""Which MODIS tiles and days the archive holds, per size, and the geography they are drawn from.

Two sinusoidal tiles, as the lab uses them:

* **h11v04** with the handout's Chicago example, 41.881832, -87.623177, days 2019135-2019160;
* **h10v03** with Prince George, BC, for exercise 2 (NDVI per day, April and May 2021).

Each has an area of interest where the model adds full 500 m texture (:data:`CHICAGO`: the city
limits around the handout's point, which they contain; :data:`PRINCE_GEORGE`: the city around the
lab's AOI) and days missing from the archive, as in reality. Lakes, cities and the Pacific coast
are approximate outlines: enough to put water and towns where a student expects them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from labhelpers import modis
from labhelpers_standin.archive.layout import check_size

__all__ = ["CHICAGO_POINT", "CHICAGO", "PRINCE_GEORGE", "TileSpec", "PLANS", "plan", "LAKES", "CITIES", "COAST"]

#: The handout's Chicago point (lat, lon), verbatim.
CHICAGO_POINT = (41.881832, -87.623177)
#: (name, bbox lon_min, lat_min, lon_max, lat_max) of each tile's area of interest. Chicago's city
#: limits contain the handout's point; Prince George's box contains the lab's AOI.
CHICAGO = ("chicago", (-87.94, 41.644, -87.524, 42.023))
PRINCE_GEORGE = ("prince_george", (-123.0, 53.8, -122.6, 54.0))


@dataclass(frozen=True)
class TileSpec:
    """One tile of the archive: its days (``first``..``last`` minus ``missing``), its geography
    (``region``: ``"midwest"`` or ``"bc"``) and its area of interest."""

    h: int
    v: int
    first: str  # YYYYDDD
    last: str
    missing: tuple[str, ...]
    region: str
    aoi_name: str
    aoi_bbox: tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max

    @property
    def name(self) -> str:
        """``hHHvVV``."""
        return f"h{self.h:02d}v{self.v:02d}"

    def days(self) -> list[str]:
        """Every day from ``first`` to ``last``, missing ones included.

        Returns
        -------
        list of str
            YYYYDDD.
        """
        first, last = modis.day_to_date(self.first), modis.day_to_date(self.last)
        return [modis.day_string(first + dt.timedelta(days=i)) for i in range((last - first).days + 1)]

    def present(self) -> list[str]:
        """The days the archive has a granule for.

        Returns
        -------
        list of str
            YYYYDDD.
        """
        return [d for d in self.days() if d not in self.missing]


#: The MODIS plan of each archive size (see :data:`labhelpers_standin.archive.layout.SIZES`).
PLANS = {
    # the lab's periods: Chicago 2019135-2019160 (24 granules), Prince George April-May 2021 (57)
    "ci": (
        TileSpec(11, 4, "2019135", "2019160", ("2019141", "2019152"), "midwest", *CHICAGO),
        TileSpec(10, 3, "2021091", "2021151", ("2021097", "2021118", "2021119", "2021140"), "bc", *PRINCE_GEORGE),
    ),
    # the same tiles over longer periods, for the benchmarks
    "full": (
        TileSpec(11, 4, "2019091", "2019181", ("2019104", "2019141", "2019152", "2019170"), "midwest", *CHICAGO),
        TileSpec(10, 3, "2021060", "2021181", ("2021077", "2021097", "2021118", "2021119", "2021140", "2021165"),
                 "bc", *PRINCE_GEORGE),
    ),
    # for unit tests of the generator: one tile, two granules and a gap
    "test": (TileSpec(10, 3, "2021120", "2021122", ("2021121",), "bc", *PRINCE_GEORGE),),
}


def plan(size: str) -> tuple[TileSpec, ...]:
    """The MODIS tiles and days of archive ``size``.

    Parameters
    ----------
    size : str
        One of :data:`labhelpers_standin.archive.layout.ALL_SIZES`.

    Returns
    -------
    tuple of TileSpec

    Raises
    ------
    ValueError
        For an unknown size (the message lists the known ones).
    """
    return PLANS[check_size(size)]


LAKES = {
    "midwest": [
        [(-87.53, 41.62), (-87.62, 41.88), (-87.80, 42.30), (-87.88, 43.04), (-87.70, 43.75), (-87.40, 44.90),
         (-86.30, 45.80), (-84.80, 45.80), (-85.40, 45.20), (-86.00, 44.80), (-86.45, 43.95), (-86.30, 43.23),
         (-86.22, 42.78), (-86.48, 42.10), (-86.90, 41.72), (-87.33, 41.61)],  # Michigan
        [(-92.10, 46.70), (-90.40, 46.60), (-88.00, 47.00), (-86.50, 46.45), (-84.60, 46.50), (-84.90, 47.90),
         (-86.50, 48.70), (-88.40, 48.30), (-89.60, 47.90), (-91.50, 47.30)],  # Superior
        [(-83.50, 41.70), (-82.00, 41.50), (-81.00, 41.90), (-79.00, 42.70), (-79.20, 42.90), (-80.50, 42.60),
         (-82.50, 42.00), (-83.20, 42.05)],  # Erie
        [(-84.70, 45.90), (-83.00, 46.10), (-81.30, 45.20), (-81.70, 44.00), (-82.40, 43.00), (-82.60, 43.80),
         (-83.40, 44.30), (-83.30, 45.00), (-84.30, 45.50)],  # Huron
    ],
    "bc": [
        [(-125.30, 54.75), (-124.60, 54.72), (-124.25, 54.55), (-124.40, 54.45), (-124.90, 54.55)],  # Stuart
        [(-126.60, 55.25), (-126.10, 54.95), (-125.55, 54.55), (-125.70, 54.50), (-126.20, 54.85)],  # Babine
        [(-126.40, 53.65), (-125.40, 53.55), (-124.80, 54.10), (-125.00, 54.12), (-125.60, 53.75)],  # Francois/Ootsa
        [(-121.60, 52.70), (-120.60, 52.45), (-120.50, 52.55), (-121.40, 52.80)],  # Quesnel
        [(-119.60, 50.00), (-119.40, 49.85), (-119.35, 50.40), (-119.55, 50.35)],  # Okanagan
    ],
}
CITIES = {  # lon, lat, radius (degrees): Chicago first, around the handout's point
    "midwest": [(-87.70, 41.86, 0.24), (-93.27, 44.98, 0.18), (-87.95, 43.04, 0.12), (-83.10, 42.38, 0.20),
                (-93.62, 41.60, 0.08), (-89.40, 43.07, 0.06)],
    "bc": [(-122.76, 53.91, 0.05), (-114.07, 51.05, 0.16), (-119.50, 49.89, 0.05), (-120.33, 50.67, 0.05)],
}
# BC mainland Pacific coast: longitude of the shore at these latitudes (west of it: ocean = fill)
COAST = (np.array([50.0, 52.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0]),
         np.array([-127.8, -128.4, -130.3, -130.6, -131.8, -133.5, -136.0, -138.5, -141.5]))

