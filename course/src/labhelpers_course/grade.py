"""``labhelpers grade SUBMISSIONS_DIR``: grade a folder of student notebooks, offline.

What a grader must survive is the point of this module. Student submissions are untrusted,
arbitrary programs: they crash, loop forever, are a PDF or an empty file, or had their check
cells deleted. Each of those gets a zero *with the reason* in the CSV and the student's feedback,
and the run goes on to the next submission. Nothing is ever written into the submissions folder.

How one notebook is graded (:func:`grade_submission`):

1. **Screen** it without running it (:func:`screen`): a readable ``.ipynb``, with code, for a
   known exercise, still holding a ``grader.check("qN")`` cell for every autograded question.
2. **Run** a copy in a private temporary folder (:func:`execute`) with a fresh Jupyter kernel,
   papermill parameters injected (``profile="offline"``, and e.g. ``resolution=200`` to keep it
   quick), and otter in *grading mode*: every ``grader.check`` and a final check of every test
   use the autograder's tests, hidden ones included. The first uncaught error stops the run
   (the policy: a notebook must run top to bottom); a per-notebook time limit stops a loop and
   kills the kernel.
3. **Score** from otter's per-test results, write a CSV row and a feedback file.

Why otter-grader for the tests but not for running notebooks: otter's own runners either need
Docker (``otter grade``) or run without a time limit and carry on past errors (``otter run``);
its test format, ``otter assign`` and ``grader.check`` are exactly what we want, so we use those
and keep the execution (limits, sandbox, reasons) here, in about a hundred lines.

The hidden tests read the known truth of the served archive (``manifest.json``), so grading needs
the offline stand-in: it is used when running, else started for the run and stopped after.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from labhelpers_course import exercises

__all__ = ["Rejected", "Exercise", "Result", "load_exercises", "screen", "execute", "grade_submission",
           "submissions", "write_csv", "feedback", "grade_folder", "register"]

#: Files in a submissions folder that are not submissions (editor and OS droppings).
IGNORED = re.compile(r"(^|/)(\.[^/]*|__MACOSX|.*\.ipynb_checkpoints)(/|$)")

#: Marks the cells the grader adds, so error locations are given in the student's numbering.
GRADER_CELL = "labhelpers_grader"

INIT_CELL = """\
from otter import Notebook as _OtterNotebook
_OtterNotebook.init_grading_mode({tests_dir!r})
"""

# Runs every test not yet run by a check cell (otter's Checker remembers), then saves a plain
# summary: test file -> [test case, points, hidden, passed, message].
RESULTS_CELL = """\
import glob as _glob, json as _json
from otter.execute import Checker as _Checker
for _test in sorted(_glob.glob({tests_glob!r})):
    _Checker.check_if_not_already_checked(_test)
with open({results_path!r}, "w") as _f:
    _json.dump({{tf.name: [dict(test=r.test_case.name, points=r.test_case.points, hidden=r.test_case.hidden,
                              passed=bool(r.passed), message=r.message or "")
                         for r in tf.test_case_results]
                for tf in _Checker.get_results()}}, _f)
"""


class Rejected(Exception):
    """A submission that scores zero; ``str(err)`` is the reason, written for the student."""


@dataclass
class Exercise:
    """One exercise as the grader sees it: its autograder tests and which questions are manual."""

    number: int
    name: str  # the master's file stem, e.g. "ex1_ndsi"; students' notebooks use this name
    tests_dir: Path  # tests/<question>.py from the autograder zip (hidden tests included)
    cases: dict[str, list[dict]]  # autograded question -> [{test, points, hidden}], in order
    manual: dict[str, float]  # hand-graded question -> points

    @property
    def auto(self) -> list[str]:
        return list(self.cases)

    @property
    def possible(self) -> float:
        return sum(c["points"] for cases in self.cases.values() for c in cases)

    @property
    def notebook_name(self) -> str:
        return f"{self.name}.ipynb"


@dataclass
class Result:
    """The grade of one submission file."""

    student: str
    exercise: str
    path: str
    score: float = 0.0
    possible: float = 0.0
    status: str = "graded"  # or "zero"
    reason: str = ""
    seconds: float = 0.0
    tests: list[dict] = field(default_factory=list)  # question, test, points, hidden, passed, message
    manual: dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------
# Exercises: built from the masters, once per run
# ------------------------------------------------------------------------------------------------
def _manual_questions(master: Path) -> dict[str, float]:
    """``{question: points}`` of the master's ``manual: true`` questions (otter leaves them to people)."""
    import yaml

    nb = nbformat.read(master, as_version=4)
    out = {}
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.lstrip().upper().startswith("# BEGIN QUESTION"):
            config = yaml.safe_load(cell.source.split("\n", 1)[1]) or {}
            if config.get("manual"):
                out[config["name"]] = float(config.get("points", 0))
    return out


def load_exercises(workdir: Path, solutions: Path = exercises.SOLUTIONS) -> dict[int, Exercise]:
    """Every exercise in ``solutions``, with its tests extracted into ``workdir``."""
    from otter.test_files import ExceptionTestFile

    found = {}
    for master in exercises.masters(solutions):
        m = re.match(r"ex(\d+)", master.stem)
        number = int(m.group(1))
        dist = exercises.assign(master, workdir / master.stem)
        tests_dir = workdir / master.stem / "tests"
        (zip_path,) = (dist / "autograder").glob("*.zip")
        with zipfile.ZipFile(zip_path) as z:
            for member in z.namelist():
                if member.startswith("tests/") and member.endswith(".py"):
                    tests_dir.mkdir(parents=True, exist_ok=True)
                    (tests_dir / Path(member).name).write_bytes(z.read(member))
        cases = {}
        for test in sorted(tests_dir.glob("*.py")):
            tf = ExceptionTestFile.from_file(str(test))
            cases[test.stem] = [dict(test=tc.name, points=tc.points, hidden=tc.hidden) for tc in tf.test_cases]
        found[number] = Exercise(number, master.stem, tests_dir, cases, _manual_questions(master))
    return found


# ------------------------------------------------------------------------------------------------
# One submission
# ------------------------------------------------------------------------------------------------
def student_of(path: Path, root: Path) -> str:
    """``alice/ex1_ndsi.ipynb -> alice``; a file directly in the folder: its name before the first ``_``/``.``."""
    rel = path.relative_to(root)
    if len(rel.parts) > 1:
        return rel.parts[0]
    return re.split(r"[_.]", rel.name, maxsplit=1)[0] or rel.name


def exercise_of(nb: nbformat.NotebookNode, path: Path, known: dict[int, Exercise]) -> Exercise | None:
    """The exercise a notebook belongs to: otter's assignment name in its metadata, else its file name."""
    name = nb.metadata.get("otter", {}).get("assignment_name", "")
    for ex in known.values():
        if name == f"ex{ex.number}" or re.search(rf"(^|[^0-9]){ex.name}|ex{ex.number}(?![0-9])", path.name):
            return ex
    return None


def screen(path: Path, known: dict[int, Exercise], exercise: int | None) -> tuple[nbformat.NotebookNode, Exercise]:
    """Read and check a submission without running it; raise :class:`Rejected` saying what is wrong."""
    if path.suffix != ".ipynb":
        raise Rejected(f"not a notebook ({path.suffix or 'no extension'} file): submit the .ipynb file "
                       "(in Jupyter: File > Download), not a PDF, export or screenshot.")
    if path.stat().st_size == 0:
        raise Rejected("empty file (0 bytes): the notebook was not saved before submitting.")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # nbformat raises JSON, validation and reader errors of several kinds
        raise Rejected(f"not a readable notebook ({type(err).__name__}: {str(err).splitlines()[0][:200]}); "
                       "re-download the .ipynb from Jupyter and submit that.") from None
    if not any(c.cell_type == "code" and c.source.strip() for c in nb.cells):
        raise Rejected("empty notebook: it has no code cells.")
    ex = known.get(exercise) if exercise is not None else exercise_of(nb, path, known)
    if ex is None:
        raise Rejected(f"cannot tell which exercise this is (no otter assignment name, and the file name "
                       f"{path.name!r} names none): grade it with --exercise N.")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    deleted = [q for q in ex.auto if not re.search(rf"""grader\.check\(\s*["']{q}["']\s*\)""", code)]
    if deleted:
        raise Rejected(f"the check cell(s) for {', '.join(deleted)} (grader.check(...)) were deleted: "
                       f"restore them from exercises/{ex.notebook_name} and resubmit.")
    return nb, ex


def _grader_cell(source: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata[GRADER_CELL] = True
    return cell


def _student_cell_number(nb: nbformat.NotebookNode, index: int) -> int:
    """1-based number of cell ``index`` among the student's own cells (without those we added)."""
    added = lambda c: c.metadata.get(GRADER_CELL) or "injected-parameters" in c.metadata.get("tags", [])
    return sum(1 for c in nb.cells[: index + 1] if not added(c))


def execute(nb: nbformat.NotebookNode, ex: Exercise, sandbox: Path, timeout: float,
            parameters: dict) -> tuple[dict, nbformat.NotebookNode]:
    """Run ``nb`` in ``sandbox`` with otter in grading mode; return (otter's per-test results, executed nb).

    Raises :class:`Rejected` when a cell raises, the time limit passes, or the kernel dies.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from papermill.parameterize import parameterize_notebook

    nb.metadata.setdefault("papermill", {})  # papermill records its parameters there
    for cell in nb.cells:  # and looks up .tags on every cell
        cell.metadata.setdefault("tags", [])
    nb = parameterize_notebook(nb, parameters, kernel_name="python3", language="python")
    results_path = sandbox / ".grading-results.json"
    nb.cells.insert(0, _grader_cell(INIT_CELL.format(tests_dir=str(ex.tests_dir))))
    nb.cells.append(_grader_cell(RESULTS_CELL.format(tests_glob=str(ex.tests_dir / "*.py"),
                                                     results_path=str(results_path))))
    # otter's grader.check reads the notebook by the name the exercise gave it
    nbformat.write(nb, sandbox / ex.notebook_name)

    deadline = time.monotonic() + timeout
    client = NotebookClient(
        nb, kernel_name="python3", allow_errors=False, shutdown_kernel="immediate",
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
        resources={"metadata": {"path": str(sandbox)}},
    )
    from labhelpers.settings import offline_dir

    # The kernel runs in a temporary folder: tell it where the running stand-in is.
    env = {**os.environ, "LABHELPERS_PROFILE": "offline", "LABHELPERS_OFFLINE_DIR": str(offline_dir()),
           "MPLBACKEND": "agg"}
    try:
        client.execute(env=env)
    except CellTimeoutError:
        raise Rejected(f"did not finish within the {timeout:.0f} s time limit (an endless loop, or far "
                       "too much data: keep the parameters cell's defaults).") from None
    except DeadKernelError:
        raise Rejected("the Python kernel died while running the notebook (out of memory, or the code "
                       "exited the interpreter).") from None
    except CellExecutionError as err:
        index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                      and any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        where = f"cell {_student_cell_number(nb, index)}" if index is not None else "a cell"
        if index is not None and nb.cells[index].metadata.get(GRADER_CELL):
            where = "the grader's setup (is otter-grader installed in the kernel?)"
        raise Rejected(f"raised {err.ename}: {str(err.evalue)[:300]} in {where}; the notebook must run "
                       "top to bottom (Kernel > Restart & Run All) before you submit.") from None
    return json.loads(results_path.read_text()), nb


def grade_submission(path: Path, root: Path, known: dict[int, Exercise], exercise: int | None,
                     timeout: float, parameters: dict, executed_dir: Path | None = None) -> Result:
    """Grade one file of the submissions folder ``root``; never raises for a bad submission."""
    t0 = time.monotonic()
    result = Result(student=student_of(path, root), exercise="?", path=str(path.relative_to(root)))
    ex = known.get(exercise) if exercise is not None else None
    if ex is not None:
        result.exercise, result.possible, result.manual = ex.name, ex.possible, dict(ex.manual)
    try:
        nb, ex = screen(path, known, exercise)
        result.exercise, result.possible, result.manual = ex.name, ex.possible, dict(ex.manual)
        with tempfile.TemporaryDirectory(prefix="labhelpers-grade-") as tmp:
            sandbox = Path(tmp)
            sandbox.chmod(0o700)
            raw, executed = execute(nb, ex, sandbox, timeout, parameters)
        if executed_dir is not None:
            dest = executed_dir / result.student / ex.notebook_name
            dest.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(executed, dest)
        for question, cases in ex.cases.items():
            ran = {r["test"]: r for r in raw.get(question, [])}
            if not ran:
                raise Rejected(f"the tests of {question} did not run (was `grader` or otter redefined?).")
            for case in cases:
                outcome = ran.get(case["test"], {"passed": False, "message": "this test did not run"})
                result.tests.append({"question": question, **case, "passed": outcome["passed"],
                                     "message": outcome["message"]})
        result.score = sum(t["points"] for t in result.tests if t["passed"])
    except (Rejected, Exception) as err:
        # Anything else is the grader's failure, not the student's: still a row, saying so.
        reason = str(err) if isinstance(err, Rejected) else (
            f"the grader failed on this file ({type(err).__name__}: {err}); please report it")
        result.status, result.reason, result.score = "zero", reason, 0.0
        result.tests = [{"question": q, **c, "passed": False, "message": ""}
                        for q, cases in (ex.cases.items() if ex else ()) for c in cases]
    result.seconds = round(time.monotonic() - t0, 1)
    return result


# ------------------------------------------------------------------------------------------------
# The folder: progress, CSV, feedback
# ------------------------------------------------------------------------------------------------
def submissions(root: Path) -> list[Path]:
    """Every file under ``root`` except hidden files, checkpoints and ``__MACOSX``, sorted."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not IGNORED.search(p.relative_to(root).as_posix()))


def _test_column(t: dict) -> str:
    # otter names test cases "<question> - <n>"
    return t["test"] if t["test"].startswith(t["question"]) else f"{t['question']} {t['test']}"


def write_csv(results: list[Result], path: Path) -> None:
    """``grades.csv``: one row per submission file; one column per test (points earned)."""
    columns: list[str] = []
    for r in results:
        for t in r.tests:
            name = f"{r.exercise}:{_test_column(t)}"
            if name not in columns:
                columns.append(name)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "exercise", "score", "max", "status", "reason", "manual_points_pending",
                    "seconds", "file", *columns])
        for r in results:
            earned = {f"{r.exercise}:{_test_column(t)}": (t["points"] if t["passed"] else 0) for t in r.tests}
            w.writerow([r.student, r.exercise, _num(r.score), _num(r.possible), r.status, r.reason,
                        _num(sum(r.manual.values())), r.seconds, r.path, *(_num(earned[c]) if c in earned else ""
                                                                            for c in columns)])


def _num(x: float) -> str:
    return f"{x:g}"


def feedback(r: Result) -> str:
    """The Markdown feedback for one submission: score, reason, and every test with its message."""
    lines = [f"# {r.exercise}: feedback for {r.student}", "",
             f"Autograded score: **{_num(r.score)} / {_num(r.possible)}** (file `{r.path}`)."]
    if r.manual:
        lines.append("Hand-graded questions (marked separately): "
                     + ", ".join(f"{q} ({_num(p)} points)" for q, p in r.manual.items()) + ".")
    if r.status == "zero":
        lines += ["", f"**This submission scored zero:** {r.reason}"]
    if r.tests and r.status != "zero":
        lines += ["", "| question | test | points | result |", "|---|---|---|---|"]
        for t in r.tests:
            kind = " (hidden)" if t["hidden"] else ""
            lines.append(f"| {t['question']} | {t['test']}{kind} | {_num(t['points'] if t['passed'] else 0)}"
                         f" / {_num(t['points'])} | {'passed' if t['passed'] else 'failed'} |")
        failed = [t for t in r.tests if not t["passed"]]
        if failed:
            lines += ["", "## What failed", ""]
            for t in failed:
                lines += [f"**{t['question']} {t['test']}**", "", "```", _last_lines(t["message"]), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def _last_lines(message: str, n: int = 6) -> str:
    """The end of a test's traceback: the assertion and its message, not otter's internals."""
    lines = [l for l in message.strip().splitlines() if l.strip()]
    return "\n".join(lines[-n:]) if lines else "(no message)"


def grade_folder(root: Path, out: Path, exercise: int | None = None, timeout: float = 900,
                 parameters: dict | None = None, solutions: Path = exercises.SOLUTIONS,
                 say=print) -> list[Result]:
    """Grade every file under ``root`` into ``out`` (``grades.csv``, ``feedback/``, ``executed/``).

    The offline stand-in must be running (see :func:`labhelpers_standin.services.running`).
    Returns the results in file order.
    """
    root, out = root.resolve(), out.resolve()
    if out == root or root in out.parents:
        raise ValueError(f"--out {out} is inside the submissions folder {root}; nothing may be written "
                         "there. Choose another folder, e.g. --out grades.")
    files = submissions(root)
    if not files:
        raise ValueError(f"No files in {root}: point at the folder holding the submitted notebooks.")
    parameters = {"profile": "offline", **(parameters or {})}
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="labhelpers-autograder-") as tmp:
        known = load_exercises(Path(tmp), solutions)
        if exercise is not None and exercise not in known:
            raise ValueError(f"No exercise {exercise} in {solutions}: choose one of {sorted(known)}.")
        t0 = time.monotonic()
        for i, path in enumerate(files, 1):
            say(f"[{i}/{len(files)}] {path.relative_to(root)} ...")
            r = grade_submission(path, root, known, exercise, timeout, parameters, out / "executed")
            results.append(r)
            verdict = f"{_num(r.score)}/{_num(r.possible)}" + (f" (zero: {r.reason})" if r.status == "zero" else "")
            say(f"[{i}/{len(files)}] {r.student} {r.exercise}: {verdict} in {r.seconds:.0f} s")
            fb = out / "feedback" / r.student / f"{Path(r.path).stem}.md"
            fb.parent.mkdir(parents=True, exist_ok=True)
            fb.write_text(feedback(r))
        write_csv(results, out / "grades.csv")
        say(f"Graded {len(files)} submission(s) in {time.monotonic() - t0:.0f} s: {out / 'grades.csv'}, "
            f"feedback in {out / 'feedback'}.")
    return results


def _run(args) -> int:
    say = lambda m: print(m, file=sys.stderr, flush=True)
    params = {} if args.resolution is None else {"resolution": args.resolution}
    root = Path(args.submissions)
    if not root.is_dir():
        say(f"error: {root} is not a folder of submissions.")
        return 1
    from labhelpers_standin import services

    try:
        with services.running(say=say):
            grade_folder(root, Path(args.out), args.exercise, args.timeout, params, solutions=args.solutions, say=say)
    except (ValueError, FileNotFoundError) as err:
        say(f"error: {err}")
        return 1
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    """Options of ``labhelpers grade``."""
    parser.add_argument("submissions", metavar="SUBMISSIONS_DIR",
                        help="folder of submissions: <student>/<exercise>.ipynb or <student>_<exercise>.ipynb")
    parser.add_argument("--exercise", type=int, help="grade every file as exercise N (default: read from each notebook)")
    parser.add_argument("--out", default="grades", help="where grades.csv and feedback/ go (default: ./grades)")
    parser.add_argument("--timeout", type=float, default=900, help="time limit per notebook, seconds (default 900)")
    parser.add_argument("--resolution", type=float,
                        help="override the notebooks' `resolution` parameter (metres), e.g. 200 for a quick run")
    parser.add_argument("--solutions", type=Path, default=exercises.SOLUTIONS,
                        help="folder of the master notebooks (default: ./solutions)")
    parser.set_defaults(func=_run)
