"""`labhelpers run` executes notebooks with papermill: a cell tagged ``raises-exception`` (a lesson that shows
an error on purpose) fails without failing the run, any other failing cell still stops it."""

from __future__ import annotations

import nbformat
import papermill
import pytest

from labhelpers_course import run


def _notebook(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for source, tags in cells:
        cell = nbformat.v4.new_code_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def test_a_tagged_error_is_kept_and_the_run_goes_on(tmp_path):
    src = _notebook(tmp_path / "lesson.ipynb", [
        ("x = 1", []),
        ("print(tmp_val)", [run.RAISES_TAG]),
        ("print('after', x + 1)", []),
    ])
    out = tmp_path / "out.ipynb"
    run.execute(src, out, {}, timeout=120, inject=False)
    nb = nbformat.read(out, as_version=4)
    assert len(nb.cells) == 3  # papermill's "An Exception was encountered" banner is not left in
    assert [o.ename for o in nb.cells[1].outputs if o.output_type == "error"] == ["NameError"]
    assert nb.cells[2].outputs[0].text == "after 2\n"


def test_an_untagged_error_still_stops_the_run(tmp_path):
    src = _notebook(tmp_path / "broken.ipynb", [
        ("print(tmp_val)", [run.RAISES_TAG]),
        ("1 / 0", []),
        ("print('never')", []),
    ])
    out = tmp_path / "out.ipynb"
    with pytest.raises(papermill.PapermillExecutionError, match="ZeroDivisionError"):
        run.execute(src, out, {}, timeout=120, inject=False)
    nb = nbformat.read(out, as_version=4)
    assert not [c for c in nb.cells if c.get("outputs") and "never" in str(c.outputs)]
