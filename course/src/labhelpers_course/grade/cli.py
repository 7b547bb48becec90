"""``labhelpers grade``: the command line of grading.

::

    sudo .venv/bin/labhelpers grade SUBMISSIONS_DIR [--out grades] [--exercise N] [--resolution 200]
                                    [--timeout 900] [--memory 8] [--solutions solutions]
                                    [--anonymise] [--roster canvas-export.csv] [--sandbox-uid 64000]
    .venv/bin/labhelpers grade --manual grades/written/marks.csv [--out grades] [--roster ...]

Grading needs root (each submission runs as an unprivileged user of its own in a bubblewrap
sandbox on a tmpfs mounted for it) and the offline stand-in (used when running, else started
for the run and stopped after). Merging marks (``--manual``) needs neither.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import contextmanager
from pathlib import Path

__all__ = ["register", "standin_from_state"]


def standin_from_state(state: dict, say=print):
    """The running stand-in as grading needs it, from its state (``services.running()``).

    Parameters
    ----------
    state : dict
        The stand-in's state.
    say : callable

    Returns
    -------
    labhelpers_course.grade.run.Standin
        Its health check reads the state file again; its restart brings the same archive up on
        the same ports (``labhelpers offline up`` recovers from a dead server).
    """
    from labhelpers_course.grade.run import Standin
    from labhelpers_standin import services

    def healthy() -> bool:
        return services.is_healthy(services.read_state())

    standin = Standin(state["stac_url"], state["blob_url"], Path(state["archive"]) / "manifest.json", healthy)
    svc = state.get("services", {})

    def restart() -> None:
        ports = services.Ports(svc["postgres"]["port"], svc["stac"]["port"], svc["azurite"]["port"],
                               svc.get("gateway", {}).get("port", services.Ports.default().gateway),
                               svc.get("gateway", {}).get("proxy_port", services.Ports.default().gateway_proxy))
        say("The offline stand-in failed during a submission: restarting it (`labhelpers offline up`) ...")
        try:
            new = services.up(state["size"], ports, with_gateway="gateway" in svc, archive=Path(state["archive"]),
                              say=say)
        except Exception as err:  # reported through the health check: the submission is "not graded"
            say(f"The restart failed ({type(err).__name__}: {err}).")
            return
        standin.stac_url, standin.blob_url = new["stac_url"], new["blob_url"]

    if {"postgres", "stac", "azurite"} <= set(svc):
        standin.restart = restart
    return standin


@contextmanager
def _standin(say):
    from labhelpers_standin import services

    with services.running(say=say) as state:
        yield standin_from_state(state, say)


def _run(args) -> int:
    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    from labhelpers_course.errors import CourseError
    from labhelpers_course.grade import report

    out = Path(args.out)
    roster = Path(args.roster) if args.roster else None
    if args.manual:
        try:
            report.merge_marks(out, Path(args.manual), roster)
        except (ValueError, OSError) as err:
            say(f"error: {err}")
            return 1
        say(f"Merged {args.manual} into {out / 'grades.csv'}, the gradebooks and the feedback.")
        return 0
    if not args.submissions:
        say("error: give SUBMISSIONS_DIR (a folder of submitted notebooks), or --manual MARKS_CSV.")
        return 2
    root = Path(args.submissions)
    if not root.is_dir():
        say(f"error: {root} is not a folder of submissions.")
        return 1
    from labhelpers_course.grade import sandbox
    from labhelpers_course.grade.folder import grade_folder
    from labhelpers_standin import runtime
    from labhelpers_standin.errors import StandinError

    limits = sandbox.Limits(wall_seconds=args.timeout, address_space=int(args.memory * sandbox.GiB))
    params = {} if args.resolution is None else {"resolution": args.resolution}
    try:
        sandbox.check_available()
        runtime_dir = runtime.runtime_dir()
        with _standin(say) as standin:
            grade_folder(root, out, Path(args.solutions), standin, runtime=runtime_dir, exercise=args.exercise,
                         parameters=params, limits=limits, uid=args.sandbox_uid, anonymise=args.anonymise,
                         roster=roster, say=say)
    except (CourseError, StandinError, ValueError, OSError) as err:
        say(f"error: {err}")
        return 1
    return 0


def register(parser: argparse.ArgumentParser) -> None:
    """Options of ``labhelpers grade``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    """
    parser.add_argument("submissions", metavar="SUBMISSIONS_DIR", nargs="?",
                        help="folder of submissions: <student>/<exercise>.ipynb or <student>_<exercise>.ipynb")
    parser.add_argument("--exercise", type=int, help="grade every file as exercise N (default: read from each notebook)")
    parser.add_argument("--out", default="grades", help="where grades.csv, canvas.csv, feedback/ and written/ go "
                                                        "(default: ./grades)")
    parser.add_argument("--timeout", type=float, default=900, help="time limit per notebook, seconds (default 900)")
    parser.add_argument("--memory", type=float, default=8,
                        help="memory limit per process of a submission, GiB (default 8)")
    parser.add_argument("--resolution", type=float,
                        help="override the notebooks' `resolution` parameter (metres), e.g. 200 for a quick run")
    parser.add_argument("--solutions", type=Path, default=Path("solutions"),
                        help="folder of the master notebooks (default: ./solutions)")
    parser.add_argument("--anonymise", action="store_true",
                        help="written-answer pages and marks.csv without student ids (written/key.csv maps them)")
    parser.add_argument("--roster", help="a gradebook exported from Canvas: canvas.csv gets its names and ids")
    parser.add_argument("--manual", metavar="MARKS_CSV",
                        help="merge a filled-in written/marks.csv into --out (no grading, no root needed)")
    parser.add_argument("--sandbox-uid", type=int, default=64000,
                        help="first of the three unused uids grading runs as (default 64000: 64000-64002)")
    parser.set_defaults(func=_run)
