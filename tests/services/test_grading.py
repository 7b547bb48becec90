"""Exercises and grading: generation is in sync, and ``labhelpers grade`` scores what it should.

The service tests grade one folder once (module fixture) and check each row of the CSV it
writes, so every submission is executed exactly once. Submissions are made from the generated
notebooks themselves:

* ``solution``: otter's autograder notebook (the master with its solutions and check cells):
  it must pass every test, hidden ones included, at 200 m as at 100 m;
* ``swapped``: the solution with NDSI as (SWIR - green) / (SWIR + green): it passes the public
  tests (shape, range, consistency, figure) and must lose exactly the hidden truth tests;
* ``crash``, ``loop``: a cell that raises, a cell that never ends (a short time limit);
* ``junk``: a PDF, ``empty``: a zero-byte notebook;
* ``nochecks``: the solution with its check cells deleted: the tests run outside the student's
  kernel on its exported values, so it still gets full marks.

Every submission runs sandboxed (grading needs root); the attacks are in test_grading_attacks.py.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from labhelpers_course import exercises
from labhelpers_course.grade import sandbox as sb
from labhelpers_course.grade.cli import standin_from_state
from labhelpers_course.grade.folder import grade_folder
from labhelpers_standin import runtime

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 300  # per notebook; the solution takes ~25 s at 200 m on 2 cores
LOOP_TIMEOUT = 15  # the looping submission is graded on its own with a short limit


def _grade(offline_pc, subs, out, timeout=TIMEOUT, **kwargs):
    """``labhelpers grade`` on ``subs`` against the session's stand-in, with the student runtime."""
    return grade_folder(subs, out, ROOT / "solutions", standin_from_state(offline_pc, say=lambda m: None),
                        runtime=runtime.runtime_dir(), limits=sb.Limits(wall_seconds=timeout), say=lambda m: None,
                        **kwargs)


def test_exercises_in_sync_with_solutions():
    """``labhelpers exercises --check`` passes on the committed tree (what CI runs)."""
    run = subprocess.run([sys.executable, "-m", "labhelpers.cli", "exercises", "--check"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr


def test_check_fails_when_exercises_drift(tmp_path):
    (tmp_path / "ex1_ndsi.ipynb").write_text("edited by hand\n")
    generated = {"ex1_ndsi.ipynb": "generated\n", "ex2_modis.ipynb": "generated\n"}
    assert exercises.stale(generated, tmp_path) == ["ex1_ndsi.ipynb", "ex2_modis.ipynb"]


def test_generation_is_deterministic_and_hides_solutions():
    first, second = exercises.generate(ROOT / "solutions"), exercises.generate(ROOT / "solutions")
    assert first == second
    nb = nbformat.reads(first["ex1_ndsi.ipynb"], as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "groupby" not in code and "swir16" not in code  # the solution is not given away
    assert 'grader.check("q1")' in code
    public = nb.metadata["otter"]["tests"]["q1"]
    assert "hidden=True" not in public and "archive_truth" not in public  # hidden tests stay with the grader


def _submission(source: nbformat.NotebookNode, change=None) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(source)
    if change:
        change(nb)
    return nb


def _swap_bands(nb):
    for cell in nb.cells:
        cell.source = cell.source.replace("ndsi = (green - swir) / (green + swir)",
                                          "ndsi = (swir - green) / (swir + green)")


def _insert_before_question(source: str):
    def change(nb):
        i = next(i for i, c in enumerate(nb.cells) if "grader.check" in c.source)
        nb.cells.insert(i - 1, nbformat.v4.new_code_cell(source))
    return change


def _drop_checks(nb):
    nb.cells = [c for c in nb.cells if "grader.check" not in c.source]


@pytest.fixture(scope="module")
def graded(offline_pc, tmp_path_factory):
    """Grade one folder of ex1 submissions once; return (rows by student, out dir, submissions dir)."""
    work = tmp_path_factory.mktemp("grading")
    dist = exercises.assign(ROOT / "solutions" / "ex1_ndsi.ipynb", work / "dist")
    solution = nbformat.read(dist / "autograder" / "ex1_ndsi.ipynb", as_version=4)
    subs = work / "submissions"
    cases = {
        "solution": None,
        "swapped": _swap_bands,
        "crash": _insert_before_question("raise RuntimeError('student bug')"),
        "nochecks": _drop_checks,
    }
    for student, change in cases.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(_submission(solution, change), subs / student / "ex1_ndsi.ipynb")
    (subs / "junk").mkdir()
    (subs / "junk" / "ex1_ndsi.pdf").write_bytes(b"%PDF-1.4 not a notebook")
    (subs / "empty").mkdir()
    (subs / "empty" / "ex1_ndsi.ipynb").write_bytes(b"")
    before = sorted(p.relative_to(subs) for p in subs.rglob("*"))

    out = work / "out"
    results = _grade(offline_pc, subs, out, exercise=1, parameters={"resolution": 200})
    assert sorted(p.relative_to(subs) for p in subs.rglob("*")) == before, "nothing written into submissions"
    with open(out / "grades.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return rows, out, results


@pytest.fixture(scope="module")
def looping(offline_pc, tmp_path_factory):
    """A submission that loops at its first cell, graded with a short time limit."""
    work = tmp_path_factory.mktemp("looping")
    nb = nbformat.read(ROOT / "exercises" / "ex1_ndsi.ipynb", as_version=4)
    nb.cells.insert(1, nbformat.v4.new_code_cell("while True:\n    pass"))
    (work / "subs").mkdir()
    nbformat.write(nb, work / "subs" / "loop_ex1_ndsi.ipynb")
    (result,) = _grade(offline_pc, work / "subs", work / "out", timeout=LOOP_TIMEOUT)
    return result


@pytest.mark.services
def test_one_csv_row_per_submission(graded):
    rows, out, results = graded
    assert sorted(rows) == ["crash", "empty", "junk", "nochecks", "solution", "swapped"]
    assert len(results) == len(rows)
    for student in rows:
        assert list((out / "feedback" / student).glob("*.md")), f"no feedback file for {student}"


@pytest.mark.services
def test_solution_passes_its_hidden_tests(graded):
    rows, out, results = graded
    r = rows["solution"]
    assert (r["status"], r["score"], r["max"]) == ("graded", "10", "10"), r
    assert {t["state"] for t in next(x for x in results if x.student == "solution").tests} == {"passed"}


@pytest.mark.services
def test_swapped_bands_lose_exactly_the_truth_tests(graded):
    rows, _, results = graded
    r = next(x for x in results if x.student == "swapped")
    failed = sorted((t["question"], t["hidden"]) for t in r.tests if t["state"] != "passed")
    assert failed == [("q1", True), ("q2", True)], failed  # snow/summer pattern and archive truth
    assert rows["swapped"]["score"] == "6"  # 10 - 2 - 2


@pytest.mark.services
@pytest.mark.parametrize("student, reason", [
    ("crash", "raised RuntimeError: student bug in cell"),
    ("junk", "not a notebook (.pdf file)"),
    ("empty", "empty file"),
])
def test_bad_submissions_score_zero_with_a_reason(graded, student, reason):
    rows, out, _ = graded
    r = rows[student]
    assert (r["status"], r["score"]) == ("zero", "0"), r
    assert reason in r["reason"], r["reason"]
    assert reason in (out / "feedback" / student / "ex1_ndsi.md").read_text()


@pytest.mark.services
def test_deleted_check_cells_change_nothing(graded):
    """The tests run outside the student's kernel on its exported values: check cells decide nothing."""
    rows, _, _ = graded
    assert (rows["nochecks"]["status"], rows["nochecks"]["score"]) == ("graded", "10"), rows["nochecks"]


def test_out_inside_submissions_is_refused(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    with pytest.raises(ValueError, match="overlaps the submissions folder"):
        grade_folder(tmp_path, tmp_path / "grades", ROOT / "solutions", None, runtime=tmp_path)


@pytest.mark.services
def test_looping_submission_is_stopped_at_the_time_limit(looping):
    assert (looping.student, looping.exercise, looping.status, looping.score) == ("loop", "ex1_ndsi", "zero", 0)
    assert f"did not finish within the {LOOP_TIMEOUT} s time limit" in looping.reason
    assert looping.seconds < LOOP_TIMEOUT + 30  # the kernel was stopped, not waited for


def _no_scale(nb):
    """Read raw DNs: no 0.0001 scale and fill (32767) left in, as if open_hdf had not decoded them."""
    old = "modis.open_hdf(path, variables=[modis.RED, modis.NIR])"
    assert any(old in c.source for c in nb.cells), "the ex2 solution no longer reads HDF this way: update the test"
    for cell in nb.cells:
        cell.source = cell.source.replace(old, old[:-1] + ", mask_and_scale=False)")


@pytest.fixture(scope="module")
def graded_ex2(offline_pc, tmp_path_factory):
    """Grade the ex2 (MODIS) solution and a no-scale variant once."""
    work = tmp_path_factory.mktemp("grading_ex2")
    dist = exercises.assign(ROOT / "solutions" / "ex2_modis.ipynb", work / "dist")
    solution = nbformat.read(dist / "autograder" / "ex2_modis.ipynb", as_version=4)
    for student, change in {"solution": None, "noscale": _no_scale}.items():
        (work / "subs" / student).mkdir(parents=True)
        nbformat.write(_submission(solution, change), work / "subs" / student / "ex2_modis.ipynb")
    _grade(offline_pc, work / "subs", work / "out", exercise=2)
    with open(work / "out" / "grades.csv") as f:
        return {r["student"]: r for r in csv.DictReader(f)}


@pytest.mark.services
def test_ex2_solution_passes_its_hidden_tests(graded_ex2):
    r = graded_ex2["solution"]
    assert (r["status"], r["score"], r["max"]) == ("graded", "8", "8"), r


@pytest.mark.services
def test_ex2_without_the_scale_loses_exactly_the_scale_and_truth_points(graded_ex2):
    r, sol = graded_ex2["noscale"], graded_ex2["solution"]
    lost = sorted(k for k in r if k.startswith("ex2_modis:") and r[k] != sol[k])
    # q1 - 2: reflectance must be in [0, 1]; q1 - 5: daily NDVI vs the archive truth (fill pixels
    # of 32767 left in pull the tile mean towards 0). Day count, trend and plot still pass.
    assert lost == ["ex2_modis:q1 - 2", "ex2_modis:q1 - 5"], r
    assert r["score"] == "6"


@pytest.fixture(scope="module")
def graded_ex3(offline_pc, tmp_path_factory):
    """Exercise 3 (a written answer) submitted untouched and answered, graded once."""
    work = tmp_path_factory.mktemp("grading_ex3")
    dist = exercises.assign(ROOT / "solutions" / "ex3_dask.ipynb", work / "dist")
    student = nbformat.read(dist / "student" / "ex3_dask.ipynb", as_version=4)
    (work / "subs" / "blank").mkdir(parents=True)
    nbformat.write(student, work / "subs" / "blank" / "ex3_dask.ipynb")
    answered = nbformat.from_dict(student)
    cells = [c for c in answered.cells if c.cell_type == "markdown" and "otter_answer_cell" in c.metadata.get("tags", [])]
    assert cells, "ex3 has no written answer cell any more: update the test"
    for cell in cells:
        cell.source = "Dask records a lazy task graph of chunks and runs it in parallel, also on a cluster."
    (work / "subs" / "answered").mkdir()
    nbformat.write(answered, work / "subs" / "answered" / "ex3_dask.ipynb")
    _grade(offline_pc, work / "subs", work / "out", exercise=3)
    with open(work / "out" / "grades.csv", newline="") as f:
        return {r["student"]: r for r in csv.DictReader(f)}, work / "out"


@pytest.mark.services
def test_an_untouched_written_answer_says_so(graded_ex3):
    rows, out = graded_ex3
    assert (rows["blank"]["status"], rows["blank"]["ex3_dask:q1"]) == ("graded", "not answered"), rows["blank"]
    assert (rows["answered"]["status"], rows["answered"]["ex3_dask:q1"]) == ("graded", "pending"), rows["answered"]
    page = (out / "written" / "ex3_dask_q1.html").read_text()
    assert "Dask records a lazy task graph" in page and "not answered" in page
    with open(out / "written" / "marks.csv", newline="") as f:
        marks = {r["student"]: r["status"] for r in csv.DictReader(f)}
    assert marks == {"answered": "pending", "blank": "not answered"}
