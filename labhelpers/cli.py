"""The ``labhelpers`` command.

::

    labhelpers offline up|down|status|build   the local Planetary Computer stand-in
    labhelpers run                            execute every lab notebook with papermill
    labhelpers exercises                      generate exercises/ from solutions/
    labhelpers grade SUBMISSIONS_DIR          grade student submissions offline

Each sub-command lives in its own module, which provides ``register(subparsers)``; the
module is imported only when its command runs, so ``labhelpers offline down`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module, one-line help)
COMMANDS = {
    "offline": ("labhelpers.offline.cli", "start, stop or build the offline Planetary Computer stand-in"),
    "run": ("labhelpers.runner", "execute every lab notebook with papermill (executed .ipynb + HTML)"),
    "exercises": ("labhelpers.exercises", "generate student exercises/ from solutions/"),
    "grade": ("labhelpers.grading", "grade a folder of student submissions offline"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="labhelpers", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_) in COMMANDS.items():
        sub.add_parser(name, help=help_, add_help=False)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        args = parser.parse_args(argv)  # prints help or the error for an unknown command
        parser.print_help()
        return 2

    name = argv[0]
    module = importlib.import_module(COMMANDS[name][0])
    cmd_parser = argparse.ArgumentParser(prog=f"labhelpers {name}", description=COMMANDS[name][1])
    module.register(cmd_parser)
    args = cmd_parser.parse_args(argv[1:])
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
