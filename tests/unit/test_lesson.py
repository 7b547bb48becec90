"""The lab notebooks' conventions (labhelpers_course.lesson), on fixture notebooks: what the first and
last cells must say, outputs fit to publish, widgets as the text they last showed."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from bookproject import lab_notebook

from labhelpers_course import lesson


def _lesson(nb, name="03_composites.ipynb"):
    return lesson.read_lesson(nb, Path("notebooks") / name)


def test_read_lesson_reads_objectives_time_prerequisites_and_key_points():
    lesson = _lesson(lab_notebook(3, "Stacks and composites", 40))
    assert lesson.stem == "03_composites" and lesson.number == 3 and lesson.title == "Stacks and composites"
    assert lesson.minutes == 40
    assert lesson.objectives == ["Explain the idea of notebook 3.", "Use `zip(*rows)` on a table of rows."]
    assert lesson.prerequisites == "Python lists; notebook 1."
    assert lesson.key_points == ["Key point A of notebook 3.", "Key point B of notebook 3."]


def _replace(cell_index, old, new):
    def change(nb):
        assert old in nb.cells[cell_index].source
        nb.cells[cell_index].source = nb.cells[cell_index].source.replace(old, new)
    return change


BROKEN = {
    "title": (_replace(0, "# 3. Stacks", "# Stacks"), "does not start with '# N. Title'"),
    "number": (_replace(0, "# 3.", "# 4."), "the title's number 4 is not the file's 3"),
    "objectives heading": (_replace(0, "### Learning objectives", "### Objectives"), "'### Learning objectives'"),
    "objectives list": (_replace(0, "* Explain", "Explain"), "'### Learning objectives' heading followed by a bullet list"),
    "time": (_replace(0, "**Time:** about 40 minutes", "**Time:** 40 min"), "'**Time:** about NN minutes'"),
    "prerequisites": (_replace(0, "**Prerequisites:**", "Prerequisites:"), "'**Prerequisites:** ...'"),
    "summary": (_replace(-1, "## Summary", "## In short"), "the last cell is not a markdown cell starting '## Summary'"),
    "key points": (_replace(-1, "### Key points", "### Points"), "'### Key points' heading followed by a bullet list"),
    "summary not last": (lambda nb: nb.cells.append(nbformat.v4.new_code_cell("1")), "'## Summary'"),
    "first cell code": (lambda nb: nb.cells.insert(0, nbformat.v4.new_code_cell("import x")), "first cell is not a markdown"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_notebook_breaking_the_convention_is_named_with_what_is_missing(case):
    nb = lab_notebook(3, "Stacks and composites", 40)
    change, expected = BROKEN[case]
    change(nb)
    with pytest.raises(lesson.LessonError) as err:
        _lesson(nb)
    message = str(err.value)
    assert message.startswith(str(Path("notebooks") / "03_composites.ipynb") + ":"), message
    assert expected in message, message
    assert "convention" in message  # and it says what the convention is


def test_outputs_need_alt_text_no_stray_errors_and_execution():
    path = Path("notebooks/01_first.ipynb")
    lesson.check_outputs(lab_notebook(1, "First"), path)  # the fixture is fine, tagged error included

    no_alt = lab_notebook(1, "First")
    figure = next(i for i, c in enumerate(no_alt.cells) if "mystnb" in c.metadata)
    no_alt.cells[figure].metadata["mystnb"]["image"]["alt"] = "  "
    with pytest.raises(lesson.LessonError, match=rf"cell {figure} .*image without alt text.*\"mystnb\""):
        lesson.check_outputs(no_alt, path)

    untagged = lab_notebook(1, "First")
    error_cell = next(c for c in untagged.cells if "raises-exception" in c.metadata.get("tags", []))
    error_cell.metadata["tags"] = []
    with pytest.raises(lesson.LessonError, match=r"error output \(NameError: name 'tmp_val'.*'raises-exception'"):
        lesson.check_outputs(untagged, path)

    unexecuted = lab_notebook(1, "First")
    unexecuted.cells[2].execution_count = None
    with pytest.raises(lesson.LessonError, match="cell 2 .*was not executed.*make lab"):
        lesson.check_outputs(unexecuted, path)
    lesson.check_outputs(unexecuted, path, executed=False)  # exercises are handed out unexecuted


def test_widgets_become_the_text_they_last_showed():
    nb = lab_notebook(1, "First")
    assert lesson.degrade_widgets(nb) == 2
    texts = [o.text for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "stream"]
    assert "days: 100% 26/26 [00:03<00:00, 8.32it/s]\n" in texts
    assert any(t.startswith("[interactive output") for t in texts)
    assert "widgets" not in nb.metadata
    assert not any(lesson.WIDGET_VIEW in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def test_the_time_line_may_say_more_after_the_minutes():
    nb = lab_notebook(3, "Stacks and composites", 40)
    nb.cells[0].source = nb.cells[0].source.replace("about 40 minutes", "about 40 minutes, plus 10 for discussion")
    assert lesson.read_lesson(nb, Path("notebooks/03_composites.ipynb")).minutes == 40
