"""``labhelpers hub up | down | status``: start, stop and inspect the classroom hub.

``up`` starts one process, ``jupyterhub``, in its own session; everything else is its child and
stops with it: configurable-http-proxy, the two hub services (dask-gateway-server with its
scheduler proxy, and jupyterhub-idle-culler), each student's server and kernels, and the
gateway's schedulers and workers. ``down`` sends the hub SIGTERM (it stops its servers, services
and proxy itself), waits, and then stops anything still running *inside the hub's folders*
(every process the hub starts has its working directory in one of them), so a hub killed with
SIGKILL still leaves nothing behind. Processes are never chosen by name. The folders are
described in :mod:`labhelpers_standin.hub.folders`.
"""

from __future__ import annotations

import dataclasses
import fcntl
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import psutil
import requests

from labhelpers_standin.errors import StandinError
from labhelpers_standin.hub import config as _config
from labhelpers_standin.hub import folders
from labhelpers_standin.hub.classlist import ensure_credentials
from labhelpers_standin.hub.config import HubSettings
from labhelpers_standin.processes import Proc, as_user, check_port_free, spawn, stop, wait_until

__all__ = ["HTTP_TIMEOUT", "up", "down", "status"]

HTTP_TIMEOUT = 5  # seconds, every health request
_PORT_ROLES = ["hub (public)", "proxy API", "Hub process", "gateway API", "gateway scheduler proxy",
               "gateway private API"]
_SETUP_HINT = "Install it with `make setup` (scripts/setup.sh), or `pip install './standin[hub]'`."


@contextmanager
def _exclusive(folder: Path):
    """One ``up`` or ``down`` at a time per hub folder."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _load_state(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "state.json").read_text())
    except FileNotFoundError:
        return None


def _check_tools(s: HubSettings) -> HubSettings:
    """Every program ``up`` needs is there; returns ``s`` with the proxy's full path."""
    for module, what in (("jupyterhub", "JupyterHub"), ("jupyterhub_idle_culler", "jupyterhub-idle-culler"),
                         ("dask_gateway_server", "dask-gateway-server")):
        if importlib.util.find_spec(module) is None:
            raise StandinError(f"{what} is not installed in {s.python}. {_SETUP_HINT}")
    chp = shutil.which(s.chp) or shutil.which(s.chp, path=str(s.bin))
    if chp is None:
        raise StandinError(
            f"configurable-http-proxy ({s.chp}) was not found on PATH nor in {s.bin}. Install it with "
            "`make setup` (npm, package.json), or pass --proxy PATH."
        )
    for program in ("jupyterhub-singleuser", "dask"):
        if not os.access(s.runtime_bin / program, os.X_OK):
            raise StandinError(f"The student runtime {s.runtime} has no {program}. Rebuild it with `make setup`.")
    if not s.notebooks.is_dir():
        raise StandinError(f"--notebooks {s.notebooks}: no such folder.")
    return dataclasses.replace(s, chp=chp)


def _check_runtime(s: HubSettings) -> None:
    """The students' account can run the runtime's Python with what a student's server imports."""
    # jupyterlab is only found, not imported: its imports take seconds of CPU (a JSON-schema grammar).
    probe = "import importlib.util, jupyterhub, dask_gateway, labhelpers; assert importlib.util.find_spec('jupyterlab')"
    try:
        r = subprocess.run([str(s.runtime_bin / "python"), "-c", probe], capture_output=True, text=True,
                           cwd="/", timeout=120, env={"PATH": "/usr/bin:/bin"}, **as_user(s.account))
        error = r.stderr.strip().splitlines()[-1:] if r.returncode else None
    except (OSError, subprocess.TimeoutExpired) as e:
        error = [str(e)]
    if error:
        raise StandinError(
            f"The students' account {s.account} cannot use the student runtime {s.runtime}: {error[0]}. "
            "Rebuild it with `make setup` (it must be readable by every account)."
        )


def _healthy(url: str) -> bool:
    try:
        return requests.get(url, timeout=HTTP_TIMEOUT).status_code == 200
    except requests.RequestException:
        return False


def up(s: HubSettings, *, renew_passwords: bool = False, timeout: float = 180) -> dict:
    """Start the hub and wait until it and its Dask Gateway answer through the proxy.

    Parameters
    ----------
    s : HubSettings
        Ports, folders, class list, limits (see ``labhelpers hub up --help``).
    renew_passwords : bool
        Give every student a new password (``--new-passwords``); otherwise existing ones are kept.
    timeout : float
        Seconds to wait for the hub and the gateway to become healthy.

    Returns
    -------
    dict
        The state written to ``<folder>/state.json``: ``url``, ``credentials`` (the file's path),
        ``ports``, ``hub`` (its process), ``shared``, ``log`` and ``startup_seconds``.

    Raises
    ------
    StandinError
        A port is taken, a tool is missing, the account is wrong, the hub is already running, or it
        did not start (the message has the log's last lines). Nothing is left running then.
    """
    ids = folders.account_ids(s.account)
    s = _check_tools(s)
    if ids:
        _check_runtime(s)
    with _exclusive(s.folder):
        old = _load_state(s.folder)
        if old and Proc.from_dict(old["hub"]).alive():
            raise StandinError(f"A hub is already running from {s.folder} at {old['url']}. "
                               "Stop it with `labhelpers hub down`.")
        for offset, role in enumerate(_PORT_ROLES):
            check_port_free(s.port + offset, f"classroom hub's {role}", "--port")
        folders.prepare(s.folder, s.shared, ids)
        folders.write_private(s.folder / "jupyterhub_config.py", _config.jupyterhub_config(s))
        folders.write_private(s.folder / "gateway" / "dask_gateway_config.py", _config.gateway_config(s))
        ensure_credentials(list(s.users), s.folder / "credentials.csv", s.folder / "secrets" / "passwords.json",
                           renew=renew_passwords)
        env = {
            "PATH": f"{s.bin}:{Path(s.chp).parent}:/usr/local/bin:/usr/bin:/bin",
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(32),
        }
        t0 = time.monotonic()
        log = s.folder / "logs" / "jupyterhub.log"
        hub = spawn("JupyterHub", [s.python, "-m", "jupyterhub", "-f", str(s.folder / "jupyterhub_config.py")],
                    log, env=env, cwd=s.folder)
        try:
            wait_until(hub, lambda: _healthy(f"{s.local_url}/hub/health"), "JupyterHub", timeout, log)
            hub_s = time.monotonic() - t0
            gateway = f"{s.local_url}/services/{_config.GATEWAY_SERVICE}/api/health"
            wait_until(hub, lambda: _healthy(gateway), "Dask Gateway (hub service)", timeout, log)
        except BaseException:
            _stop_all(hub, s.folder, s.shared)
            raise
        state = {
            "version": 1,
            "url": s.url,
            "local_url": s.local_url,
            "credentials": str(s.folder / "credentials.csv"),
            "folder": str(s.folder),
            "shared": str(s.shared),
            "ports": {role: s.port + i for i, role in enumerate(_PORT_ROLES)},
            "server_ports": list(s.server_ports),
            "account": s.account,
            "profile": s.profile,
            "hub": hub.to_dict(),
            "log": str(log),
            "startup_seconds": {"hub": round(hub_s, 2), "hub_and_gateway": round(time.monotonic() - t0, 2)},
        }
        folders.write_private(s.folder / "state.json", json.dumps(state, indent=1))
        return state


def _ours(folder: Path, shared: Path) -> list[psutil.Process]:
    """Processes the hub started, by working directory (never this process or its parents).

    The hub, its proxy and the culler run in ``folder``, the gateway in ``folder/gateway``,
    students' servers in ``shared/users/<name>``, Dask processes in ``shared/clusters/<name>``.
    A shell of the instructor's in ``folder/logs`` is none of these.
    """
    folder, shared = Path(folder).resolve(), Path(shared).resolve()
    exact = {str(folder)}
    trees = [str(folder / "gateway"), str(shared / "users"), str(shared / "clusters")]
    exclude = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found = []
    for p in psutil.process_iter():
        try:
            cwd = p.cwd()
        except psutil.Error:
            continue
        if p.pid not in exclude and (cwd in exact or any(cwd == r or cwd.startswith(r + "/") for r in trees)):
            found.append(p)
    return found


def _sweep(folder: Path, shared: Path) -> list[str]:
    """SIGTERM, then SIGKILL, whatever the hub started that still runs; what was found."""
    left = _ours(folder, shared)
    found = []
    for p in left:
        try:
            found.append(f"leftover pid {p.pid} ({' '.join(p.cmdline()[:2])[:60]})")
            p.send_signal(signal.SIGTERM)
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(left, timeout=5)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=5)
    return found


def _stop_all(hub: Proc | None, folder: Path, shared: Path) -> list[str]:
    stopped = []
    if hub is not None and stop(hub, grace=90):  # the hub stops every server and cluster first
        stopped.append(f"JupyterHub (pid {hub.pid}) and what it started")
    return stopped + _sweep(folder, shared)


def down(folder: str | Path) -> list[str]:
    """Stop the hub started from ``folder`` and everything it started; keep homes and credentials.

    Parameters
    ----------
    folder : str or Path
        The hub folder ``up`` used.

    Returns
    -------
    list of str
        What was stopped (empty when nothing ran).
    """
    folder = Path(folder).resolve()
    if not folder.exists():
        return []
    with _exclusive(folder):
        state = _load_state(folder)
        hub = Proc.from_dict(state["hub"]) if state else None
        shared = Path(state["shared"]) if state else folder
        stopped = _stop_all(hub, folder, shared)
        (folder / "state.json").unlink(missing_ok=True)
        return stopped


def status(folder: str | Path) -> dict:
    """What runs from ``folder``: the hub, its health, students' servers and Dask processes.

    Parameters
    ----------
    folder : str or Path
        The hub folder ``up`` used.

    Returns
    -------
    dict
        ``running`` (bool); when running also ``url``, ``credentials``, ``hub_healthy``,
        ``gateway_healthy``, ``servers`` (user names with a running server) and
        ``dask_processes``; when not, ``leftover_processes``.
    """
    folder = Path(folder).resolve()
    state = _load_state(folder)
    if not state or not Proc.from_dict(state["hub"]).alive():
        shared = Path(state["shared"]) if state else folder
        return {"running": False, "leftover_processes": len(_ours(folder, shared)) if folder.exists() else 0}
    shared = Path(state["shared"]).resolve()
    local = state["local_url"]
    users, dask = set(), 0
    for p in _ours(folder, shared):
        try:
            rel = Path(p.cwd()).relative_to(shared).parts
        except (psutil.Error, ValueError):
            continue
        if rel[:1] == ("users",) and len(rel) > 1:
            users.add(rel[1])
        elif rel[:1] == ("clusters",) and len(rel) > 1:
            dask += 1
    return {
        "running": True,
        "url": state["url"],
        "credentials": state["credentials"],
        "hub_healthy": _healthy(f"{local}/hub/health"),
        "gateway_healthy": _healthy(f"{local}/services/{_config.GATEWAY_SERVICE}/api/health"),
        "servers": sorted(users),
        "dask_processes": dask,
    }
