"""Rows and columns: the same table held two ways.

A table of measurements can be a list of *rows* (one tuple per observation, e.g.
``(day, mean_red, mean_nir)``) or a list of *columns* (one sequence per variable). Plotting
wants columns (``plt.plot(days, ndvi)``); loops produce rows. ``zip(*rows)`` turns one into the
other: the ``*`` unpacks the list so that ``zip`` receives every row as a separate argument and
pairs their first elements, their second elements, and so on.

``zip(rows)`` without the star is a classic bug: zip gets *one* argument (the list) and wraps
each row in a 1-tuple, so nothing is transposed.

``zip`` also stops silently at the shortest input, so a ragged table (one row shorter) would
lose data without a word; these helpers raise instead.
"""

from __future__ import annotations

from labhelpers.errors import InputError, InputTypeError

__all__ = ["rows_to_columns", "columns_to_rows"]


def _sequences(name: str, table) -> list[tuple]:
    """``table`` as a list of tuples; refuses text and flat lists (zip would split them into characters or fail)."""
    if isinstance(table, (str, bytes, dict)) or not hasattr(table, "__iter__"):
        raise InputTypeError(f"{name} must be a list of sequences, e.g. [(135, 0.06), (136, 0.07)], not {table!r}.")
    out = []
    for i, r in enumerate(table):
        if isinstance(r, (str, bytes, dict)) or not hasattr(r, "__iter__"):
            raise InputTypeError(f"{name}[{i}] is {r!r}; each of {name} must be a sequence such as a tuple or list "
                                 f"(a flat list is one {name[:-1]}: wrap it, [{name[:-1]}]).")
        out.append(tuple(r))
    return out


def rows_to_columns(rows) -> list[tuple]:
    """``[(a1, b1), (a2, b2)] -> [(a1, a2), (b1, b2)]``: ``zip(*rows)`` that refuses ragged rows.

    Parameters
    ----------
    rows : iterable of sequences

    Returns
    -------
    list of tuple
        One tuple per column.

    Raises
    ------
    InputError
        When rows have different lengths (zip would silently drop values), or are not sequences.
    """
    rows = _sequences("rows", rows)
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        bad = [i for i, r in enumerate(rows) if len(r) != len(rows[0])]
        raise InputError(
            f"Rows have different lengths {sorted(lengths)} (first differing row: {bad[0]}); "
            "zip(*rows) would silently drop values. Fix or drop the incomplete rows first."
        )
    return list(zip(*rows))


def columns_to_rows(columns) -> list[tuple]:
    """``[(a1, a2), (b1, b2)] -> [(a1, b1), (a2, b2)]``: ``zip(*columns)`` that refuses ragged columns.

    Parameters
    ----------
    columns : iterable of sequences

    Returns
    -------
    list of tuple
        One tuple per row.

    Raises
    ------
    InputError
        When columns have different lengths, or are not sequences.
    """
    columns = _sequences("columns", columns)
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        raise InputError(
            f"Columns have different lengths {sorted(lengths)}; zip(*columns) would silently "
            "truncate to the shortest."
        )
    return list(zip(*columns))
