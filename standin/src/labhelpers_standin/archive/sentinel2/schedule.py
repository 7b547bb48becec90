"""When Sentinel-2 passes over tile 10UEE, how cloudy it is, and how the product was processed.

Two satellites (2A from 2015, 2B operational from July 2017) on two relative orbits that see the
tile (R013, and R113 whose swath edge crosses it), each every 10 days. A size's :class:`Plan`
keeps some of those passes; :func:`schedule` decides each scene's clouds from a monthly
climatology of Prince George (cloudy, most of all from October to February), so single cloudy
year-months can have no clear scene while every calendar month keeps clear scenes over
2016-2021, and assigns the processing baseline MPC holds for that date, including the
2022-01-25 switch to baseline 04.00 and its ``BOA_ADD_OFFSET`` of -1000.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from labhelpers_standin.archive.layout import check_size
from labhelpers_standin.archive.sentinel2.geography import MGRS_TILE

__all__ = [
    "SEED", "BASELINE_OFFSET_FROM", "BOA_ADD_OFFSET", "LAB_QUERY", "BASELINES", "Stream", "ALL_STREAMS",
    "Period", "Plan", "PLANS", "plan", "Scene", "schedule", "processing_baseline", "boa_add_offset",
    "absolute_orbit", "solar_angles", "reflectance_conversion_factor", "mission",
]

SEED = 10_2016  # the one number every random draw of the schedule derives from
#: First sensing day of processing baseline 04.00, from which ESA writes ``BOA_ADD_OFFSET = -1000``.
BASELINE_OFFSET_FROM = date(2022, 1, 25)
#: ESA's ``BOA_ADD_OFFSET`` from baseline 04.00: reflectance = (DN + BOA_ADD_OFFSET) / 10000.
BOA_ADD_OFFSET = -1000
#: The lab's search: every scene of 2016-2021 over the AOI with less than 25 % cloud.
LAB_QUERY = {"datetime": "2016-01-01/2021-12-31", "eo:cloud_cover_lt": 25}


@dataclass(frozen=True)
class Stream:
    """Repeated passes of one satellite on one relative orbit over 10UEE (10-day repeat cycle)."""

    platform: str
    relative_orbit: int
    first: datetime  # one real-looking pass; the others are 10 days apart
    since: date  # when the satellite delivers data (Sentinel-2B: operational from July 2017)


# Sentinel-2A R013 on 2019-07-04 19:29:11; 2B flies the same track 5 days later; relative orbit
# 113 (the neighbouring track 2.5 degrees east, whose swath edge crosses the tile) is 100 orbits
# = 7 days later and ~10 minutes earlier in the day.
_A_R013 = Stream("Sentinel-2A", 13, datetime(2019, 7, 4, 19, 29, 11), date(2015, 6, 27))
_B_R013 = Stream("Sentinel-2B", 13, datetime(2019, 7, 9, 19, 29, 9), date(2017, 7, 1))
_A_R113 = Stream("Sentinel-2A", 113, datetime(2019, 7, 11, 19, 19, 21), date(2015, 6, 27))
_B_R113 = Stream("Sentinel-2B", 113, datetime(2019, 7, 16, 19, 19, 19), date(2017, 7, 1))
ALL_STREAMS = (_A_R013, _B_R013, _A_R113, _B_R113)


@dataclass(frozen=True)
class Period:
    """A date range of a plan: of its passes (all streams, by time) keep ``keep`` of every
    ``every`` in turn, so the cadence is thinned evenly and platforms/orbits stay mixed."""

    start: date
    end: date
    keep: int = 1
    every: int = 1
    streams: tuple[Stream, ...] = ALL_STREAMS


@dataclass(frozen=True)
class Plan:
    """What one archive size holds: the margin of the full-resolution window around the AOI,
    and which passes are written."""

    size: str
    margin_m: float
    periods: tuple[Period, ...]
    workers_chunk: int = 4


#: The Sentinel-2 plan of each archive size (see :data:`labhelpers_standin.archive.layout.SIZES`).
PLANS = {
    # ~4 scenes a month over the exercise years (with realistic clouds, every calendar month gets
    # clear scenes over the six years), ~2.4 a month afterwards (the baseline change); a ~3 km
    # window. The "every" values are prime to the 4-pass pattern of the two satellites on two
    # orbits, so thinning keeps all four in turn instead of always picking the same ones.
    "ci": Plan(
        "ci",
        600,
        (
            Period(date(2016, 1, 1), date(2017, 6, 30), keep=2, every=3),
            Period(date(2017, 7, 1), date(2021, 12, 31), keep=1, every=3),
            Period(date(2022, 1, 1), date(2024, 12, 31), keep=1, every=5),
        ),
    ),
    # Every pass of both satellites on both orbits (every 2-3 days from July 2017), ~10 km window.
    "full": Plan("full", 4000, (Period(date(2016, 1, 1), date(2024, 12, 31)),)),
    # For unit tests of the generator: a winter and a summer month before and after the baseline
    # change, a ~2 km window.
    "test": Plan(
        "test",
        150,
        (
            Period(date(2019, 1, 1), date(2019, 1, 31), streams=(_A_R013, _B_R013, _A_R113)),
            Period(date(2021, 7, 1), date(2021, 7, 31), streams=(_A_R013, _B_R013)),
            Period(date(2023, 7, 1), date(2023, 7, 31), streams=(_A_R013, _B_R013, _A_R113)),
        ),
    ),
}

#: (first sensing day, baseline, processing centre). Before July 2019 MPC holds Esri's 2020
#: reprocessing with Sen2Cor 2.8 (baseline 02.12); later products follow ESA's operational
#: baselines (dates approximate). Processor "MSFT" mirrors recent MPC granule ids.
BASELINES = (
    (date(2015, 6, 1), "02.12", "ESRI"),
    (date(2019, 7, 8), "02.13", "MSFT"),
    (date(2019, 12, 9), "02.14", "MSFT"),
    (date(2021, 3, 30), "03.00", "MSFT"),
    (date(2021, 6, 30), "03.01", "MSFT"),
    (BASELINE_OFFSET_FROM, "04.00", "MSFT"),
    (date(2022, 12, 6), "05.09", "MSFT"),
    (date(2023, 12, 13), "05.10", "MSFT"),
)
# Monthly chance that a scene is clear (< 25 % cloud) and that a cloudy one is overcast (100 %).
_P_CLEAR = (0.25, 0.3, 0.35, 0.35, 0.35, 0.4, 0.5, 0.5, 0.4, 0.3, 0.2, 0.2)
_P_OVERCAST = (0.35, 0.3, 0.2, 0.15, 0.1, 0.1, 0.05, 0.05, 0.1, 0.2, 0.3, 0.4)
# Each calendar month, pooled over the exercise years, gets at least this many clear scenes, so
# `groupby("time.month")` composites always have data; single year-months may have none (a cloudy
# December), which is what makes `resample("MS")` composites full of empty months, as on MPC.
_MIN_CLEAR_PER_CALENDAR_MONTH = 2
_EXERCISE_YEARS = range(2016, 2022)


def plan(size: str) -> Plan:
    """The Sentinel-2 plan of archive ``size``.

    Parameters
    ----------
    size : str
        One of :data:`labhelpers_standin.archive.layout.ALL_SIZES`.

    Returns
    -------
    Plan

    Raises
    ------
    ValueError
        For an unknown size (the message lists the known ones).
    """
    return PLANS[check_size(size)]


def processing_baseline(day: date) -> tuple[str, str]:
    """The baseline and processing centre of the product MPC holds for a scene sensed on ``day``.

    Parameters
    ----------
    day : datetime.date

    Returns
    -------
    (str, str)
        e.g. ("04.00", "MSFT").
    """
    return [(b, p) for start, b, p in BASELINES if start <= day][-1]


def boa_add_offset(baseline: str) -> int:
    """ESA's ``BOA_ADD_OFFSET`` of a product: -1000 from baseline 04.00 on, else 0.

    It has the same meaning as :func:`labhelpers.sentinel2.boa_offset`: reflectance =
    (DN + offset) / 10000. The archive therefore *writes* DN = reflectance * 10000 - offset.

    Parameters
    ----------
    baseline : str
        "02.12", "04.00", "05.10", ...

    Returns
    -------
    int
    """
    major, _, minor = baseline.partition(".")
    return BOA_ADD_OFFSET if (int(major), int(minor or 0)) >= (4, 0) else 0


def absolute_orbit(platform: str, relative: int, when: datetime) -> int:
    """The absolute orbit number of a pass, anchored on real MPC granule ids.

    Each satellite does 143 orbits in 10 days; relative orbit = (absolute + k) mod 143 + 1 with
    k = 2 for 2A (A018417 is R116 at 2019-01-01T00:00) and k = -27 for 2B (A012081 is R043 at
    2019-06-29T21:25).

    Parameters
    ----------
    platform : {"Sentinel-2A", "Sentinel-2B"}
    relative : int
    when : datetime.datetime

    Returns
    -------
    int
    """
    anchor_orbit, anchor_time, k = {
        "Sentinel-2A": (18417, datetime(2019, 1, 1, 0, 0, 1), 2),
        "Sentinel-2B": (12081, datetime(2019, 6, 29, 21, 25, 29), -27),
    }[platform]
    estimate = anchor_orbit + (when - anchor_time).total_seconds() / (10 * 86400 / 143)
    base = math.floor(estimate) - 143
    candidates = [n for n in range(base, base + 287) if (n + k) % 143 + 1 == relative]
    return min(candidates, key=lambda n: abs(n - estimate))


def mission(platform: str) -> str:
    """The mission id in product names: "Sentinel-2A" -> "S2A".

    Parameters
    ----------
    platform : str

    Returns
    -------
    str
    """
    return "S" + platform.removeprefix("Sentinel-")


@dataclass(frozen=True)
class Scene:
    """Everything that decides one item, fixed in the parent so workers only render and write."""

    sensing: datetime
    platform: str
    relative_orbit: int
    absolute_orbit: int
    baseline: str
    processor: str
    generation: datetime
    cloud_target: float  # percent of the valid pixels of the full-resolution window
    cirrus: bool
    cloud_height_m: float
    swath_edge_m: float | None  # east offset of the nodata edge from the AOI centre (R113 only)
    seed: tuple[int, ...]

    @property
    def id(self) -> str:
        """MPC's item id: ``S2B_MSIL2A_<sensing>_R<orbit>_T10UEE_<generation>``."""
        return (
            f"{mission(self.platform)}_MSIL2A_{self.sensing:%Y%m%dT%H%M%S}_R{self.relative_orbit:03d}"
            f"_T{MGRS_TILE}_{self.generation:%Y%m%dT%H%M%S}"
        )


def _passes(period: Period) -> list[tuple[datetime, Stream]]:
    """All passes of ``period``'s streams, by time."""
    out = []
    for stream in period.streams:
        first = max(period.start, stream.since)
        cycles = math.ceil((first - stream.first.date()).days / 10)
        when = stream.first + timedelta(days=10 * cycles)
        while when.date() <= period.end:
            out.append((when, stream))
            when += timedelta(days=10)
    return sorted(out, key=lambda p: (p[0], p[1].platform))


def schedule(p: Plan) -> list[Scene]:
    """The scenes of a plan, with their clouds decided month by month.

    Whether a scene is clear (< 25 % cloud) follows the monthly climatology, so a cloudy winter
    month can have no clear scene at all. Then each calendar month, pooled over the exercise
    years, is topped up to two clear scenes (earliest first), so monthly climatologies always
    have data.

    Parameters
    ----------
    p : Plan

    Returns
    -------
    list of Scene
        By sensing time.
    """
    chosen = []
    for period in p.periods:
        chosen += [x for i, x in enumerate(_passes(period)) if i % period.every < period.keep]
    by_month: dict[tuple[int, int], list] = {}
    for when, stream in chosen:
        by_month.setdefault((when.year, when.month), []).append((when, stream))

    clear: dict[tuple[int, int], list[bool]] = {}
    for (year, month), passes in sorted(by_month.items()):
        rng = np.random.default_rng([SEED, year, month, 0])
        clear[(year, month)] = (rng.random(len(passes)) < _P_CLEAR[month - 1]).tolist()
    for month in range(1, 13):
        pooled = [(ym, i) for ym in sorted(clear) if ym[1] == month and ym[0] in _EXERCISE_YEARS
                  for i in range(len(clear[ym]))]
        missing = _MIN_CLEAR_PER_CALENDAR_MONTH - sum(clear[ym][i] for ym, i in pooled)
        for ym, i in [(ym, i) for ym, i in pooled if not clear[ym][i]][:max(missing, 0)]:
            clear[ym][i] = True

    scenes = []
    for (year, month), passes in sorted(by_month.items()):
        rng = np.random.default_rng([SEED, year, month, 1])
        for (when, stream), is_clear in zip(passes, clear[(year, month)]):
            scenes.append(_scene(when, stream, is_clear, rng))
    return scenes


def _scene(when: datetime, stream: Stream, clear: bool, rng: np.random.Generator) -> Scene:
    """Draw one scene's clouds, timing and processing from the month's generator."""
    if clear:
        cloud = 0.0 if rng.random() < 0.35 else float(rng.uniform(0.5, 20))
    elif rng.random() < _P_OVERCAST[when.month - 1]:
        cloud = 100.0
    else:
        cloud = float(rng.uniform(30, 99))
    sensing = when + timedelta(seconds=int(rng.integers(-3, 4)))
    baseline, processor = processing_baseline(sensing.date())
    if processor == "ESRI":  # Esri's reprocessing campaign, autumn 2020
        generation = datetime(2020, 9, 20) + timedelta(seconds=int(rng.integers(0, 45 * 86400)))
    else:  # processed within hours of sensing
        generation = sensing + timedelta(seconds=int(rng.integers(2 * 3600, 6 * 3600)))
    generation += timedelta(microseconds=int(rng.integers(0, 1_000_000)))
    return Scene(
        sensing=sensing,
        platform=stream.platform,
        relative_orbit=stream.relative_orbit,
        absolute_orbit=absolute_orbit(stream.platform, stream.relative_orbit, sensing),
        baseline=baseline,
        processor=processor,
        generation=generation,
        cloud_target=cloud,
        cirrus=bool(rng.random() < 0.3),
        cloud_height_m=float(rng.uniform(400, 1500)),
        swath_edge_m=float(rng.uniform(-1300, 300)) if stream.relative_orbit == 113 else None,
        seed=(SEED, when.toordinal(), when.hour * 60 + when.minute, stream.relative_orbit),
    )


def solar_angles(when: datetime, lon: float, lat: float) -> tuple[float, float]:
    """Zenith and azimuth of the sun in degrees (NOAA's approximation, good to ~0.5 degree).

    Needed twice: for the items' ``s2:mean_solar_*`` and to cast cloud shadows away from the sun.

    Parameters
    ----------
    when : datetime.datetime
        UTC.
    lon, lat : float

    Returns
    -------
    (float, float)
    """
    doy = when.timetuple().tm_yday
    hour = when.hour + when.minute / 60 + when.second / 3600
    g = 2 * math.pi / 365 * (doy - 1 + (hour - 12) / 24)
    eqtime = 229.18 * (
        0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
        - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g)
    )
    decl = (
        0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g) - 0.006758 * math.cos(2 * g)
        + 0.000907 * math.sin(2 * g) - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g)
    )
    hour_angle = math.radians((hour * 60 + eqtime + 4 * lon) / 4 - 180)
    phi = math.radians(lat)
    cos_zen = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(hour_angle)
    zenith = math.acos(max(-1.0, min(1.0, cos_zen)))
    azimuth = math.degrees(
        math.atan2(math.sin(hour_angle), math.cos(hour_angle) * math.sin(phi) - math.tan(decl) * math.cos(phi))
    ) + 180
    return math.degrees(zenith), azimuth % 360


def reflectance_conversion_factor(day: date) -> float:
    """ESA's sun-earth distance correction ``1 / (1 - 0.01673 cos(0.0172 (doy - 4)))**2``.

    Parameters
    ----------
    day : datetime.date

    Returns
    -------
    float
    """
    return 1 / (1 - 0.01673 * math.cos(0.0172 * (day.timetuple().tm_yday - 4))) ** 2
