"""Grade one submission: screen it, run it sandboxed, test its values outside, score it.

1. **Screen** without running (:func:`screen`): a regular file (never through a symlink), an
   ``.ipynb`` that parses, with code, of a known exercise. Otherwise a zero with the reason.
2. **Run** it in its sandbox (:func:`.run.run_notebook`): the parameters injected (papermill),
   every cell run, then the variables the tests take exported as plain data. The student's own
   ``grader.check`` cells run the public tests there, as when they worked; they count for nothing.
3. **Tell our fault from theirs**: when the network filter saw the stand-in fail (refused
   connections, timeouts, 5xx) or the stand-in is unhealthy after the run, the submission is run
   once more, on a restarted stand-in when a restart is possible; if the stand-in fails again it
   is reported as *not graded: service failure*, never as a zero.
4. **Test** the exported values outside the student's sandbox (:func:`.run.run_tests`) with the
   master's tests, public and hidden.
5. **Score**: each test's points when it passed. A question whose answer cells are untouched,
   or whose variables are still ``...``, is *not answered*. Written questions are "not answered"
   or "pending" (for the marker).

Nothing a submission does raises out of :func:`grade_submission`: its faults are zeros with a
reason, ours (:class:`~labhelpers_course.errors.GradingError`) are "not graded" with ours.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from labhelpers_course.errors import GradingError
from labhelpers_course.grade import names, run
from labhelpers_course.grade import sandbox as sb
from labhelpers_course.grade.exercise import Exercise, verify

__all__ = ["NOT_ANSWERED", "TRUTH_HOOKS", "Rejected", "Result", "screen", "answers", "grade_submission"]

#: What hidden tests call for the archive's truth; provided in the tests sandbox from a private copy.
TRUTH_HOOKS = [["labhelpers_course.truth", "archive_truth"]]
NOT_ANSWERED = "not answered"


class Rejected(Exception):
    """The submission scores zero; ``str(err)`` is the reason, written for the student."""


@dataclass
class Result:
    """The grade of one submission file.

    ``status`` is ``"graded"``, ``"zero"`` (the submission's fault, with ``reason``) or
    ``"not graded"`` (ours: the stand-in or the grader failed; grade it again).
    """

    student: str
    exercise: str
    file: str
    status: str = "graded"
    reason: str = ""
    score: float = 0.0
    possible: float = 0.0
    seconds: float = 0.0
    attempts: int = 0
    tests: list[dict] = field(default_factory=list)  # question, test, points, hidden, state, feedback
    questions: dict[str, str] = field(default_factory=dict)  # question -> "answered" / "not answered"
    written: dict[str, dict] = field(default_factory=dict)  # question -> points, status, answer[, marks, comment]
    net: dict = field(default_factory=dict)


def _exercise_of(nb, rel: str, known: dict[int, Exercise]) -> Exercise | None:
    name = nb.metadata.get("otter", {}).get("assignment_name", "")
    for ex in known.values():
        if name and name == ex.assignment:
            return ex
    for ex in known.values():
        if re.search(rf"(^|[^0-9a-z]){re.escape(ex.name)}|(^|[^0-9a-z])ex{ex.number}(?![0-9])", rel.lower()):
            return ex
    return None


def screen(data: bytes, rel: str, known: dict[int, Exercise], forced: int | None) -> tuple:
    """Parse a submission's bytes without running anything.

    Parameters
    ----------
    data : bytes
    rel : str
        Its path in the submissions folder (the exercise may be read from it).
    known : dict of int to Exercise
    forced : int or None
        ``--exercise N``.

    Returns
    -------
    (nbformat.NotebookNode, Exercise)

    Raises
    ------
    Rejected
        With the reason for the student.
    """
    if not rel.endswith(".ipynb"):
        raise Rejected(f"not a notebook ({Path(rel).suffix or 'no extension'} file): submit the .ipynb file "
                       "(in Jupyter: File > Download), not a PDF, export or screenshot.")
    if not data:
        raise Rejected("empty file (0 bytes): the notebook was not saved before submitting.")
    try:
        nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # JSON, Unicode and schema errors of several kinds
        raise Rejected(f"not a readable notebook ({type(err).__name__}): re-download the .ipynb from Jupyter "
                       "and submit that.") from None
    if not any(c.cell_type == "code" and c.source.strip() for c in nb.cells):
        raise Rejected("empty notebook: it has no code cells.")
    ex = known.get(forced) if forced is not None else _exercise_of(nb, rel, known)
    if ex is None:
        raise Rejected("cannot tell which exercise this is (no otter assignment name, and the file name names "
                       "none): the instructor can grade it with --exercise N.")
    return nb, ex


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def answers(nb, ex: Exercise) -> dict[str, tuple[bool, str]]:
    """Which questions the student touched, from the answer cells (by cell id, else by position).

    Parameters
    ----------
    nb : nbformat.NotebookNode
    ex : Exercise

    Returns
    -------
    dict of str to (bool, str)
        ``{question: (touched, answer text)}``; a deleted answer cell counts as touched (the
        exported values then decide).
    """
    by_id = {c.get("id"): c for c in nb.cells}
    tagged = [c for c in nb.cells if "otter_answer_cell" in c.metadata.get("tags", [])]
    reference = [cell for cells in ex.answer_cells.values() for cell in cells]
    by_order = dict(zip((cid for cid, _ in reference), tagged)) if len(tagged) == len(reference) else {}
    out = {}
    for question, cells in ex.answer_cells.items():
        touched, texts = False, []
        for cid, prompt in cells:
            cell = by_id.get(cid) or by_order.get(cid)
            if cell is None:
                touched = True
                continue
            texts.append(cell.source)
            if _norm(cell.source) and _norm(cell.source) != _norm(prompt):
                touched = True
        out[question] = (touched, "\n\n".join(texts))
    return out


def _run_reason(r: run.NotebookRun, machine: run.Machine) -> str | None:
    """Why a finished run scores zero; None when it ran to its end and exported."""
    lim = machine.limits
    if r.sandbox.timed_out:
        return (f"did not finish within the {lim.wall_seconds:.0f} s time limit (an endless loop, or far too "
                "much data: keep the parameters cell's defaults).")
    if r.executed is None and r.executed_size > machine.executed_max:
        return (f"its outputs are too large ({r.executed_size / 1e6:.0f} MB; the limit is "
                f"{machine.executed_max / 1e6:.0f} MB): print less.")
    status = r.status
    memory = f"{lim.address_space / sb.GiB:.0f} GiB of memory per process, {lim.processes} processes"
    if status is None:
        err = r.sandbox.stderr.decode(errors="replace")
        hint = "out of memory" if "MemoryError" in err or "Cannot allocate" in err else "it was stopped"
        return (f"the notebook's run ended without a result ({hint}; limits: {memory}): check it runs top to "
                "bottom on your machine.")
    if status.get("ok"):
        return None
    kind = status.get("kind")
    if kind == "timeout":
        return f"did not finish within the {lim.wall_seconds:.0f} s time limit (stopped in cell {status.get('cell')})."
    if kind == "dead_kernel":
        return f"the Python kernel died while running the notebook (out of memory: the limit is {memory}; or the " \
               "code exited the interpreter)."
    if kind == "error":
        return (f"raised {names.clean(str(status.get('ename')), 100)}: {names.clean(str(status.get('evalue')), 300)} "
                f"in cell {status.get('cell')}; the notebook must run top to bottom (Kernel > Restart & Run All) "
                "before you submit.")
    if kind == "export":
        return "the grader could not export the notebook's values (were Python's built-in modules redefined?)."
    raise GradingError(f"the grader's driver failed in the sandbox ({names.clean(str(status.get('ename')), 100)}: "
                       f"{names.clean(str(status.get('evalue')), 300)})")


def _all_ellipsis(export: Path, ex: Exercise, question: str) -> bool:
    """True when every variable the question's tests take was exported as ``...`` (the prompt)."""
    try:
        values = json.loads((export / "manifest.json").read_text())["values"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    params = {p for c in ex.cases if c.question == question for p in c.params}
    return bool(params) and all(isinstance(values.get(p), dict) and values[p].get("t") == "ellipsis" for p in params)


def _score(result: Result, ex: Exercise, report: dict, touched: dict[str, tuple[bool, str]]) -> None:
    ran = {(t.get("question"), t.get("test")): t for t in report.get("results", []) if isinstance(t, dict)}
    unsupported = report.get("unsupported") if isinstance(report.get("unsupported"), dict) else {}
    for question in ex.questions:
        result.questions[question] = "answered" if touched.get(question, (True, ""))[0] else NOT_ANSWERED
    for case in ex.cases:
        got = ran.get((case.question, case.name))
        if result.questions[case.question] == NOT_ANSWERED:
            state, feedback = NOT_ANSWERED, NOT_ANSWERED
        elif got is None:
            state, feedback = "failed", "this test did not run"
        elif got.get("passed") is True:
            state, feedback = "passed", ""
        elif case.hidden:  # never the hidden test's own message: it may hold the expected value
            state, feedback = "failed", case.hint
        else:
            state, feedback = "failed", names.clean(f"{got.get('error', '')}: {got.get('message', '')}", 600)
        bad = [p for p in case.params if p in unsupported]
        if state == "failed" and bad:  # the value never reached the test: say so first
            feedback = names.clean("; ".join(f"`{p}` could not be checked ({unsupported[p]})" for p in bad), 400) \
                + ". " + feedback
        result.tests.append({"question": case.question, "test": case.name, "points": case.points,
                             "hidden": case.hidden, "state": state, "feedback": feedback})
    result.score = sum(t["points"] for t in result.tests if t["state"] == "passed")


def _written(result: Result, ex: Exercise, touched: dict[str, tuple[bool, str]]) -> None:
    for q, wq in ex.written.items():
        answered, text = touched.get(q, (False, ""))
        result.written[q] = {"points": wq.points, "status": "pending" if answered else NOT_ANSWERED,
                             "answer": text if answered else ""}


def _parameterise(nb, parameters: dict) -> str:
    from papermill.parameterize import parameterize_notebook

    nb.metadata.setdefault("papermill", {})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    return nbformat.writes(parameterize_notebook(nb, parameters, kernel_name="python3", language="python"))


def _service_failure(nbrun: run.NotebookRun) -> str:
    samples = "; ".join(nbrun.net.failure_samples[:2]) or "unhealthy after the run"
    return (f"service failure: the offline stand-in failed while this notebook ran ({names.clean(samples, 300)}); "
            "not the student's fault. Grade it again once `labhelpers offline status` says healthy.")


def grade_submission(entry: names.Entry, sid: str, known: dict[int, Exercise], forced: int | None,
                     machine: run.Machine, standin: run.Standin, parameters: dict, runs: Path,
                     executed_dir: Path | None, expected_truth: str) -> Result:
    """Grade one submission file; never raises for anything the submission does.

    Parameters
    ----------
    entry : names.Entry
    sid : str
        The student id.
    known : dict of int to Exercise
    forced : int or None
        ``--exercise N``.
    machine : run.Machine
    standin : run.Standin
    parameters : dict
        Injected after the notebook's ``parameters`` cell.
    runs : pathlib.Path
        Where this submission's run folders go (mode 0711, the grader's).
    executed_dir : pathlib.Path or None
        Where the executed notebook is kept (``<sid>/<exercise>.ipynb``).
    expected_truth : str
        The truth's sha256 when grading started.

    Returns
    -------
    Result
    """
    t0 = time.monotonic()
    result = Result(student=sid, exercise="?", file=entry.rel)
    try:
        if entry.problem:
            raise Rejected(entry.problem)
        try:
            data = names.read_submission(entry.path)
        except ValueError as err:
            raise Rejected(str(err)) from None
        nb, ex = screen(data, entry.rel, known, forced)
        result.exercise, result.possible = ex.name, ex.possible
        touched = answers(nb, ex)
        _written(result, ex, touched)
        nb_text = _parameterise(nb, parameters)
        for attempt in (1, 2):
            result.attempts = attempt
            verify(ex)
            run_dir = Path(tempfile.mkdtemp(prefix=f"{attempt}-", dir=runs))
            run_dir.chmod(0o711)
            nbrun = run.run_notebook(nb_text, ex.notebook_name, ex.export, machine, standin, run_dir / "nb")
            result.net = {"allowed": nbrun.net.allowed, "denied": nbrun.net.denied, "bytes": nbrun.net.bytes_out,
                          "upstream_failures": nbrun.net.upstream_failures, "upstream_5xx": nbrun.net.upstream_5xx,
                          "denied_samples": nbrun.net.denied_samples}
            healthy = standin.healthy()
            if not nbrun.net.failed and healthy:
                break
            if attempt == 1:
                if not healthy and standin.restart is not None:
                    standin.restart()
                continue
            if not healthy or nbrun.net.upstream_failures:
                result.status, result.reason = "not graded", _service_failure(nbrun)
                return result
        if executed_dir is not None and nbrun.executed is not None:
            dest = executed_dir / sid / ex.notebook_name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(nbrun.executed)
        reason = _run_reason(nbrun, machine)
        if reason is not None:
            raise Rejected(reason)
        verify(ex)
        expected = {f"tests/{k}": v for k, v in ex.checksums.items()}
        expected["truth.json"] = expected_truth
        report, outcome = run.run_tests(ex.tests_dir, standin.truth, nbrun.export, ex.export, machine,
                                        run_dir / "tests", TRUTH_HOOKS, expected)
        if report is None:
            ended = "timed out" if outcome.timed_out else f"exit {outcome.returncode}"
            raise GradingError(f"the tests did not report ({ended}: "
                               f"{outcome.stderr.decode(errors='replace')[-500:]})")
        for q, (was_touched, text) in list(touched.items()):
            if was_touched and q in ex.questions and _all_ellipsis(nbrun.export, ex, q):
                touched[q] = (False, text)
        _score(result, ex, report, touched)
    except Rejected as err:
        result.status, result.reason, result.score = "zero", str(err), 0.0
    except (GradingError, OSError) as err:
        result.status, result.score = "not graded", 0.0
        result.reason = names.clean(f"the grader failed on this file ({type(err).__name__}: {err}); not the "
                                    "student's fault: fix the cause and grade it again.", 800)
    finally:
        result.seconds = round(time.monotonic() - t0, 1)
    return result
