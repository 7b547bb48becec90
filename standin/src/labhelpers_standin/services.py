"""Bring the whole offline Planetary Computer up, report on it, and take it down.

``up`` is one transaction over four servers: either every service is running and healthy and
the state file says where, or nothing this ``up`` started is left running. The order follows
the dependencies, and the slow parts overlap:

1. the archive is built if missing (``build.build``), every port is checked free;
2. PostgreSQL starts (initdb on first use); Azurite and the Dask Gateway are spawned meanwhile;
3. uvicorn (the STAC API) is spawned as soon as PostgreSQL answers, so its imports overlap with
   the catalog work: pgstac migration + load (skipped when unchanged) runs in parallel with the
   blob upload (only blobs that differ from the archive's checksums);
4. each service is polled until healthy, then the state file is written atomically.

The state file (:mod:`labhelpers_standin.state`, mode 0600) is the contract with the rest of the lab:
``labhelpers.settings`` reads ``stac_url``, ``blob_url`` and ``gateway``. What is *ours* is known
three ways, so that a lost or corrupt state file, or an ``up`` killed half-way, never orphans a
server: the state file, the second record ``run.json`` (each server is entered as it starts), and
a scan for our servers' command lines in this folder. ``down`` stops all of them and nothing else;
``status`` reports them, and a blob store that differs from the archive.

Ports: the ones given, else those of the last ``up`` in this folder (so a restart after a fault
uses the same ports), else ``LABHELPERS_OFFLINE_PORT_BASE`` or the defaults (:class:`Ports`).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from labhelpers_standin import catalog, daskconfig
from labhelpers_standin import state as _state
from labhelpers_standin.archive.build import built_version
from labhelpers_standin.errors import StandinError, StateError
from labhelpers_standin.processes import HOST, Proc, check_port_free, scan, stop
from labhelpers_standin.servers import azurite, gateway, postgres, stacapi
from labhelpers_standin.state import logs_dir, offline_dir

__all__ = ["Ports", "check", "is_healthy", "up", "down", "status", "running", "read_state", "logs_dir", "ours"]


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

        Returns
        -------
        Ports

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

    @classmethod
    def last_or_default(cls) -> "Ports":
        """The ports of the last ``up`` in this folder (same ``LABHELPERS_OFFLINE_PORT_BASE``), else :meth:`default`.

        Returns
        -------
        Ports
        """
        rec = _state.record()
        if rec.get("ports") and rec.get("port_base") == os.environ.get("LABHELPERS_OFFLINE_PORT_BASE"):
            try:
                return cls(**rec["ports"])
            except TypeError:
                pass
        return cls.default()


def read_state() -> dict | None:
    """The running stand-in's state file.

    Returns
    -------
    dict or None
        None when none was started here.

    Raises
    ------
    StateError
        When the file is corrupt or incomplete.
    """
    return _state.load()


def _procs(state: dict) -> dict[str, Proc]:
    return {name: Proc.from_dict(s) for name, s in state.get("services", {}).items()}


def _signature(cmdline: list[str], cwd: str) -> str | None:
    """Which of our servers a process is, from its command line and working directory in our folder."""
    folder = str(offline_dir())

    def after(flag: str) -> str:
        return cmdline[cmdline.index(flag) + 1] if flag in cmdline[:-1] else ""

    if after("--location") == f"{folder}/azurite":
        return "azurite"
    if any("stac_fastapi.pgstac.app" in c for c in cmdline) and cwd == str(logs_dir()):
        return "stac"
    if "dask_gateway_server" in cmdline and after("--config").startswith(f"{folder}/gateway/"):
        return "gateway"
    if cmdline and cmdline[0].endswith("/postgres") and "-D" in cmdline:
        try:
            if after("-D") == str(postgres.pgdata()):
                return "postgres"
        except StandinError:  # no postgres account: then no server of ours runs as it either
            pass
    return None


def ours(state: dict | None = None) -> list[Proc]:
    """Every live server process this folder's stand-in started: from the state file, the second
    record and a scan of command lines (see the module docstring), without duplicates.

    Parameters
    ----------
    state : dict, optional
        The state file's contents, when readable.

    Returns
    -------
    list of Proc
    """
    candidates: list[Proc] = []
    for source in ((state or {}).get("services", {}), _state.record()["processes"]):
        for s in source.values():
            try:
                candidates.append(Proc.from_dict(s))
            except (KeyError, TypeError, ValueError):
                continue
    candidates += scan(_signature)
    found, seen = [], set()
    for proc in candidates:
        if proc.pid not in seen and proc.alive():
            seen.add(proc.pid)
            found.append(proc)
    return found


def check(state: dict) -> dict[str, dict]:
    """Per service: is its process alive, and does it answer its health check.

    Parameters
    ----------
    state : dict
        From :func:`read_state`.

    Returns
    -------
    dict
        ``{name: {**state entry, "alive": bool, "healthy": bool}}``.
    """
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
    """Whether ``state`` describes a stand-in whose every service is alive and answers.

    Parameters
    ----------
    state : dict or None

    Returns
    -------
    bool
    """
    try:
        return bool(state) and all(s["healthy"] for s in check(state).values())
    except (KeyError, TypeError, ValueError):
        return False


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
    """Start every service (see the module docstring) and return the state; idempotent when healthy.

    A stand-in that is already running and healthy is returned as it is (``already_running``),
    after its blob store was compared with the archive: a tampered store is repaired by a restart
    on the same ports. Servers left by an earlier ``up`` that crashed, or whose state file was
    lost or corrupted, are stopped first.

    Parameters
    ----------
    size : {"ci", "full"}, default "ci"
        The archive to build (if missing) and serve.
    ports : Ports, optional
        Default :meth:`Ports.last_or_default`.
    with_gateway : bool, default True
        Also start the Dask Gateway.
    archive : pathlib.Path, optional
        Serve this ready archive folder instead of building ``archive/<size>``.
    say : callable, default print
        Where progress messages go.

    Returns
    -------
    dict
        The state (as written to ``state.json``) plus ``timings``, ``catalog_loaded`` and
        ``blobs_uploaded`` (or ``already_running``).

    Raises
    ------
    StandinError
        When a port is taken, a tool is missing or a server fails to start; nothing this call
        started is left running.
    """
    with _state.exclusive():
        return _up(size, ports, with_gateway, archive, say)


def _up(size: str, ports: Ports | None, with_gateway: bool, archive: Path | None, say) -> dict:
    try:
        state = read_state()
    except StateError as err:
        say(f"{err} Stopping the servers this folder's stand-in started, then starting afresh.")
        state = None
        _down()
    if state is not None:
        if is_healthy(state):
            if state["size"] != size or (archive and Path(state["archive"]) != Path(archive).resolve()):
                raise StandinError(
                    f"The stand-in is already running with archive {state['archive']}. "
                    "Stop it first with `labhelpers offline down`."
                )
            problems = azurite.tampered(Path(state["archive"]), state["services"]["azurite"]["port"])
            if not problems:
                state["already_running"] = True
                return state
            say(f"The blob store differs from the archive ({len(problems)} blob(s), e.g. {problems[0]}): restarting "
                "the stand-in to repair it.")
        else:
            say("Found a state file whose services are not all healthy: stopping what is left of them.")
        _down()
    elif ours():
        say("Found servers of an earlier `up` here without a state file (it crashed, or the file was deleted): "
            "stopping them.")
        _down()
    ports = ports or Ports.last_or_default()

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
    _state.remember(ports=asdict(ports), port_base=os.environ.get("LABHELPERS_OFFLINE_PORT_BASE"))

    logs = logs_dir()
    blob_url = azurite.blob_url(ports.blob)
    accounts = sorted({a for a, _ in azurite.containers(root)})
    collections = sorted(p.stem for p in (root / "stac" / "collections").glob("*.json"))
    started: dict[str, Proc] = {}

    def started_(name: str, proc: Proc, port: int) -> Proc:
        started[name] = proc
        _state.remember(process=(name, {**proc.to_dict(), "port": port}))  # before anything else can fail
        return proc

    auth = None
    try:
        proc, keys = azurite.start(ports.blob, logs / "azurite.log", accounts)
        started_("azurite", proc, ports.blob)
        if with_gateway:
            proc, auth = gateway.start(ports.gateway, ports.gateway_proxy, logs / "gateway.log")
            started_("gateway", proc, ports.gateway)
        started_("postgres", postgres.start(ports.postgres, logs / "postgres.log"), ports.postgres)
        started_("stac", stacapi.start(ports.stac, ports.postgres, logs / "stac.log"), ports.stac)

        def load_catalog() -> bool:
            dsn = postgres.dsn(ports.postgres)
            catalog.migrate(dsn)
            return catalog.load(dsn, root, blob_url)

        def load_blobs() -> int:
            azurite.wait(started["azurite"], ports.blob)
            uploaded = azurite.publish(root, ports.blob, keys, say=say)
            azurite.check_anonymous_range_read(root, ports.blob)
            return uploaded

        with ThreadPoolExecutor(2) as pool:
            loaded, uploaded = pool.submit(load_catalog), pool.submit(load_blobs)
            if with_gateway:
                gateway.wait(started["gateway"], ports.gateway)
            loaded, uploaded = loaded.result(), uploaded.result()
        stacapi.wait(started["stac"], ports.stac, collections)
    except BaseException:
        _stop_all(list(started.values()))
        _state.forget()
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


def _stop_proc(proc: Proc) -> bool:
    was_alive = proc.alive()
    if proc.name == "postgres" and was_alive:
        postgres.stop_server()  # the clean shutdown: checkpoint, then exit (SIGCONT first: it may be frozen)
    stop(proc)  # SIGTERM (+ SIGCONT), then SIGKILL, to the process group (a no-op when already gone)
    return was_alive


def _stop_all(procs: list[Proc]) -> list[str]:
    """Stop every process concurrently (each takes a second or two to shut down cleanly), then the
    gateway's clusters (a killed gateway cannot stop them)."""
    with ThreadPoolExecutor(max(len(procs), 1)) as pool:
        alive = list(pool.map(_stop_proc, procs))
    for p in gateway.leftover_cluster_processes():
        try:
            p.kill()
        except Exception:  # noqa: BLE001 - gone already
            pass
    return sorted({proc.name for proc, was in zip(procs, alive) if was})


def down(say=print) -> list[str]:
    """Stop exactly the processes this folder's stand-in started (see :func:`ours`), then remove the state file.

    Works when the state file is missing or corrupt, and after an ``up`` that was killed.

    Parameters
    ----------
    say : callable, default print

    Returns
    -------
    list of str
        The names of the servers stopped (empty when nothing ran).
    """
    with _state.exclusive():
        try:
            read_state()
        except StateError as err:
            say(f"{err} Stopping the servers this folder's stand-in started.")
        stopped = _down()
        if not stopped:
            say("The offline stand-in is not running.")
        return stopped


def _down() -> list[str]:
    try:
        state = read_state()
    except StateError:
        state = None
    stopped = _stop_all(ours(state))
    _state.remove()
    _state.forget()
    daskconfig.remove_gateway_config(_state.offline_dir())  # only the file this stand-in's up wrote
    return stopped


def status(verify: bool = False) -> dict:
    """What runs here, measured rather than trusted: each service's process and health, servers of
    ours that the state file does not list, and whether the blob store still matches the archive.

    Parameters
    ----------
    verify : bool, default False
        Compare every blob's SHA-256 with the archive's (reads them all) instead of ETags.

    Returns
    -------
    dict
        ``state`` (or None), ``problem`` (why the state file is unusable, or None), ``services``
        (as :func:`check`), ``orphans`` (list of Proc), ``blobs`` (list of differences, or None
        when not checked) and ``ok``.
    """
    try:
        state, problem = read_state(), None
    except StateError as err:
        state, problem = None, str(err)
    services = check(state) if state else {}
    listed = {s["pid"] for s in services.values()}
    orphans = [p for p in ours(state) if p.pid not in listed]
    blobs = None
    if state and services.get("azurite", {}).get("healthy"):
        try:
            blobs = azurite.tampered(Path(state["archive"]), state["services"]["azurite"]["port"], deep=verify)
        except Exception as err:  # noqa: BLE001 - reported, not raised
            blobs = [f"(could not check the blob store: {type(err).__name__})"]
    ok = bool(state) and not orphans and all(s["healthy"] for s in services.values()) and not blobs
    return {"state": state, "problem": problem, "services": services, "orphans": orphans, "blobs": blobs, "ok": ok}


@contextmanager
def running(size: str | None = None, ports: Ports | None = None, say=print):
    """The stand-in for one job (a test session, a notebook run, a grading run, a benchmark).

    A healthy stand-in that is already running is used and left running: with ``size=None``
    whichever archive it serves, with a size only that one (``up`` refuses another, saying how to
    stop it). Otherwise one is started here (``size`` or ``"ci"``; on the ports of the last ``up``
    in this folder unless ``ports`` is given) and stopped when the job ends, also when it fails.

    Parameters
    ----------
    size : str, optional
    ports : Ports, optional
    say : callable, default print

    Yields
    ------
    dict
        The state.
    """
    try:
        state = read_state()
    except StateError:
        state = None
    if is_healthy(state) and size in (None, state["size"]):
        say(f"Using the running offline Planetary Computer (STAC API {state['stac_url']}).")
        state = up(state["size"], ports, with_gateway=bool(state.get("gateway")), archive=Path(state["archive"]),
                   say=say)  # compares the blob store with the archive, and repairs it
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
