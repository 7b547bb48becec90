"""Argument checks shared by the public functions: each failure names the argument and the fix."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from numbers import Integral, Real

from labhelpers.errors import InputError, InputTypeError

_ISO_DAY = r"\d{4}(-\d{2}(-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?)?)?"


def number(name: str, value, lo: float | None = None, hi: float | None = None, *, integer: bool = False,
           lo_open: bool = False, unit: str = "") -> float | int:
    """``value`` as a finite number within [lo, hi] (``lo_open``: > lo), or an error naming ``name``."""
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, Real):
        example = f" (write {value.strip()} without quotes)" if isinstance(value, str) and _is_float(value) else ""
        raise InputTypeError(f"{name} must be {kind}{unit and ' of ' + unit}, not {type(value).__name__} {value!r}{example}.")
    if not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, not {value!r}.")
    if integer and not (isinstance(value, Integral) or float(value).is_integer()):
        raise InputError(f"{name} must be a whole number, not {value!r}.")
    if (lo is not None and (value <= lo if lo_open else value < lo)) or (hi is not None and value > hi):
        span = f"{'more than ' if lo_open else 'from '}{lo}" if lo is not None else ""
        span += f"{' to ' if span else 'at most '}{hi}" if hi is not None else ""
        raise InputError(f"{name}={value!r} is out of range: give {span}{unit and ' ' + unit}.")
    return int(value) if integer else float(value)


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def flag(name: str, value) -> bool:
    """``value`` when it is a bool (``"False"`` as text is true in Python: refuse it)."""
    if not isinstance(value, bool):
        raise InputTypeError(f"{name} must be True or False, not {value!r}.")
    return value


def text(name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputTypeError(f"{name} must be a non-empty string, not {value!r}.")
    return value


def choice(name: str, value, options, what: str = "value", error=InputError) -> str:
    """``value`` when it is one of ``options``; else an error suggesting the closest (case included)."""
    text(name, value)
    options = list(options)
    if value in options:
        return value
    same_case = [o for o in options if o.lower() == value.lower()]
    close = same_case or difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    listed = ", ".join(map(repr, options[:20])) + (" ..." if len(options) > 20 else "")
    raise error(f"Unknown {what} {name}={value!r}.{hint} Choose one of {listed}.")


def bbox(value, name: str = "bbox") -> tuple[float, float, float, float]:
    """A ``(west, south, east, north)`` box in degrees; catches (lat, lon) order, metres and swapped corners."""
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or len(value) != 4:
        raise InputTypeError(f"{name} must be 4 numbers (west, south, east, north) in degrees, e.g. from "
                             f"labhelpers.aoi.bbox_of(aoi); got {value!r}.")
    w, s, e, n = (number(f"{name}[{i}]", v) for i, v in enumerate(value))
    if max(abs(w), abs(e)) > 180 or max(abs(s), abs(n)) > 90:
        if max(abs(s), abs(n)) > 90 and max(abs(w), abs(e)) <= 90:
            fix = "It looks like (south, west, north, east): give (west, south, east, north), longitude first."
        elif max(map(abs, (w, s, e, n))) > 360:
            fix = "It looks like metres (a projected CRS): give degrees of longitude and latitude."
        else:
            fix = "Longitudes are -180..180 and latitudes -90..90."
        raise InputError(f"{name}={tuple(value)!r} is not (west, south, east, north) in degrees. {fix}")
    if not (w < e and s < n):
        raise InputError(f"{name}={tuple(value)!r} needs west < east and south < north: give (west, south, east, "
                         "north) = (min lon, min lat, max lon, max lat).")
    return w, s, e, n


def overlap(boxes, bbox, what: str) -> None:
    """Refuse a ``bbox`` that overlaps none of ``boxes`` (the result would be all NaN); spot (lat, lon) order."""
    known = [b for b in boxes if b is not None and len(b) == 4]

    def hits(w, s, e, n):
        return any(b[0] <= e and w <= b[2] and b[1] <= n and s <= b[3] for b in known)

    if known and not hits(*bbox):
        fix = ("It looks like (south, west, north, east): give longitude first." if hits(bbox[1], bbox[0], bbox[3], bbox[2])
               else f"Use the {what} of a search over this bbox.")
        raise InputError(f"bbox {tuple(bbox)} overlaps none of the {len(boxes)} {what}, so the result would be all NaN. {fix}")


def _iso(part: str, name: str) -> dt.datetime | None:
    if part in ("", ".."):
        return None
    if not re.fullmatch(_ISO_DAY, part):
        raise InputError(
            f"{name}: {part!r} is not an ISO 8601 date. Write years first with dashes, e.g. '2019-03-04' "
            "(4 March 2019) or '2019-03-04T10:00:00Z'; forms like '03/04/2019' are ambiguous and refused."
        )
    padded = part if len(part) >= 10 else part + "-01-01"[len(part) - 4:]
    try:
        return dt.datetime.fromisoformat(padded.replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        raise InputError(f"{name}: {part!r} is not a real date (check the month and day).") from None


def interval(value, name: str = "datetime") -> str:
    """A STAC datetime (``"2016-01-01/2021-12-31"``, ``"2019"``, ``"2019-05/.."``) checked to be ISO and in order."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (tuple, list)) and len(value) == 2:
        value = "/".join(".." if v is None else v.isoformat() if isinstance(v, dt.date) else str(v) for v in value)
    if not isinstance(value, str):
        raise InputTypeError(f"{name} must be an ISO date or interval such as '2016-01-01/2021-12-31', not {value!r}.")
    parts = value.strip().split("/")
    if len(parts) > 2:
        raise InputError(f"{name}={value!r} has {len(parts) - 1} slashes: a STAC interval is 'start/end' with ISO "
                         "dates, e.g. '2019-03-04/2019-04-03'. Dates like '03/04/2019' are ambiguous and refused.")
    start, end = (_iso(p.strip(), name) for p in (parts * 2)[:2])
    if len(parts) == 2 and start and end and start.replace(tzinfo=None) > end.replace(tzinfo=None):
        raise InputError(f"{name}={value!r} starts after it ends: give 'start/end'.")
    return "/".join(p.strip() for p in parts)
