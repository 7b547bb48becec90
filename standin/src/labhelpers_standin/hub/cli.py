"""``labhelpers hub up | down | status``: the command line of the classroom hub.

::

    labhelpers hub up --class-list FILE [--profile offline|planetary-computer] [--notebooks DIR]
                      [--port P] [--listen ADDR] [--account NAME] [--max-workers N] ...
    labhelpers hub status
    labhelpers hub down

Every sub-command takes ``--folder`` (default ``<offline dir>/hub``). Exit status 0 on success
(also ``down`` when nothing runs), 1 with a message saying what to do otherwise; ``status`` exits
1 when the hub is not running. Passwords are never printed: ``up`` prints the path of the
credentials file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from labhelpers_standin.errors import StandinError
from labhelpers_standin.cli import guarded

__all__ = ["LISTEN_HELP", "register", "settings_from_args"]

LISTEN_HELP = """address the hub listens on (default 127.0.0.1: this machine only). `--listen 0.0.0.0` opens
it to the classroom network: anyone who can reach the machine sees the login page, logins and
notebooks travel unencrypted (plain HTTP: put a TLS reverse proxy in front and pass --public-url, or
use it only on a network you trust), and every student's code runs on this machine as one shared
account (docs/hub.md)."""


def _ports(text: str) -> tuple[int, int]:
    try:
        low, high = (int(x) for x in text.split("-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH, e.g. 8020-8099; got {text!r}") from None
    if not 1024 <= low <= high <= 65535:
        raise argparse.ArgumentTypeError(f"need 1024 <= LOW <= HIGH <= 65535; got {text!r}")
    return low, high


def _offline_env() -> dict[str, str]:
    """The running stand-in's public URLs, for students' kernels (its state file is private).

    Raises
    ------
    StandinError
        When the stand-in is not running or not healthy.
    """
    from labhelpers_standin import services
    from labhelpers_standin.state import state_file

    state = services.read_state()
    if state is None or not services.is_healthy(state):
        raise StandinError(
            f"--profile offline: the offline stand-in is not running and healthy here ({state_file()}). "
            "Start it first with `labhelpers offline up` (or `make hub-up`, which does both), or set "
            "LABHELPERS_OFFLINE_DIR to its folder."
        )
    return {"LABHELPERS_STAC_URL": state["stac_url"], "LABHELPERS_BLOB_URL": state["blob_url"]}


def settings_from_args(args: argparse.Namespace):
    """The :class:`~labhelpers_standin.hub.config.HubSettings` of ``labhelpers hub up``'s options.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed ``up`` options.

    Returns
    -------
    HubSettings

    Raises
    ------
    StandinError
        A bad class list, a missing student runtime, or ``--profile offline`` without a running
        stand-in.
    """
    from labhelpers_standin import runtime
    from labhelpers_standin.hub.classlist import read_class_list
    from labhelpers_standin.hub.config import HubSettings
    from labhelpers_standin.hub.folders import shared_folder

    folder = args.folder.expanduser().resolve()
    account = args.account if args.account is not None else ("labhub" if os.geteuid() == 0 else "")
    users = tuple(read_class_list(args.class_list))
    student_env = _offline_env() if args.profile == "offline" else {}
    runtime_dir = runtime.runtime_dir()
    if account:
        from labhelpers_standin.hub.folders import account_ids

        account_ids(account)  # a clear error for a missing account before anything else
    return HubSettings(
        folder=folder,
        shared=shared_folder(folder, account),
        users=users,
        notebooks=args.notebooks.expanduser().resolve(),
        runtime=runtime_dir,
        port=args.port,
        listen=args.listen,
        public_url=args.public_url,
        server_ports=args.server_ports or (args.port + 20, args.port + 99),
        account=account,
        profile=args.profile,
        student_env=student_env,
        max_clusters=args.max_clusters,
        max_workers=args.max_workers,
        max_worker_cores=args.max_worker_cores,
        worker_memory_gib=args.worker_memory,
        max_worker_memory_gib=max(args.max_worker_memory, args.worker_memory),
        server_idle_timeout=args.server_idle,
        cluster_idle_timeout=args.cluster_idle,
        python=sys.executable,
        chp=args.proxy,
    )


def _up(args) -> int:
    from labhelpers_standin.hub.lifecycle import up

    settings = settings_from_args(args)
    state = up(settings, renew_passwords=args.new_passwords)
    world = ("the offline stand-in" if settings.profile == "offline" else "the Planetary Computer")
    print(f"Classroom hub running at {state['url']} (started in {state['startup_seconds']['hub_and_gateway']:.1f} s; "
          f"{len(settings.users)} students; their notebooks use {world}).")
    print(f"Credentials to hand out: {state['credentials']} (readable by you only)")
    print("Students open the URL, log in, and find the lab's notebooks in their home folder.")
    print("Stop it with `labhelpers hub down`.")
    return 0


def _down(args) -> int:
    from labhelpers_standin.hub.lifecycle import down

    stopped = down(args.folder.expanduser())
    print("\n".join(f"stopped {s}" for s in stopped) or "The classroom hub is not running.")
    return 0


def _status(args) -> int:
    from labhelpers_standin.hub.lifecycle import status

    st = status(args.folder.expanduser())
    if not st["running"]:
        print("The classroom hub is not running. Start it with `labhelpers hub up --class-list FILE`.")
        if st["leftover_processes"]:
            print(f"{st['leftover_processes']} of its processes are still running: stop them with `labhelpers hub down`.")
        return 1
    yes = {True: "yes", False: "NO"}
    print(f"url:          {st['url']}")
    print(f"credentials:  {st['credentials']}")
    print(f"hub healthy:  {yes[st['hub_healthy']]}   gateway healthy: {yes[st['gateway_healthy']]}")
    print(f"servers:      {', '.join(st['servers']) or '(none)'}")
    print(f"dask processes: {st['dask_processes']}")
    return 0 if st["hub_healthy"] and st["gateway_healthy"] else 1


def _guarded(func):
    return guarded(func, lambda args: f"labhelpers hub {args.action}")


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``up``, ``down`` and ``status`` sub-commands to ``labhelpers hub``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The parser of ``labhelpers hub``.
    """
    from labhelpers_standin.hub.config import default_port
    from labhelpers_standin.hub.folders import default_folder

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    folder_help = f"the hub's folder (default {default_folder()}: beside the offline stand-in's files)"
    port = default_port()

    up = sub.add_parser("up", help="start the hub; prints its URL and the credentials file")
    up.add_argument("--folder", type=Path, default=default_folder(), help=folder_help)
    up.add_argument("--class-list", type=Path, required=True, help="file with one student user name per line")
    up.add_argument("--profile", choices=["offline", "planetary-computer"], default="planetary-computer",
                    help="the world students' notebooks use (offline: the running stand-in; default planetary-computer)")
    up.add_argument("--notebooks", type=Path, default=Path("notebooks"),
                    help="the lab's notebooks, copied into new homes (default ./notebooks)")
    up.add_argument("--port", type=int, default=port,
                    help=f"public port; the hub also uses the next 5 (default {port}; LABHELPERS_OFFLINE_PORT_BASE+10)")
    up.add_argument("--listen", default="127.0.0.1", help=LISTEN_HELP)
    up.add_argument("--public-url", default="", help="the URL students type, for dashboard links (default http://LISTEN:PORT)")
    up.add_argument("--server-ports", type=_ports, default=None,
                    help="ports for students' servers, LOW-HIGH (default PORT+20 to PORT+99)")
    up.add_argument("--account", default=None,
                    help="the unprivileged account students' code runs as (default labhub when root; "
                         "none, i.e. yourself, otherwise)")
    up.add_argument("--max-workers", type=int, default=4, help="workers per student cluster (default 4)")
    up.add_argument("--max-worker-cores", type=int, default=1, help="cores a worker may ask for (default 1)")
    up.add_argument("--max-clusters", type=int, default=1, help="clusters per student at once (default 1)")
    up.add_argument("--worker-memory", type=float, default=1.0, help="GiB per worker by default (default 1)")
    up.add_argument("--max-worker-memory", type=float, default=2.0, help="largest GiB per worker (default 2)")
    up.add_argument("--server-idle", type=int, default=3600,
                    help="seconds before an idle student server is stopped (default 3600)")
    up.add_argument("--cluster-idle", type=int, default=1800,
                    help="seconds before an idle kernel and its cluster are stopped (default 1800)")
    up.add_argument("--proxy", default="configurable-http-proxy",
                    help="configurable-http-proxy executable (default: on PATH or beside this Python)")
    up.add_argument("--new-passwords", action="store_true", help="give every student a new password")
    up.set_defaults(func=_guarded(_up))

    down = sub.add_parser("down", help="stop the hub and everything it started (homes and credentials stay)")
    down.add_argument("--folder", type=Path, default=default_folder(), help=folder_help)
    down.set_defaults(func=_guarded(_down))
    status = sub.add_parser("status", help="whether the hub runs, its health, who has a server")
    status.add_argument("--folder", type=Path, default=default_folder(), help=folder_help)
    status.set_defaults(func=_guarded(_status))
