"""The ``labhelpers`` command: one entry point for the lab's three packages.

::

    labhelpers offline up|down|status|build   the local Planetary Computer stand-in  (labhelpers-standin)
    labhelpers hub up|down|status             the classroom JupyterHub with Dask Gateway (labhelpers-standin[hub])
    labhelpers run                            execute the lab notebooks with papermill (labhelpers-course)
    labhelpers exercises                      generate exercises/ from solutions/      (labhelpers-course)
    labhelpers grade SUBMISSIONS_DIR          grade student submissions offline        (labhelpers-course)
    labhelpers book                           the lab as an offline static site        (labhelpers-course)

The student library (this package) only dispatches: each command lives in the package named on
its right, imported only when that command runs (so ``labhelpers offline down`` stays fast). A
command whose package is not installed says what to install instead of failing on an import.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["COMMANDS", "main"]

#: command -> (module providing ``register(parser)``, distribution, one-line help)
COMMANDS = {
    "offline": ("labhelpers_standin.cli", "labhelpers-standin",
                "start, stop or build the offline Planetary Computer stand-in"),
    "hub": ("labhelpers_standin.hub.cli", "labhelpers-standin",
            "start, stop or inspect the classroom JupyterHub with Dask Gateway"),
    "run": ("labhelpers_course.run", "labhelpers-course", "execute the lab notebooks with papermill (.ipynb + HTML)"),
    "exercises": ("labhelpers_course.exercises", "labhelpers-course", "generate student exercises/ from solutions/"),
    "grade": ("labhelpers_course.grade", "labhelpers-course", "grade a folder of student submissions offline"),
    "book": ("labhelpers_course.book", "labhelpers-course", "build the lab as a static site that works offline"),
}

_INSTALL = {
    "labhelpers-standin": "pip install ./standin (from the lab's repository), or `make setup`",
    "labhelpers-course": "pip install ./course (from the lab's repository), or `make setup`",
}


def _load(name: str):
    """The module of command ``name``; SystemExit with the install hint when its package is missing."""
    module, dist, _ = COMMANDS[name]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        top = module.split(".")[0]
        if err.name is None or not (err.name == top or err.name.startswith(top + ".")):
            missing = err.name or "a package"
            raise SystemExit(
                f"`labhelpers {name}` needs {missing!r}, which is not installed in this environment "
                f"({sys.prefix}). Install the {dist} package with its dependencies: {_INSTALL[dist]}."
            ) from None
        raise SystemExit(
            f"`labhelpers {name}` is part of the {dist} package, which is not installed in this "
            f"environment ({sys.prefix}). Install it: {_INSTALL[dist]}."
        ) from None


def main(argv: list[str] | None = None) -> int:
    """Run the ``labhelpers`` command.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``labhelpers``; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 on success, 1 on a reported failure, 2 on a usage error.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="labhelpers", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, dist, help_) in COMMANDS.items():
        sub.add_parser(name, help=f"{help_} [{dist}]", add_help=False)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        parser.parse_args(argv)  # prints help or the error for an unknown command
        parser.print_help()
        return 2

    name = argv[0]
    module = _load(name)
    cmd_parser = argparse.ArgumentParser(prog=f"labhelpers {name}", description=COMMANDS[name][2])
    module.register(cmd_parser)
    args = cmd_parser.parse_args(argv[1:])
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
