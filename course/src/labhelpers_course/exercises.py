"""``labhelpers exercises``: make the student notebooks in ``exercises/`` from ``solutions/``.

Each exercise has exactly one source: its master notebook in ``solutions/`` (otter-grader's
assignment format; see ``solutions/README.md``). It holds the question text, the solutions,
the public tests students may run and the hidden tests only the grader runs. Writing the
student version by hand would give two copies that drift apart (a fixed typo in one, a changed
variable name in the other, a hidden test leaked into the student copy). So the student version
is *generated*:

1. ``otter assign`` turns a master into a student notebook (solutions replaced by ``...``,
   written answers by a prompt, ``grader.check("q1")`` cells after each question, the public
   tests stored in the notebook's metadata so checks run with no extra files) and an
   autograder (all tests, hidden ones included), see :func:`assign`;
2. the student notebook is made *deterministic* (:func:`normalise`): otter gives new cells
   random ids and keeps whatever outputs the master had, so two runs on the same master
   would differ; we number cell ids, drop outputs and editor metadata;
3. it is written to ``exercises/`` under the master's file name.

``labhelpers exercises --check`` regenerates into memory and compares with the committed
``exercises/``: exit status 1 (naming the stale files) when someone edited ``exercises/`` by hand
or changed a solution without regenerating. CI runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

import nbformat

__all__ = ["masters", "assign", "normalise", "generate", "stale", "register"]

#: Defaults, relative to the current directory (the lab's repository when run from its Makefile).
SOLUTIONS = Path("solutions")
EXERCISES = Path("exercises")

#: Notebook-level metadata kept in student notebooks: what Jupyter needs to pick the kernel and
#: what ``grader.check`` needs (the assignment name and the public tests live under "otter").
KEEP_NOTEBOOK_METADATA = ("kernelspec", "language_info", "otter")
#: Cell metadata kept: tags (``parameters`` for papermill, ``otter_answer_cell``) and otter's
#: locks on question and check cells.
KEEP_CELL_METADATA = ("tags", "deletable", "editable")


def masters(solutions: Path = SOLUTIONS) -> list[Path]:
    """The master notebooks, sorted (``ex1_*.ipynb``, ``ex2_*.ipynb``, ...).

    Parameters
    ----------
    solutions : path, default ``solutions``

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    FileNotFoundError
        When the folder holds no master.
    """
    found = sorted(Path(solutions).glob("ex*.ipynb"))
    if not found:
        raise FileNotFoundError(f"No master notebooks (ex*.ipynb) in {Path(solutions).resolve()}: run from the "
                                "lab's folder or pass --solutions DIR.")
    return found


def assign(master: Path, dest: Path) -> Path:
    """Run ``otter assign`` on ``master`` into ``dest``; return ``dest``.

    ``dest/student/<master name>`` is the student notebook and ``dest/autograder/`` holds the
    autograder zip with every test (``tests/<question>.py``). Tests are not run against the
    solutions here (that needs the offline stand-in; ``tests/services/test_grading.py`` does
    it), and no PDFs are made. otter's own chatter is captured and shown only when it fails.

    Parameters
    ----------
    master : path
        An otter-format master notebook.
    dest : path
        An empty or new folder.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    RuntimeError
        When otter assign fails; the message has otter's output and what to check.
    """
    import logging

    from otter import logging as otter_logging
    from otter.assign import main as otter_assign

    log = io.StringIO()
    try:
        # quiet: otter warns "no autograded tests" for the written-answer exercises, by design
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log), \
                otter_logging.level_context(logging.ERROR):
            otter_assign(str(master), str(dest), no_run_tests=True, no_pdfs=True)
    except Exception as err:
        raise RuntimeError(
            f"otter assign failed on {master.name}: {type(err).__name__}: {err}\n{log.getvalue()}"
            "Check the master's BEGIN/END QUESTION, SOLUTION and TESTS cells (solutions/README.md)."
        ) from err
    return dest


def normalise(nb: nbformat.NotebookNode, stem: str) -> nbformat.NotebookNode:
    """Make a generated student notebook byte-for-byte repeatable.

    Cell ids become ``<stem>-<n>`` (otter draws random ones), outputs and execution counts go
    (students run the notebook themselves; outputs in the master could also carry machine
    paths), and only the metadata in :data:`KEEP_NOTEBOOK_METADATA` and
    :data:`KEEP_CELL_METADATA` is kept.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook otter wrote (changed in place).
    stem : str
        The master's file stem, used in cell ids.

    Returns
    -------
    nbformat.NotebookNode
    """
    nb.metadata = nbformat.from_dict({k: nb.metadata[k] for k in KEEP_NOTEBOOK_METADATA if k in nb.metadata})
    for n, cell in enumerate(nb.cells):
        cell.id = f"{stem}-{n}"
        cell.metadata = nbformat.from_dict({k: cell.metadata[k] for k in KEEP_CELL_METADATA if k in cell.metadata})
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.pop("attachments", None)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def generate(solutions: Path = SOLUTIONS) -> dict[str, str]:
    """The student notebooks for every master in ``solutions``.

    Parameters
    ----------
    solutions : path, default ``solutions``

    Returns
    -------
    dict of str to str
        ``{file name: notebook text}``, deterministic (see :func:`normalise`).
    """
    out = {}
    with tempfile.TemporaryDirectory(prefix="labhelpers-assign-") as tmp:
        for master in masters(solutions):
            dist = assign(master, Path(tmp) / master.stem)
            nb = nbformat.read(dist / "student" / master.name, as_version=4)
            nbformat.validate(normalise(nb, master.stem))
            out[master.name] = nbformat.writes(nb) + "\n"
    return out


def stale(generated: dict[str, str], exercises: Path = EXERCISES) -> list[str]:
    """Names of notebooks in ``exercises`` that differ from ``generated``, are missing, or are extra.

    Parameters
    ----------
    generated : dict of str to str
        From :func:`generate`.
    exercises : path, default ``exercises``

    Returns
    -------
    list of str
    """
    on_disk = {p.name: p.read_text() for p in sorted(exercises.glob("*.ipynb"))}
    names = sorted(set(on_disk) | set(generated))
    return [n for n in names if on_disk.get(n) != generated.get(n)]


def _run(args) -> int:
    solutions, exercises = Path(args.solutions), Path(args.exercises)
    generated = generate(solutions)
    differ = stale(generated, exercises)
    if args.check:
        if differ:
            print(
                f"{exercises} is out of date with {solutions}: {', '.join(differ)}. Run `labhelpers "
                "exercises` (or `make exercises`) and commit the result; never edit exercises/ by hand.",
                file=sys.stderr,
            )
            return 1
        print(f"{exercises} matches {solutions} ({len(generated)} notebooks).")
        return 0
    exercises.mkdir(parents=True, exist_ok=True)
    for name in differ:
        path = exercises / name
        if name in generated:
            path.write_text(generated[name])
            print(f"wrote {path}")
        else:
            path.unlink()
            print(f"removed {path} (no master for it in {solutions})")
    if not differ:
        print(f"{exercises} already matches {solutions} ({len(generated)} notebooks).")
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    """Options of ``labhelpers exercises``."""
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if exercises/ differs from a fresh generation (for CI)")
    parser.add_argument("--solutions", default=str(SOLUTIONS), help="folder of master notebooks (default: solutions/)")
    parser.add_argument("--exercises", default=str(EXERCISES), help="folder of student notebooks (default: exercises/)")
    parser.set_defaults(func=_run)
