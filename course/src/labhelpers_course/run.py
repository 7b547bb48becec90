"""``labhelpers run``: execute every lab notebook with papermill, as CI and instructors do.

Each notebook runs top to bottom in a fresh kernel, like a student pressing "Run all". Its
``parameters`` cell can be overridden (``-p resolution 200``), which is how the same notebook
runs on the Planetary Computer or on the offline stand-in. Executed notebooks and HTML copies
go to ``build/notebooks/``; the first failing cell stops the run with the notebook's name, the
cell number and the error.

``--update`` writes the executed notebooks back over ``notebooks/`` (outputs included): that is
how the committed outputs, which nbval checks, are regenerated. It injects no parameter cell;
the profile comes from ``LABHELPERS_PROFILE`` so the committed notebooks stay as students see them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

__all__ = ["notebooks", "execute", "to_html", "clean_metadata", "run", "register"]

#: Defaults, relative to the current directory (the lab's repository when run from its Makefile).
NOTEBOOKS = Path("notebooks")
OUT = Path("build") / "notebooks"


def notebooks(folder: Path = NOTEBOOKS, only: list[str] | None = None) -> list[Path]:
    """The lab notebooks in order (``01_…`` to ``06_…``).

    Parameters
    ----------
    folder : path, default ``notebooks``
    only : list of str, optional
        Keep only notebooks whose file name contains one of these.

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    SystemExit
        When the folder holds no lab notebook, or none matches ``only``.
    """
    found = sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise SystemExit(f"No lab notebooks (NN_*.ipynb) in {Path(folder).resolve()}: run from the lab's folder "
                         "or pass --notebooks DIR.")
    if only:
        found = [p for p in found if any(o in p.name for o in only)]
        if not found:
            raise SystemExit(f"No notebook in {folder} matches {only}.")
    return found


def _parse_value(text: str):
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def execute(path: Path, out: Path, parameters: dict, timeout: int, inject: bool = True) -> float:
    """Run one notebook with papermill into ``out``.

    Parameters
    ----------
    path : path
        The notebook.
    out : path
        Where the executed copy goes.
    parameters : dict
        Papermill parameters.
    timeout : int
        Seconds one cell may take.
    inject : bool, default True
        Inject ``parameters`` (False: run the notebook exactly as committed).

    Returns
    -------
    float
        Seconds taken.

    Raises
    ------
    papermill.PapermillExecutionError
        At the first failing cell (cells tagged ``raises-exception`` may raise).
    """
    import papermill

    t0 = time.monotonic()
    papermill.execute_notebook(
        str(path),
        str(out),
        parameters=parameters if inject else None,
        kernel_name="python3",
        cwd=str(path.parent),
        progress_bar=False,
        execution_timeout=timeout,
    )
    return time.monotonic() - t0


def to_html(ipynb: Path) -> Path:
    """An HTML copy of an executed notebook, next to it.

    Parameters
    ----------
    ipynb : path

    Returns
    -------
    pathlib.Path
        The ``.html`` file.
    """
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(ipynb))
    html = ipynb.with_suffix(".html")
    html.write_text(body, encoding="utf-8")
    return html


def clean_metadata(path: Path) -> None:
    """Drop what papermill and nbclient record per run (timestamps, durations, absolute paths),
    so a regenerated notebook differs from the committed one only where its outputs do.

    Parameters
    ----------
    path : path
        A notebook, rewritten in place.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)


def _failure(err) -> str:
    cell = getattr(err, "exec_count", None)
    ename, evalue = getattr(err, "ename", type(err).__name__), getattr(err, "evalue", str(err))
    return f"cell {cell}: {ename}: {evalue}" if cell is not None else f"{ename}: {evalue}"


def run(profile: str = "offline", out: Path = OUT, only=None, parameters: dict | None = None,
        timeout: int = 1800, update: bool = False, size: str = "ci", folder: Path = NOTEBOOKS) -> int:
    """Execute the notebooks; on the offline profile, start the stand-in first when needed (and stop it after).

    Parameters
    ----------
    profile : {"offline", "planetary-computer"}
    out : path
        Where executed notebooks and HTML go.
    only : list of str, optional
        See :func:`notebooks`.
    parameters : dict, optional
        Papermill parameters injected after each notebook's ``parameters`` cell.
    timeout : int
        Seconds one cell may take.
    update : bool
        Write the executed notebooks back over ``folder`` (regenerates committed outputs).
    size : {"ci", "full"}
        The offline archive to serve.
    folder : path
        The notebooks' folder.

    Returns
    -------
    int
        0 when every notebook ran, 1 at the first failing one.
    """
    if update and parameters:
        raise SystemExit("--update regenerates the committed notebooks as students see them: it takes no -p.")
    nbs = notebooks(folder, only)  # checked before any server starts
    if profile != "offline":
        return _run_all(profile, out, nbs, parameters, timeout, update)
    from labhelpers_standin import services

    with services.running(size):
        return _run_all(profile, out, nbs, parameters, timeout, update)


def _run_all(profile, out, nbs, parameters, timeout, update) -> int:
    os.environ["LABHELPERS_PROFILE"] = profile  # the kernels inherit it
    if profile == "offline":  # and find the stand-in wherever they run
        from labhelpers.settings import offline_dir

        os.environ["LABHELPERS_OFFLINE_DIR"] = str(offline_dir())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    params = {"profile": profile, **(parameters or {})}
    total = time.monotonic()
    for nb in nbs:
        target = out / nb.name
        print(f"running {nb.name} ...", flush=True)
        try:
            seconds = execute(nb, target, params, timeout, inject=not update)
        except Exception as err:  # papermill raises PapermillExecutionError with the cell
            print(f"FAILED {nb.name} at {_failure(err)}\n  executed copy (with the error): {target}")
            return 1
        html = to_html(target)
        print(f"  ok in {seconds:.0f} s -> {target}, {html.name}")
        if update:
            shutil.copyfile(target, nb)
            clean_metadata(nb)
    print(f"All notebooks ran in {time.monotonic() - total:.0f} s. Executed notebooks and HTML: {out}")
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    """Options of ``labhelpers run``."""
    parser.add_argument("--notebooks", type=Path, default=NOTEBOOKS,
                        help="folder of the lab notebooks (default: ./notebooks)")
    parser.add_argument("--profile", default="offline", choices=("offline", "planetary-computer"),
                        help="which world to run against (default: the offline stand-in, started if needed)")
    parser.add_argument("--out", type=Path, default=OUT, help="where executed notebooks and HTML go (default: ./build/notebooks)")
    parser.add_argument("--only", nargs="*", help="run only notebooks whose file name contains one of these")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                        help="override a parameter (Python literal), e.g. -p resolution 200")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds one cell may take")
    parser.add_argument("--size", default="ci", choices=("ci", "full"), help="offline archive size")
    parser.add_argument("--update", action="store_true",
                        help="write executed notebooks back to notebooks/ (regenerates committed outputs)")
    parser.set_defaults(func=lambda a: run(a.profile, a.out, a.only, {k: _parse_value(v) for k, v in a.parameter},
                                           a.timeout, a.update, a.size, a.notebooks))
