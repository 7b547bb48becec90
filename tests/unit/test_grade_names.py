"""Grading's file and name handling: ids are safe and unique, nothing is read through a link,
CSV cells are text, control characters never reach a file or a terminal."""

from __future__ import annotations

import os

import pytest

from labhelpers_course.errors import NameClash
from labhelpers_course.grade import names

EXERCISES = ["ex1_ndsi", "ex9_mini"]


@pytest.mark.parametrize("rel, sid", [
    ("alice/ex1_ndsi.ipynb", "alice"),
    ("alice.smith_ex1_ndsi.ipynb", "alice.smith"),
    ("alice.jones_ex1_ndsi.ipynb", "alice.jones"),
    ("..._ex1_ndsi.ipynb", "unnamed"),
    ("../../etc_ex1_ndsi.ipynb", "etc"),
    ('=HYPERLINK("http:x")_ex1_ndsi.ipynb', "HYPERLINK_http_x"),
    ("$(touch pwned); rm -rf ~_ex1_ndsi.ipynb", "touch_pwned_rm_-rf"),
    ("\x1b[31mred\x1b[0m_ex1_ndsi.ipynb", "red"),
    ("bob-ex9_mini.ipynb", "bob"),
    ("Zoë_ex1_ndsi.ipynb", "Zoe"),
])
def test_student_ids_are_safe(rel, sid):
    assert names.student_id(rel, EXERCISES) == sid


def test_a_clash_names_both_files_and_the_fix():
    with pytest.raises(NameClash, match="'alice/ex1_ndsi.ipynb' and 'alice_ex1_ndsi.ipynb'.*rename one"):
        names.check_unique([("alice", "ex1_ndsi", "alice/ex1_ndsi.ipynb"), ("alice", "ex1_ndsi", "alice_ex1_ndsi.ipynb")])
    names.check_unique([("alice.smith", "ex1_ndsi", "a"), ("alice.jones", "ex1_ndsi", "b"), ("alice.smith", "ex2", "c")])


@pytest.mark.parametrize("value, cell", [
    ('=HYPERLINK("http://x")', "'=HYPERLINK(\"http://x\")"),
    ("+1", "'+1"), ("-1+2", "'-1+2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\x1b[2Jcleared", "cleared"), ("two\nlines", "two lines"), ("\ttab", " tab"),
    (-1.5, "-1.5"), (10.0, "10"), ("plain", "plain"),
])
def test_csv_cells_are_text(value, cell):
    assert names.csv_cell(value) == cell


def test_clean_strips_escapes_and_caps_length():
    assert names.clean("\x1b]0;title\x07ok\x1b[1mbold\x00") == "okbold"
    assert names.clean("x" * 50, 10) == "x" * 9 + "…"


def test_links_and_special_files_are_rejected_without_reading(tmp_path):
    (tmp_path / "ok_ex1_ndsi.ipynb").write_text("{}")
    os.symlink("/etc/passwd", tmp_path / "link_ex1_ndsi.ipynb")
    os.mkfifo(tmp_path / "fifo_ex1_ndsi.ipynb")
    os.symlink("/etc", tmp_path / "dirlink")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "ok_ex1_ndsi.ipynb").write_text("{}")
    entries = {e.rel: e.problem for e in names.collect(tmp_path)}
    assert set(entries) == {"ok_ex1_ndsi.ipynb", "link_ex1_ndsi.ipynb", "fifo_ex1_ndsi.ipynb", "dirlink"}
    assert entries["ok_ex1_ndsi.ipynb"] == ""
    assert "symbolic link" in entries["link_ex1_ndsi.ipynb"] and "symbolic link" in entries["dirlink"]
    assert "not a regular file" in entries["fifo_ex1_ndsi.ipynb"]
    with pytest.raises(ValueError, match="safely"):
        names.read_submission(tmp_path / "link_ex1_ndsi.ipynb")
    with pytest.raises(ValueError, match="regular"):
        names.read_submission(tmp_path / "fifo_ex1_ndsi.ipynb")
    with pytest.raises(ValueError, match="larger than"):
        names.read_submission(tmp_path / "ok_ex1_ndsi.ipynb", limit=1)
