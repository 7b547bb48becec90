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

The state file (``settings.state_file()``, mode 0600) is the contract with the rest of the lab:
``labhelpers.settings`` reads ``stac_url``, ``blob_url`` and ``gateway``; ``down`` and
``status`` read ``services`` (pid + process start time + log + port per server).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from labhelpers.offline import azurite, catalog, gateway, postgres, stacapi
from labhelpers.offline.build import built_version
from labhelpers.offline.processes import HOST, Proc, ServiceError, check_port_free, stop
from labhelpers.settings import offline_dir, state_file

STATE_VERSION = 1


@dataclass(frozen=True)
class Ports:
    """Where each server listens on 127.0.0.1 (``--pg-port`` etc. on the command line)."""

    postgres: int = 54329
    stac: int = 8011
    blob: int = 10000
    gateway: int = 8012
    gateway_proxy: int = 8013


def logs_dir() -> Path:
    return offline_dir() / "logs"


@contextmanager
def _exclusive():
    """One ``up`` or ``down`` at a time per offline folder (two test sessions may start together)."""
    offline_dir().mkdir(parents=True, exist_ok=True)
    with open(offline_dir() / ".services.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_state() -> dict | None:
    try:
        return json.loads(state_file().read_text())
    except FileNotFoundError:
        return None


def _write_state(state: dict) -> None:
    """Write the state file atomically (tmp + rename) and private (it holds the gateway password)."""
    path = state_file()
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(state, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


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
        from labhelpers.offline.build import build

        return build(size)
    archive = Path(archive).resolve()
    if built_version(archive) is None:
        raise ServiceError(f"{archive} is not a complete archive (no BUILD_OK): build it with `labhelpers offline build`.")
    return archive


def up(
    size: str = "ci",
    ports: Ports = Ports(),
    with_gateway: bool = True,
    archive: Path | None = None,
    say=print,
) -> dict:
    """Start every service (see the module docstring) and return the state; idempotent when healthy."""
    with _exclusive():
        return _up(size, ports, with_gateway, archive, say)


def _up(size: str, ports: Ports, with_gateway: bool, archive: Path | None, say) -> dict:
    state = read_state()
    if state is not None:
        if is_healthy(state):
            if state["size"] != size or (archive and Path(state["archive"]) != Path(archive).resolve()):
                raise ServiceError(
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
        raise ServiceError(f"Two services were given the same port: {sorted(p for p, _, _ in wanted)}.")
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
        "version": STATE_VERSION,
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
    _write_state(state)
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
    with _exclusive():
        if read_state() is None:
            say("The offline stand-in is not running (no state file).")
            return []
        return _down()


def _down() -> list[str]:
    stopped = _stop_all(_procs(read_state()))
    state_file().unlink(missing_ok=True)
    return stopped


@contextmanager
def running(size: str | None = None, ports: Ports = Ports(), say=print):
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
