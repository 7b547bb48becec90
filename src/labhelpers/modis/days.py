"""MODIS day names: ``YYYYDDD``, the year and the day of the year (001-366)."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd

__all__ = ["day_string", "day_to_date"]


def day_string(day) -> str:
    """MODIS names days ``YYYYDDD`` (year and day of year, 001-366): ``2019-05-15 -> "2019135"``.

    Accepts such a string, or anything pandas reads as a date (``"2019-05-15"``, ``datetime.date``,
    ``pd.Timestamp``).

    Parameters
    ----------
    day : str, datetime.date or pandas.Timestamp

    Returns
    -------
    str
        ``"YYYYDDD"``.

    Raises
    ------
    ValueError
        For a day of year outside the year, or text that is not a date.
    """
    s = str(day)
    if re.fullmatch(r"\d{7}", s):
        year, doy = int(s[:4]), int(s[4:])
        last = 366 if pd.Timestamp(year=year, month=12, day=31).dayofyear == 366 else 365
        if not 1 <= doy <= last:
            raise ValueError(f"Day {s!r}: day of year must be 001-{last} in {year}.")
        return s
    try:
        ts = pd.Timestamp(day)
    except (ValueError, TypeError):
        raise ValueError(f"Cannot read {day!r} as a day: give 'YYYYDDD' (e.g. '2019135') or a date.") from None
    return f"{ts.year}{ts.dayofyear:03d}"


def day_to_date(day) -> dt.date:
    """The calendar date of a ``YYYYDDD`` day (or of any date :func:`day_string` accepts).

    Parameters
    ----------
    day : str, datetime.date or pandas.Timestamp

    Returns
    -------
    datetime.date

    Raises
    ------
    ValueError
        As :func:`day_string`.
    """
    s = day_string(day)
    return dt.date(int(s[:4]), 1, 1) + dt.timedelta(days=int(s[4:]) - 1)


