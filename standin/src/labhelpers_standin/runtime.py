"""The student runtime: the Python environment unprivileged processes run in.

The classroom hub runs students' servers and kernels, and grading runs submissions, as
unprivileged accounts. Those cannot use the instructor's environment: its Python may live in a
private home (pyenv under ``/root``) and the checkout itself may be private. ``scripts/setup.sh``
(``make setup``) therefore builds a second virtual environment with the system Python, outside
the checkout and readable by everyone, holding a copy of the student library, JupyterLab,
ipykernel and otter-grader (``scripts/runtime-requirements.txt``), and records its location in
``<instructor environment>/etc/labhelpers/runtime``.

``LABHELPERS_RUNTIME_DIR`` overrides that location.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from labhelpers_standin.errors import StandinError

__all__ = ["runtime_dir", "python", "executable"]

_SETUP_HINT = "Build it with `make setup` (scripts/setup.sh), or point LABHELPERS_RUNTIME_DIR at one."


def runtime_dir() -> Path:
    """The student runtime's folder.

    Returns
    -------
    pathlib.Path
        ``LABHELPERS_RUNTIME_DIR``, else the folder recorded by ``make setup`` in this
        environment's ``etc/labhelpers/runtime``.

    Raises
    ------
    StandinError
        When neither is set, or the folder holds no Python.
    """
    configured = os.environ.get("LABHELPERS_RUNTIME_DIR")
    if not configured:
        record = Path(sys.prefix) / "etc" / "labhelpers" / "runtime"
        try:
            configured = record.read_text().strip()
        except OSError:
            raise StandinError(f"No student runtime is set up for {sys.prefix} (no {record}). {_SETUP_HINT}") from None
    folder = Path(configured)
    if not os.access(folder / "bin" / "python", os.X_OK):
        raise StandinError(f"The student runtime {folder} has no bin/python. {_SETUP_HINT}")
    return folder


def python() -> Path:
    """The student runtime's Python interpreter.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    StandinError
        As :func:`runtime_dir`.
    """
    return runtime_dir() / "bin" / "python"


def executable(name: str) -> Path:
    """A program installed in the student runtime, e.g. ``"jupyterhub-singleuser"``.

    Parameters
    ----------
    name : str

    Returns
    -------
    pathlib.Path

    Raises
    ------
    StandinError
        When the runtime or the program is missing.
    """
    path = runtime_dir() / "bin" / name
    if not os.access(path, os.X_OK):
        raise StandinError(f"The student runtime {runtime_dir()} has no {name}. {_SETUP_HINT}")
    return path
