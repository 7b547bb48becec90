import pytest

from labhelpers.tables import columns_to_rows, rows_to_columns

ROWS = [(2019135, 0.31, 0.42), (2019136, 0.33, 0.45), (2019137, 0.35, 0.47)]


def test_rows_to_columns_is_zip_star_and_round_trips():
    cols = rows_to_columns(ROWS)
    assert cols == [(2019135, 2019136, 2019137), (0.31, 0.33, 0.35), (0.42, 0.45, 0.47)]
    assert columns_to_rows(cols) == ROWS


def test_zip_without_star_is_the_labs_bug():
    # zip(rows) wraps each row instead of transposing: this is why the lab's zip(TYPE_A) failed
    assert list(zip(ROWS)) == [(ROWS[0],), (ROWS[1],), (ROWS[2],)]
    assert list(zip(ROWS)) != rows_to_columns(ROWS)


def test_ragged_tables_raise_instead_of_silently_truncating():
    with pytest.raises(ValueError, match="different lengths"):
        rows_to_columns([(1, 2), (3,)])
    with pytest.raises(ValueError, match="different lengths"):
        columns_to_rows([(1, 2, 3), (4, 5)])
