"""Grade a folder of submissions: the run's private places, each submission in turn, the outputs.

Where things live during one ``labhelpers grade``:

* the masters' tests, assigned with otter, in a private temporary folder (root's, 0700) that no
  sandbox can reach; copied per submission into that submission's tests sandbox;
* the grader's programs (``programs/``) and every run folder in a grader-owned base,
  ``/var/tmp/labhelpers-grade-*`` (mode 0711: the sandbox uids traverse it, nobody lists it),
  because the checkout, the instructor's home and pytest's temporary folders may be 0700 and
  bubblewrap opens every bind as the sandbox uid;
* the outputs in ``--out``, which no sandbox sees.

Both temporary places are removed at the end, also when grading fails.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import shutil
import tempfile
import time
from pathlib import Path

from labhelpers_course.grade import names, report, run
from labhelpers_course.grade import sandbox as sb
from labhelpers_course.grade.exercise import Exercise, load_exercises
from labhelpers_course.grade.submission import Rejected, Result, grade_submission, screen

__all__ = ["RUN_BASE", "install_programs", "grade_folder"]

#: Where the grader-owned base folders are made (a folder every account can traverse).
RUN_BASE = Path("/var/tmp")


def install_programs(dest: Path) -> Path:
    """Copy the grader's programs (``labhelpers_course.grade.programs``) into ``dest``, readable by all.

    Parameters
    ----------
    dest : pathlib.Path
        A new folder.

    Returns
    -------
    pathlib.Path
        ``dest``.
    """
    dest.mkdir(mode=0o755)
    dest.chmod(0o755)
    for item in importlib.resources.files("labhelpers_course.grade.programs").iterdir():
        if item.name.endswith(".py") and item.name != "__init__.py":
            (dest / item.name).write_bytes(item.read_bytes())
            (dest / item.name).chmod(0o644)
    return dest


def _identify(entries: list[names.Entry], known: dict[int, Exercise], forced: int | None) -> list[tuple[str, str]]:
    """(student id, exercise or file) per entry, for the uniqueness check; reads nothing through a link."""
    exercise_names = [ex.name for ex in known.values()]
    rows = []
    for entry in entries:
        sid = names.student_id(entry.rel, exercise_names)
        which = entry.rel
        if not entry.problem:
            try:
                _, ex = screen(names.read_submission(entry.path), entry.rel, known, forced)
                which = ex.name
            except (Rejected, ValueError):
                pass
        rows.append((sid, which))
    return rows


def grade_folder(root: Path, out: Path, solutions: Path, standin: run.Standin, *, runtime: Path,
                 exercise: int | None = None, parameters: dict | None = None, limits: sb.Limits | None = None,
                 uid: int = 64000, work_bytes: int = 2 * sb.GiB, anonymise: bool = False, roster: Path | None = None,
                 known: dict[int, Exercise] | None = None, say=print) -> list[Result]:
    """Grade every submission under ``root`` into ``out``.

    Parameters
    ----------
    root : pathlib.Path
        The submissions: ``<student>/<exercise>.ipynb`` or ``<student>_<exercise>.ipynb``.
    out : pathlib.Path
        Where ``grades.csv``, the gradebooks, ``feedback/``, ``written/`` and ``executed/`` go.
    solutions : pathlib.Path
        The master notebooks.
    standin : run.Standin
        The running stand-in.
    runtime : pathlib.Path
        The student runtime (``labhelpers_standin.runtime.runtime_dir()``).
    exercise : int, optional
        Grade every file as exercise N.
    parameters : dict, optional
        Injected after each notebook's ``parameters`` cell (``profile="offline"`` always).
    limits : sandbox.Limits, optional
        Per submission (wall time, memory, processes, files).
    uid : int, default 64000
        The first of the three sandbox uids (``uid``, ``uid + 1``, ``uid + 2``).
    work_bytes : int, default 2 GiB
        Size of each submission's work folder (a tmpfs: a full one is the submission's error).
    anonymise : bool, default False
        Written-answer pages without student ids.
    roster : pathlib.Path, optional
        A Canvas gradebook export, to fill ``canvas.csv``'s id columns.
    known : dict of int to Exercise, optional
        Exercises already loaded (by :func:`.exercise.load_exercises` into a private folder);
        default: loaded here from ``solutions``.
    say : callable
        Progress lines.

    Returns
    -------
    list of Result
        In file order.

    Raises
    ------
    ValueError
        ``out`` overlaps ``root``, ``root`` holds no file, or ``exercise`` is unknown.
    NameClash
        Two files of one exercise with one student id.
    SandboxError
        The machine cannot sandbox (not root, no bubblewrap): nothing is graded.
    GradingError
        The masters cannot be assigned.
    """
    root, out = Path(root).resolve(), Path(out).resolve()
    if out == root or root in out.parents or out in root.parents:
        raise ValueError(f"--out {out} overlaps the submissions folder {root}: nothing may be written there. "
                         "Choose another folder, e.g. --out grades.")
    entries = names.collect(root)
    if not entries:
        raise ValueError(f"No files in {root}: point at the folder holding the submitted notebooks.")
    sb.check_available()
    parameters = {**(parameters or {}), "profile": "offline"}
    private = Path(tempfile.mkdtemp(prefix="labhelpers-grade-private-"))
    base = Path(tempfile.mkdtemp(prefix="labhelpers-grade-", dir=RUN_BASE))
    try:
        base.chmod(0o711)
        if known is None:
            say(f"Reading the exercises in {solutions} ...")
            known = load_exercises(Path(solutions), private)
        if exercise is not None and exercise not in known:
            raise ValueError(f"No exercise {exercise} in {solutions}: choose one of {sorted(known)}.")
        ids = _identify(entries, known, exercise)
        names.check_unique([(sid, which, e.rel) for (sid, which), e in zip(ids, entries)])
        truth_sum = hashlib.sha256(standin.truth.read_bytes()).hexdigest()
        runs = base / "runs"
        runs.mkdir(mode=0o711)
        machine = run.Machine(Path(runtime), install_programs(base / "programs"), uid=uid,
                              limits=limits or sb.Limits(), work_bytes=work_bytes,
                              forbidden=[private, Path(solutions).resolve(), root, out, Path.home(),
                                         standin.truth.parent, *{ex.tests_dir for ex in known.values()}])
        out.mkdir(parents=True, exist_ok=True)
        results = []
        t0 = time.monotonic()
        for i, (entry, (sid, _)) in enumerate(zip(entries, ids), 1):
            say(f"[{i}/{len(entries)}] {sid}: {entry.rel} ...")
            r = grade_submission(entry, sid, known, exercise, machine, standin, parameters, runs,
                                 out / "executed", truth_sum)
            results.append(r)
            verdict = f"{r.score:g}/{r.possible:g}" if r.status == "graded" else f"{r.status}: {r.reason}"
            say(names.clean(f"[{i}/{len(entries)}] {sid} {r.exercise}: {verdict} in {r.seconds:.0f} s", 600))
        report.write_all(results, known, out, anonymise=anonymise, roster=roster)
        say(f"Graded {len(results)} file(s) in {time.monotonic() - t0:.0f} s: {out / 'grades.csv'}, "
            f"{out / 'canvas.csv'}, feedback in {out / 'feedback'}, written answers in {out / 'written'}.")
        return results
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(private, ignore_errors=True)
