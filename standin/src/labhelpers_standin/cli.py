"""``labhelpers offline up|down|status|build``: the command line of the local Planetary Computer.

::

    labhelpers offline up [--size ci|full] [--stac-port P] [--blob-port P] [--pg-port P]
                          [--gateway-port P] [--gateway-proxy-port P] [--no-gateway] [--archive DIR]
    labhelpers offline status [--verify]
    labhelpers offline down
    labhelpers offline build [--size ci|full] [--force]

Exit status 0 on success (also ``up`` when already running, ``down`` when nothing runs),
1 with a message saying what to do otherwise (``status``: anything unhealthy, a server of ours the
state file does not list, or a blob store that differs from the archive). Secrets are never printed.
"""

from __future__ import annotations

import argparse
import sys
import time

from labhelpers_standin.archive.layout import SIZES
from labhelpers_standin.errors import StandinError


__all__ = ["register"]


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _service_rows(services: dict, with_health: bool) -> list[list[str]]:
    head = ["service", "url", "pid"] + (["alive", "healthy"] if with_health else ["log"])
    rows = [head]
    for name, s in services.items():
        url = s["url"] + (f" (scheduler proxy :{s['proxy_port']})" if "proxy_port" in s else "")
        tail = ["yes" if s["alive"] else "no", "yes" if s["healthy"] else "no"] if with_health else [s["log"]]
        rows.append([name, url, str(s["pid"])] + tail)
    return rows


def _up(args) -> int:
    from labhelpers_standin import services

    given = {"postgres": args.pg_port, "stac": args.stac_port, "blob": args.blob_port, "gateway": args.gateway_port,
             "gateway_proxy": args.gateway_proxy_port}
    ports = None
    if any(v is not None for v in given.values()):
        base = services.Ports.last_or_default()
        ports = services.Ports(**{k: getattr(base, k) if v is None else v for k, v in given.items()})
    state = services.up(args.size, ports, with_gateway=not args.no_gateway, archive=args.archive,
                        say=lambda m: print(m, file=sys.stderr))
    if state.get("already_running"):
        print(f"The offline Planetary Computer is already running and healthy (STAC API {state['stac_url']}).")
        return 0
    print(_table(_service_rows(state["services"], with_health=False)))
    t = state["timings"]
    print(f"\nReady in {t['total']:.1f} s (archive {t['build']:.1f} s; catalog "
          f"{'loaded' if state['catalog_loaded'] else 'unchanged'}; {state['blobs_uploaded']} blobs uploaded).")
    print("Use it from notebooks with LABHELPERS_PROFILE=offline; stop it with `labhelpers offline down`.")
    return 0


def _down(args) -> int:
    from labhelpers_standin import services

    t0 = time.monotonic()
    stopped = services.down()
    if stopped:
        print(f"Stopped {', '.join(stopped)} in {time.monotonic() - t0:.1f} s.")
    return 0


def _status(args) -> int:
    from labhelpers_standin import services

    report = services.status(verify=args.verify)
    state, orphans = report["state"], report["orphans"]
    if report["problem"]:
        print(f"The state file is unusable: {report['problem']}")
    if state is None and not orphans:
        print("The offline Planetary Computer is not running. Start it with `labhelpers offline up`.")
        return 1
    if state is not None:
        print(f"archive: {state['archive']}  (started {state.get('started_at', '?')})")
        print(_table(_service_rows(report["services"], with_health=True)))
        if not all(s["healthy"] for s in report["services"].values()):
            print("\nSome services are unhealthy: see their logs in", services.logs_dir(),
                  "and restart with `labhelpers offline up` (it stops what is left first).")
    if orphans:
        print(f"\n{len(orphans)} server process(es) of this folder's stand-in are not in the state file: "
              + ", ".join(f"{p.name} (pid {p.pid})" for p in orphans) + ". Stop them with `labhelpers offline down`.")
    blobs = report["blobs"]
    if blobs:
        print(f"\nThe blob store differs from the archive ({len(blobs)} blob(s)):\n  " + "\n  ".join(blobs[:10])
              + ("\n  ..." if len(blobs) > 10 else "") + "\nRepair it with `labhelpers offline up`.")
    elif blobs is not None:
        print(f"\nblob store: matches the archive ({'SHA-256 of every blob' if args.verify else 'ETags and sizes'}).")
    return 0 if report["ok"] else 1


def _build(args) -> int:
    from labhelpers_standin.archive.build import build

    t0 = time.monotonic()
    root = build(args.size, force=args.force)
    print(f"Archive ready at {root} ({time.monotonic() - t0:.1f} s).")
    return 0


def guarded(func, prefix=lambda args: "error"):
    """``func(args)`` with a StandinError printed as one line after ``prefix(args)`` (exit status 1)."""
    def run(args) -> int:
        try:
            return func(args)
        except StandinError as e:
            print(f"{prefix(args)}: {e}", file=sys.stderr)
            return 1

    return run


def register(parser: argparse.ArgumentParser) -> None:
    """Add the ``up``, ``down``, ``status`` and ``build`` sub-commands to ``labhelpers offline``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``labhelpers offline`` parser.
    """
    from labhelpers_standin.services import Ports

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    d = Ports.last_or_default()
    last = "the last `up` here, else "

    up = sub.add_parser("up", help="build what is missing, start every service, wait until healthy")
    up.add_argument("--size", choices=SIZES, default="ci", help="archive size (default: ci)")
    up.add_argument("--pg-port", type=int, help=f"PostgreSQL port (default: {last}{d.postgres})")
    up.add_argument("--stac-port", type=int, help=f"STAC API port (default: {last}{d.stac})")
    up.add_argument("--blob-port", type=int, help=f"Azurite blob port (default: {last}{d.blob})")
    up.add_argument("--gateway-port", type=int, help=f"Dask Gateway port (default: {last}{d.gateway})")
    up.add_argument("--gateway-proxy-port", type=int,
                    help=f"Dask Gateway scheduler proxy port (default: {last}{d.gateway_proxy})")
    up.add_argument("--no-gateway", action="store_true", help="do not start the Dask Gateway (notebooks use a LocalCluster)")
    up.add_argument("--archive", help="serve this ready archive folder instead of building archive/<size>")
    up.set_defaults(func=guarded(_up))

    sub.add_parser("down", help="stop the services listed in the state file").set_defaults(func=guarded(_down))
    st = sub.add_parser("status", help="show each service, its URL, pid and health, and check the blob store")
    st.add_argument("--verify", action="store_true", help="compare every blob's SHA-256 with the archive (slower)")
    st.set_defaults(func=guarded(_status))

    build = sub.add_parser("build", help="build the offline archive (only what is missing)")
    build.add_argument("--size", choices=SIZES, default="ci", help="archive size (default: ci)")
    build.add_argument("--force", action="store_true", help="rebuild even when a complete archive exists")
    build.set_defaults(func=guarded(_build))
