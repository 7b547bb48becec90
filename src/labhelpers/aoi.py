"""Areas of interest: check a GeoJSON polygon and take its bounding box.

A STAC search needs either a GeoJSON geometry (``intersects=``) or a bounding box (``bbox=``).
Hand-typed polygons often break one of GeoJSON's rules (RFC 7946):

* coordinates are ``[longitude, latitude]`` — the reverse of how we usually say them;
* a Polygon is a list of *rings*, each ring a list of positions, so a single ring still
  needs an outer list: ``[[[lon, lat], ...]]``;
* a ring is *closed*: its last position repeats its first.

The lab's own AOI misses the last two (its ring stops at ``-122.8227425`` instead of returning
to ``-122.8226566``, and it has no outer list). Those are unambiguous to fix, so
:func:`as_polygon` fixes them and warns, showing the corrected GeoJSON so you can paste it back.
Mistakes that cannot be fixed without guessing (swapped lat/lon, too few points, text instead of
numbers, a Point instead of a Polygon) raise :class:`~labhelpers.errors.InputError` (a
``ValueError``) explaining what to change.
"""

from __future__ import annotations

import json
import math
import warnings
from numbers import Real

from labhelpers.errors import AOIWarning, InputError

__all__ = ["as_polygon", "bbox_of", "AOIWarning"]


def _is_position(p) -> bool:
    return isinstance(p, (list, tuple)) and len(p) in (2, 3) and not isinstance(p[0], (list, tuple))


def _check_position(p, i: int) -> tuple[float, float]:
    if not _is_position(p):
        raise InputError(f"Position {i} is {p!r}; each position must be a [longitude, latitude] pair.")
    lon, lat = p[0], p[1]
    for name, v in (("longitude", lon), ("latitude", lat)):
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v):
            raise InputError(
                f"Position {i} has {name} {v!r}: coordinates must be finite numbers "
                "(write -122.82, not '-122.82')."
            )
    if abs(lat) > 90:
        if abs(lon) <= 90 and abs(lat) <= 180:
            raise InputError(
                f"Position {i} is {list(p)!r}: its latitude {lat} is outside [-90, 90]. It looks like "
                "[latitude, longitude]; GeoJSON wants [longitude, latitude], so swap each pair."
            )
        raise InputError(f"Position {i} has latitude {lat}, outside [-90, 90].")
    if abs(lon) > 180:
        raise InputError(f"Position {i} has longitude {lon}, outside [-180, 180].")
    return float(lon), float(lat)


def _fixed(aoi) -> tuple[dict, list[str]]:
    """The AOI as a GeoJSON Polygon dict, and the list of fixes that made it one."""
    fixes = []
    coords = aoi
    if isinstance(aoi, (str, bytes)):
        raise InputError("The AOI is text; give the polygon itself: json.loads(text) turns GeoJSON text into one.")
    if isinstance(aoi, dict):
        if aoi.get("type") == "Feature":
            coords = aoi.get("geometry") or {}
        else:
            coords = aoi
        gtype = coords.get("type")
        if gtype != "Polygon":
            raise InputError(
                f"The AOI is a GeoJSON {gtype or 'object without a type'}, not a Polygon. "
                "Give a Polygon: {'type': 'Polygon', 'coordinates': [[[lon, lat], ...]]}."
            )
        coords = coords.get("coordinates")
    if not isinstance(coords, (list, tuple)) or not coords:
        raise InputError(f"The AOI {aoi!r} is not a polygon: expected a list of [longitude, latitude] positions.")

    if _is_position(coords[0]):  # a bare ring: add GeoJSON's outer list level
        rings = [list(coords)]
        fixes.append("added the outer list level GeoJSON needs around the ring")
    else:
        rings = [list(r) if isinstance(r, (list, tuple)) else r for r in coords]

    fixed_rings = []
    for r, ring in enumerate(rings):
        if not isinstance(ring, list):
            raise InputError(f"Ring {r} is {ring!r}; a ring is a list of [longitude, latitude] positions.")
        pts = [_check_position(p, i) for i, p in enumerate(ring)]
        distinct = set(pts)
        if len(distinct) < 3:
            raise InputError(
                f"Ring {r} has {len(distinct)} distinct position(s); a polygon needs at least 3 "
                "distinct corners (plus the closing repeat of the first)."
            )
        if pts[0] != pts[-1]:
            pts.append(pts[0])
            fixes.append(
                f"closed ring {r} (its last position {list(pts[-2])} did not repeat the first {list(pts[0])})"
            )
        fixed_rings.append([list(p) for p in pts])

    return {"type": "Polygon", "coordinates": fixed_rings}, fixes


def _warn_fixes(polygon: dict, fixes: list[str]) -> None:
    if fixes:
        warnings.warn(
            "The AOI was not valid GeoJSON; I " + " and ".join(fixes)
            + ". Corrected GeoJSON:\n" + json.dumps(polygon),
            AOIWarning,
            stacklevel=3,  # point at the caller of the public function: the student's cell
        )


def as_polygon(aoi) -> dict:
    """Return ``aoi`` as a valid GeoJSON Polygon dict, fixing only what is unambiguous.

    Parameters
    ----------
    aoi : dict or list
        A GeoJSON Polygon (dict), a Feature holding one, a list of rings, or a bare ring (a list
        of ``[lon, lat]`` positions, as the lab writes it).

    Returns
    -------
    dict
        ``{"type": "Polygon", "coordinates": [[[lon, lat], ...]]}`` with every ring closed.

    Raises
    ------
    InputError
        For what cannot be fixed without guessing: swapped lat/lon, too few corners, text
        instead of numbers, a geometry that is not a Polygon.

    Warns
    -----
    AOIWarning
        When a ring was closed or the outer list added; the warning shows the corrected GeoJSON.

    >>> as_polygon([[0, 0], [1, 0], [1, 1], [0, 0]])["type"]
    'Polygon'
    """
    polygon, fixes = _fixed(aoi)
    _warn_fixes(polygon, fixes)
    return polygon


def bbox_of(polygon) -> tuple[float, float, float, float]:
    """Bounding box ``(minx, miny, maxx, maxy)`` — west, south, east, north — of a polygon.

    Parameters
    ----------
    polygon : dict or list
        Anything :func:`as_polygon` accepts; fixes it makes are warned about.

    Returns
    -------
    tuple of 4 float
        Degrees, in the order STAC APIs take for ``bbox=`` (and ``rasterio.features.bounds``
        returns, as the original lab used).

    Raises
    ------
    InputError
        As :func:`as_polygon`.
    """
    polygon, fixes = _fixed(polygon)
    _warn_fixes(polygon, fixes)
    lons = [p[0] for ring in polygon["coordinates"] for p in ring]
    lats = [p[1] for ring in polygon["coordinates"] for p in ring]
    return (min(lons), min(lats), max(lons), max(lats))
