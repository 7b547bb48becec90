"""What the grader reads from the master notebooks: tests, hints, answer cells, written questions.

Built once per grading run with ``otter assign`` (the masters in ``solutions/`` stay the single
source of every exercise):

* every test case of every autograded question: points, hidden or not, the **hint** a student
  sees when a hidden test fails (otter's ``failure_message`` in the test's ``BEGIN TEST CONFIG``;
  it survives ``otter assign``; write it without double quotes), and the **variables it takes**
  (its function's parameter names: otter passes notebook variables by name);
* the answer cells of each question in the student notebook, with the ids ``labhelpers
  exercises`` gives them, to tell an untouched answer ("not answered") from an attempt;
* the written (``manual: true``) questions with their prompt and their model answer + rubric.

The tests go into a private folder that no sandbox sees and are checksummed; the checksums are
checked again before each submission's tests run (:func:`verify`).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from labhelpers_course import exercises
from labhelpers_course.errors import GradingError

__all__ = ["Case", "WrittenQuestion", "Exercise", "GENERIC_HINT", "load_exercises", "verify", "checksums"]

_CHECK = re.compile(r"""grader\.check\(\s*["']([^"']+)["']\s*\)""")
#: The hint of a hidden test whose master gives none.
GENERIC_HINT = "A hidden test of this question failed: compare your method with the question's instructions."


@dataclass(frozen=True)
class Case:
    """One otter test case."""

    question: str
    name: str
    points: float
    hidden: bool
    hint: str  # hidden tests: what the student sees when it fails
    params: tuple[str, ...]  # the notebook variables the test function takes


@dataclass(frozen=True)
class WrittenQuestion:
    """A question marked by hand."""

    name: str
    points: float
    prompt: str  # the question's markdown
    model: str  # model answer and rubric (markdown): for the marker only


@dataclass
class Exercise:
    """One exercise as the grader sees it."""

    number: int
    name: str  # the master's file stem, e.g. "ex1_ndsi"
    assignment: str  # otter's assignment name, e.g. "ex1"
    tests_dir: Path  # private: tests/<question>.py, hidden tests included
    cases: list[Case]
    written: dict[str, WrittenQuestion]
    answer_cells: dict[str, list[tuple[str, str]]]  # question -> [(cell id, prompt source)]
    checksums: dict[str, str] = field(default_factory=dict)

    @property
    def questions(self) -> list[str]:
        """The autograded questions, in order."""
        return list(dict.fromkeys(c.question for c in self.cases))

    @property
    def export(self) -> list[str]:
        """Every notebook variable some test takes, in first-use order."""
        return list(dict.fromkeys(p for c in self.cases for p in c.params))

    @property
    def possible(self) -> float:
        """Autograded points."""
        return sum(c.points for c in self.cases)

    @property
    def notebook_name(self) -> str:
        return f"{self.name}.ipynb"


def checksums(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder``.

    Parameters
    ----------
    folder : pathlib.Path

    Returns
    -------
    dict of str to str
    """
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def verify(ex: Exercise) -> None:
    """Check that the private tests of ``ex`` are still the ones loaded.

    Parameters
    ----------
    ex : Exercise

    Raises
    ------
    GradingError
        A test file changed, appeared or went missing since loading.
    """
    now = checksums(ex.tests_dir)
    if now != ex.checksums:
        changed = sorted({k for k, _ in set(now.items()) ^ set(ex.checksums.items())})
        raise GradingError(f"The private test files of {ex.name} changed since grading started ({changed[:3]}): "
                           "grading stopped. Grade again.")


def _cases(tests_dir: Path) -> list[Case]:
    from otter.test_files import ExceptionTestFile

    cases = []
    for path in sorted(tests_dir.glob("*.py")):
        tf = ExceptionTestFile.from_file(str(path))
        for tc in tf.test_cases:
            params = tuple(tc.body._get_func_params())
            if "env" in params:
                raise GradingError(f"Test {tc.name} of {path.name} takes `env` (the whole namespace): a test must name "
                                   "the variables it checks as parameters, e.g. def test_x(ndsi_monthly).")
            hint = (tc.failure_message or GENERIC_HINT) if tc.hidden else (tc.failure_message or "")
            cases.append(Case(tf.name, tc.name, float(tc.points or 0), bool(tc.hidden), hint, params))
    return cases


def _written(master: Path) -> dict[str, WrittenQuestion]:
    import yaml

    nb = nbformat.read(master, as_version=4)
    out, current, mode = {}, None, None
    for cell in nb.cells:
        text = cell.source.strip()
        head = text.upper()
        if cell.cell_type == "raw" and head.startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(text.split("\n", 1)[1]) or {}
            current = dict(config, prompt=[], model=[]) if config.get("manual") else None
            mode = "prompt"
        elif cell.cell_type == "raw" and head.startswith("# END QUESTION"):
            if current is not None:
                out[current["name"]] = WrittenQuestion(current["name"], float(current.get("points", 0)),
                                                       "\n\n".join(current["prompt"]), "\n\n".join(current["model"]))
            current = None
        elif current is not None and cell.cell_type == "raw" and head.startswith("# BEGIN SOLUTION"):
            mode = "model"
        elif current is not None and cell.cell_type == "raw" and head.startswith("# END SOLUTION"):
            mode = None
        elif current is not None and cell.cell_type == "markdown" and mode:
            current[mode].append(cell.source)
    return out


def _answer_cells(student: nbformat.NotebookNode, written: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Answer cells of the student notebook by question: those before each ``grader.check("qN")``
    cell, and for written questions those between otter's BEGIN and END QUESTION markers."""
    out: dict[str, list[tuple[str, str]]] = {}
    pending: list[tuple[str, str]] = []
    manual = iter(written)
    in_manual = None
    for cell in student.cells:
        if cell.cell_type == "markdown" and "<!-- BEGIN QUESTION -->" in cell.source:
            in_manual, pending = next(manual, None), []
        if "otter_answer_cell" in cell.metadata.get("tags", []):
            pending.append((cell.get("id", ""), cell.source))
        if cell.cell_type == "markdown" and "<!-- END QUESTION -->" in cell.source and in_manual:
            out[in_manual], pending, in_manual = pending, [], None
        found = _CHECK.search(cell.source) if cell.cell_type == "code" else None
        if found:
            out[found.group(1)], pending = pending, []
    return out


def load_exercises(solutions: Path, workdir: Path) -> dict[int, Exercise]:
    """Every ``ex<N>_*.ipynb`` master in ``solutions``, assigned into the private ``workdir``.

    Parameters
    ----------
    solutions : pathlib.Path
        The masters' folder (``solutions/``).
    workdir : pathlib.Path
        A folder no sandbox sees (root's, mode 0700).

    Returns
    -------
    dict of int to Exercise
        By exercise number.

    Raises
    ------
    GradingError
        No masters, a master otter cannot assign, or a test that takes ``env``.
    """
    try:
        found_masters = exercises.masters(solutions)
    except FileNotFoundError as err:
        raise GradingError(str(err)) from None
    found = {}
    for master in found_masters:
        number = int(re.match(r"ex(\d+)", master.stem).group(1))
        try:
            dist = exercises.assign(master, workdir / master.stem)
        except RuntimeError as err:
            raise GradingError(str(err)) from None
        tests_dir = workdir / master.stem / "tests"
        tests_dir.mkdir(parents=True, exist_ok=True)
        for zip_path in (dist / "autograder").glob("*.zip"):
            with zipfile.ZipFile(zip_path) as z:
                for member in z.namelist():
                    if member.startswith("tests/") and member.endswith(".py"):
                        (tests_dir / Path(member).name).write_bytes(z.read(member))
        student = exercises.normalise(nbformat.read(dist / "student" / master.name, as_version=4), master.stem)
        assignment = student.metadata.get("otter", {}).get("assignment_name", "") or f"ex{number}"
        written = _written(master)
        ex = Exercise(number, master.stem, assignment, tests_dir, _cases(tests_dir), written,
                      _answer_cells(student, list(written)))
        ex.checksums = checksums(tests_dir)
        found[number] = ex
    return found
