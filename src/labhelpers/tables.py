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

__all__ = ["rows_to_columns", "columns_to_rows"]


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
    ValueError
        When rows have different lengths (zip would silently drop values).
    """
    rows = [tuple(r) for r in rows]
    lengths = {len(r) for r in rows}
    if len(lengths) > 1:
        bad = [i for i, r in enumerate(rows) if len(r) != len(rows[0])]
        raise ValueError(
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
    ValueError
        When columns have different lengths.
    """
    columns = [tuple(c) for c in columns]
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        raise ValueError(
            f"Columns have different lengths {sorted(lengths)}; zip(*columns) would silently "
            "truncate to the shortest."
        )
    return list(zip(*columns))
