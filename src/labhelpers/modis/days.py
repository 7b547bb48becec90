"""MODIS day names: ``YYYYDDD``, the year and the day of the year (001-366)."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from labhelpers.errors import InputError

__all__ = ["day_string", "day_to_date"]


def day_string(day) -> str:
    """MODIS names days ``YYYYDDD`` (year and day of year, 001-366): ``2019-05-15 -> "2019135"``.

    Accepts such a string (or the same digits as an int), an ISO date string (``"2019-05-15"``, also
    with a time), a ``datetime.date``/``datetime``, a ``pd.Timestamp`` or a ``numpy.datetime64``.
    Other forms are refused: ``"03/04/2019"`` is 3 April in Canada and 4 March in the US.

    Parameters
    ----------
    day : str, datetime.date or pandas.Timestamp

    Returns
    -------
    str
        ``"YYYYDDD"``.

    Raises
    ------
    InputError
        For a day of year outside the year, or anything that is not one of the forms above.
    """
    s = str(day).strip() if isinstance(day, (str, int, np.integer)) and not isinstance(day, bool) else None
    if s is not None and re.fullmatch(r"\d{7}", s):
        year, doy = int(s[:4]), int(s[4:])
        last = 366 if pd.Timestamp(year=year, month=12, day=31).dayofyear == 366 else 365
        if not 1 <= doy <= last:
            raise InputError(f"Day {s!r}: day of year must be 001-{last} in {year}.")
        return s
    iso = isinstance(day, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ].*)?", s or "")
    if not (iso or isinstance(day, (dt.date, pd.Timestamp, np.datetime64))):
        raise InputError(f"Cannot read {day!r} as a day: give 'YYYYDDD' (e.g. '2019135'), an ISO date "
                         "('2019-05-15') or a date object; forms like '03/04/2019' are ambiguous and refused.")
    try:
        ts = pd.Timestamp(day)
    except (ValueError, TypeError):
        raise InputError(f"{day!r} is not a real date (check the month and day).") from None
    if ts is pd.NaT:
        raise InputError("The day is NaT (not a time): give 'YYYYDDD' or a date.")
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
    InputError
        As :func:`day_string`.
    """
    s = day_string(day)
    return dt.date(int(s[:4]), 1, 1) + dt.timedelta(days=int(s[4:]) - 1)


