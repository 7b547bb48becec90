"""Bring the whole offline Planetary Computer up, report on it, and take it down.

``up`` is one transaction over four servers: either every service is running and healthy and
the state file says where, or nothing this ``up`` started is left running. The order follows
the dependencies, and the slow parts overlap:

1. the archive is built if missing (``build.build``), every port is checked free;
2. PostgreSQL starts (initdb on first use); Azurite and the Dask Gateway are spawned meanwhile;
3. uvicorn (the STAC API) is spawned as soon as PostgreSQL answers, so its imports overlap with
   the catalog work: pgstac migration + load (skipped when unchanged) runs in parallel with the
   blob upload (skipped per container when unchanged);
4. each service is polled until healthy, then the state file is written atomically.

The state file (:mod:`labhelpers_standin.state`, mode 0600) is the contract with the rest of the lab:
``labhelpers.settings`` reads ``stac_url``, ``blob_url`` and ``gateway``; ``down`` and
``status`` read ``services`` (pid + process start time + log + port per server).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from labhelpers_standin import catalog, daskconfig
from labhelpers_standin.servers import azurite, gateway, postgres, stacapi
from labhelpers_standin.archive.build import built_version
from labhelpers_standin.errors import StandinError
from labhelpers_standin.processes import HOST, Proc, check_port_free, stop
from labhelpers_standin import state as _state
from labhelpers_standin.state import logs_dir

__all__ = ["Ports", "check", "is_healthy", "up", "down", "running", "read_state", "logs_dir"]


@dataclass(frozen=True)
class Ports:
    """Where each server listens on 127.0.0.1 (``--pg-port`` etc. on the command line).

    The defaults can be moved as a block with ``LABHELPERS_OFFLINE_PORT_BASE=N`` (PostgreSQL on N,
    the STAC API on N+1, Azurite on N+2, the gateway on N+3 and its scheduler proxy on N+4), so two
    stand-ins (two checkouts, two CI jobs) can run side by side: see :meth:`default`.
    """

    postgres: int = 54329
    stac: int = 8011
    blob: int = 10000
    gateway: int = 8012
    gateway_proxy: int = 8013

    @classmethod
    def default(cls) -> "Ports":
        """The default ports, moved to ``LABHELPERS_OFFLINE_PORT_BASE`` when it is set.

        Raises
        ------
        StandinError
            When the variable is not a port number with room for five ports.
        """
        base = os.environ.get("LABHELPERS_OFFLINE_PORT_BASE")
        if not base:
            return cls()
        if not base.isdigit() or not 1024 <= int(base) <= 65530:
            raise StandinError(f"LABHELPERS_OFFLINE_PORT_BASE={base!r} must be a port number from 1024 to 65530.")
        b = int(base)
        return cls(b, b + 1, b + 2, b + 3, b + 4)


def read_state() -> dict | None:
    """The running stand-in's state file, or None when none was started here."""
    return _state.load()


def _procs(state: dict) -> dict[str, Proc]:
    return {name: Proc.from_dict(s) for name, s in state.get("services", {}).items()}


def check(state: dict) -> dict[str, dict]:
    """Per service: is its process alive, and does it answer its health check."""
    svc = state["services"]
    probes = {
        "postgres": lambda: postgres.healthy(svc["postgres"]["port"]),
        "azurite": lambda: azurite.healthy(svc["azurite"]["port"]),
        "stac": lambda: stacapi.healthy(svc["stac"]["port"], state.get("collections", [])),
        "gateway": lambda: gateway.healthy(svc["gateway"]["port"]),
    }
    out = {}
    for name, proc in _procs(state).items():
        alive = proc.alive()
        out[name] = {**svc[name], "alive": alive, "healthy": alive and probes[name]()}
    return out


def is_healthy(state: dict | None) -> bool:
    return bool(state) and all(s["healthy"] for s in check(state).values())


def _archive(size: str, archive: Path | None) -> Path:
    if archive is None:
        from labhelpers_standin.archive.build import build

        return build(size)
    archive = Path(archive).resolve()
    if built_version(archive) is None:
        raise StandinError(f"{archive} is not a complete archive (no BUILD_OK): build it with `labhelpers offline build`.")
    return archive


def up(
    size: str = "ci",
    ports: Ports | None = None,
    with_gateway: bool = True,
    archive: Path | None = None,
    say=print,
) -> dict:
    """Start every service (see the module docstring) and return the state; idempotent when healthy."""
    with _state.exclusive():
        return _up(size, ports or Ports.default(), with_gateway, archive, say)


def _up(size: str, ports: Ports, with_gateway: bool, archive: Path | None, say) -> dict:
    state = read_state()
    if state is not None:
        if is_healthy(state):
            if state["size"] != size or (archive and Path(state["archive"]) != Path(archive).resolve()):
                raise StandinError(
                    f"The stand-in is already running with archive {state['archive']}. "
                    "Stop it first with `labhelpers offline down`."
                )
            state["already_running"] = True
            return state
        say("Found a state file whose services are not all healthy: stopping what is left of them.")
        _down()

    t0 = time.monotonic()
    root = _archive(size, archive)
    t_build = time.monotonic() - t0
    wanted = [
        (ports.postgres, "PostgreSQL server", "--pg-port"),
        (ports.stac, "STAC API", "--stac-port"),
        (ports.blob, "Azurite blob server", "--blob-port"),
    ]
    if with_gateway:
        wanted += [(ports.gateway, "Dask Gateway", "--gateway-port"), (ports.gateway_proxy, "Dask Gateway scheduler proxy", "--gateway-proxy-port")]
    if len({p for p, _, _ in wanted}) != len(wanted):
        raise StandinError(f"Two services were given the same port: {sorted(p for p, _, _ in wanted)}.")
    for port, what, option in wanted:
        check_port_free(port, what, option)

    logs = logs_dir()
    blob_url = azurite.blob_url(ports.blob)
    accounts = sorted({a for a, _ in azurite.containers(root)})
    collections = sorted(p.stem for p in (root / "stac" / "collections").glob("*.json"))
    started: dict[str, Proc] = {}
    try:
        started["azurite"], keys = azurite.start(ports.blob, logs / "azurite.log", accounts)
        if with_gateway:
            started["gateway"], auth = gateway.start(ports.gateway, ports.gateway_proxy, logs / "gateway.log")
        started["postgres"] = postgres.start(ports.postgres, logs / "postgres.log")
        started["stac"] = stacapi.start(ports.stac, ports.postgres, logs / "stac.log")

        def load_catalog() -> bool:
            dsn = postgres.dsn(ports.postgres)
            catalog.migrate(dsn)
            return catalog.load(dsn, root, blob_url)

        def load_blobs() -> int:
            azurite.wait(started["azurite"], ports.blob)
            uploaded = azurite.publish(root, ports.blob, keys)
            azurite.check_anonymous_range_read(root, ports.blob)
            return uploaded

        with ThreadPoolExecutor(2) as pool:
            loaded, uploaded = pool.submit(load_catalog), pool.submit(load_blobs)
            if with_gateway:
                gateway.wait(started["gateway"], ports.gateway)
            loaded, uploaded = loaded.result(), uploaded.result()
        stacapi.wait(started["stac"], ports.stac, collections)
    except BaseException:
        _stop_all(started)
        raise

    services = {name: proc.to_dict() for name, proc in started.items()}
    services["postgres"].update(port=ports.postgres, url=f"postgresql://{HOST}:{ports.postgres}/{postgres.DATABASE}")
    services["azurite"].update(port=ports.blob, url=f"http://{HOST}:{ports.blob}")
    services["stac"].update(port=ports.stac, url=stacapi.url(ports.stac))
    if with_gateway:
        services["gateway"].update(port=ports.gateway, proxy_port=ports.gateway_proxy, url=gateway.address(ports.gateway))
    state = {
        "version": _state.VERSION,
        "size": size,
        "archive": str(root),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "stac_url": stacapi.url(ports.stac),
        "blob_url": blob_url,
        "gateway": {
            "address": gateway.address(ports.gateway),
            "proxy_address": gateway.proxy_address(ports.gateway_proxy),
            "auth": auth,
        } if with_gateway else None,
        "collections": collections,
        "services": services,
    }
    _state.save(state)
    if with_gateway:  # a bare GatewayCluster() in this Python environment finds the gateway
        daskconfig.configure(state["gateway"], _state.offline_dir(), say)
    # Reported, not stored: how this `up` went.
    return {**state, "timings": {"build": round(t_build, 2), "total": round(time.monotonic() - t0, 2)},
            "catalog_loaded": loaded, "blobs_uploaded": uploaded}


def _stop_proc(name: str, proc: Proc) -> bool:
    was_alive = proc.alive()
    if name == "postgres" and was_alive:
        postgres.stop_server()  # the clean shutdown: checkpoint, then exit
    stop(proc)  # SIGTERM, then SIGKILL, to the process group (a no-op when already gone)
    if name == "gateway":
        for p in gateway.leftover_cluster_processes():  # killed gateways cannot stop their clusters
            p.kill()
    return was_alive


def _stop_all(procs: dict[str, Proc]) -> list[str]:
    """Stop every process concurrently (each takes a second or two to shut down cleanly)."""
    with ThreadPoolExecutor(max(len(procs), 1)) as pool:
        stopped = dict(zip(procs, pool.map(_stop_proc, procs, procs.values())))
    return [name for name, was_alive in stopped.items() if was_alive]


def down(say=print) -> list[str]:
    """Stop exactly the processes in the state file, then remove it. Returns the names stopped."""
    with _state.exclusive():
        if read_state() is None:
            say("The offline stand-in is not running (no state file).")
            return []
        return _down()


def _down() -> list[str]:
    stopped = _stop_all(_procs(read_state()))
    _state.remove()
    daskconfig.remove_gateway_config(_state.offline_dir())  # only the file this stand-in's up wrote
    return stopped


@contextmanager
def running(size: str | None = None, ports: Ports | None = None, say=print):
    """The stand-in for one job (a test session, a notebook run, a grading run, a benchmark).

    A healthy stand-in that is already running is used and left running: with ``size=None``
    whichever archive it serves, with a size only that one (``up`` refuses another, saying how to
    stop it). Otherwise one is started here (``size`` or ``"ci"``) and stopped when the job ends,
    also when the job fails.
    """
    state = read_state()
    if is_healthy(state) and size in (None, state["size"]):
        say(f"Using the running offline Planetary Computer (STAC API {state['stac_url']}).")
        started = False
    else:
        say("Starting the offline Planetary Computer for this run (`labhelpers offline up`) ...")
        state = up(size or "ci", ports, say=say)
        started = not state.get("already_running")
    try:
        yield state
    finally:
        if started:
            say("Stopping the offline Planetary Computer started for this run.")
            down(say=say)
