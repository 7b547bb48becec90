"""A real Dask Gateway on 127.0.0.1: dask-gateway-server with the local process backend.

This is the server side of what a Pangeo/daskhub deployment gives students: notebooks create
clusters with ``GatewayCluster(address, proxy_address, auth=BasicAuth(...))`` and scale them,
and the gateway starts each scheduler and worker as a local process
(``UnsafeLocalBackend``: every process runs as *our* user, which is what makes it "unsafe" for a
multi-user server and exactly right for one machine).

What the configuration must get right:

* **distributed 2026 has no ``dask-scheduler``/``dask-worker`` scripts**, which are the
  gateway's defaults; ``scheduler_cmd``/``worker_cmd`` are set to the venv's ``dask scheduler``
  and ``dask worker``, with full paths (the processes do not search our PATH for them).
* **Workers run in another directory** (one per cluster under ``gateway/clusters``), so code
  sent to them must use absolute paths or URLs, never paths relative to the notebook.
* **Small machines**: the cluster options let a student pick 1-2 cores and 0.5-4 GiB per
  worker (default 1 core, 1 GiB), and a cluster is capped at :data:`MAX_WORKERS` workers. The
  lab's own cell, ``cluster.adapt(minimum=4, maximum=24)``, written for the Hub's cloud
  machines, therefore runs with 4 workers, and the gateway tells the student so in their
  notebook: ``GatewayWarning: Adapt with `maximum=24, minimum=4` workers would exceed resource
  limit of 4 workers. Using `maximum=4, minimum=4` instead.`` (Allowing 24 one-core workers on
  a 2-core machine was tried: adapt starts and retires workers faster than the machine can
  start them, and the computation dies with ``KilledWorker``.)
* **Addresses**: the public HTTP API (``address``), the scheduler proxy (``proxy_address``),
  every scheduler, worker and dashboard listen on 127.0.0.1 only
  (:class:`~labhelpers_standin.servers.gateway_backends.LoopbackBackend`); the private API uses
  a free loopback port.
* Authentication is ``SimpleAuthenticator`` with a password generated per ``up``, written to the
  state file (where ``labhelpers.settings`` reads it) and to dask's configuration of this
  Python environment (:mod:`labhelpers_standin.daskconfig`), so that a bare
  ``GatewayCluster()`` finds the gateway as it did on the Planetary Computer Hub.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import psutil
import requests

from labhelpers_standin.processes import HOST, Proc, spawn, wait_until
from labhelpers_standin.state import offline_dir

__all__ = ["USERNAME", "MAX_WORKERS", "address", "proxy_address", "clusters_dir", "start", "healthy", "wait",
           "leftover_cluster_processes"]

#: The login of ``SimpleAuthenticator`` (any name works; its password is what is checked).
USERNAME = "student"
#: Workers per cluster: what this 2-core machine runs without workers dying (see above).
MAX_WORKERS = 4

CONFIG = """\
# Written by labhelpers_standin.servers.gateway at each `labhelpers offline up`; edits are overwritten.
from dask_gateway_server.options import Float, Integer, Options

c.DaskGateway.address = "{host}:0"
c.DaskGateway.backend_class = "labhelpers_standin.servers.gateway_backends.LoopbackBackend"
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.SimpleAuthenticator"
c.SimpleAuthenticator.password = {password!r}
c.Proxy.address = "{host}:{port}"
c.Proxy.tcp_address = "{host}:{proxy_port}"
c.LocalBackend.clusters_directory = {clusters!r}
c.LocalBackend.inherited_environment = [
    "PATH", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL", "HOME",
    "LABHELPERS_PROFILE", "LABHELPERS_OFFLINE_DIR", "GDAL_DATA", "PROJ_DATA", "PROJ_LIB",
]
c.ClusterConfig.scheduler_cmd = [{dask!r}, "scheduler"]
c.ClusterConfig.worker_cmd = [{dask!r}, "worker"]
c.ClusterConfig.scheduler_cores = 1
c.ClusterConfig.scheduler_memory = "1 G"
c.ClusterConfig.cluster_max_workers = {max_workers}
c.ClusterConfig.idle_timeout = 1800  # an abandoned cluster stops after 30 min


def _options_handler(options):
    return {{"worker_cores": options.worker_cores, "worker_memory": int(options.worker_memory * 2**30)}}


c.Backend.cluster_options = Options(
    Integer("worker_cores", default=1, min=1, max=2, label="Worker cores"),
    Float("worker_memory", default=1, min=0.5, max=4, label="Worker memory (GiB)"),
    handler=_options_handler,
)
"""


def address(port: int) -> str:
    """The gateway's HTTP API: what ``GatewayCluster(address=...)`` and dask's ``gateway.address`` take.

    Parameters
    ----------
    port : int
        The gateway's port on 127.0.0.1.

    Returns
    -------
    str
    """
    return f"http://{HOST}:{port}"


def proxy_address(proxy_port: int) -> str:
    """The scheduler proxy clients connect to: dask's ``gateway.proxy-address``.

    Parameters
    ----------
    proxy_port : int
        The proxy's port on 127.0.0.1.

    Returns
    -------
    str
    """
    return f"gateway://{HOST}:{proxy_port}"


def clusters_dir() -> Path:
    """Where each cluster's scheduler and workers run: ``<offline dir>/gateway/clusters``.

    Returns
    -------
    pathlib.Path
    """
    return offline_dir() / "gateway" / "clusters"


def start(port: int, proxy_port: int, log: Path) -> tuple[Proc, dict]:
    """Write the config and start ``dask-gateway-server``.

    Parameters
    ----------
    port : int
        The HTTP API's port on 127.0.0.1.
    proxy_port : int
        The scheduler proxy's port on 127.0.0.1.
    log : Path
        Where its output goes.

    Returns
    -------
    (Proc, dict)
        The process, and the client login ``{"type": "basic", "username", "password"}``.

    Raises
    ------
    StandinError
        When ``dask-gateway-server`` cannot be started.
    """
    password = secrets.token_urlsafe(18)
    folder = offline_dir() / "gateway"
    clusters_dir().mkdir(parents=True, exist_ok=True)
    config = folder / "dask_gateway_config.py"
    dask = str(Path(sys.executable).parent / "dask")
    text = CONFIG.format(host=HOST, port=port, proxy_port=proxy_port, password=password,
                         clusters=str(clusters_dir()), dask=dask, max_workers=MAX_WORKERS)
    config.touch(mode=0o600)
    config.write_text(text)
    cmd = [sys.executable, "-m", "dask_gateway_server", "--config", str(config)]
    proc = spawn("gateway", cmd, log, cwd=folder)
    return proc, {"type": "basic", "username": USERNAME, "password": password}


def healthy(port: int) -> bool:
    """``GET /api/health`` on the public address reports ``pass``."""
    try:
        r = requests.get(address(port) + "/api/health", timeout=3)
        return r.status_code == 200 and r.json().get("status") == "pass"
    except (requests.RequestException, ValueError):
        return False


def wait(proc: Proc, port: int, timeout: float = 60) -> None:
    """Wait until the gateway answers its health check.

    Parameters
    ----------
    proc : Proc
        The gateway's process (a death is reported at once, with its log).
    port : int
        Its HTTP port.
    timeout : float
        Seconds to wait.

    Raises
    ------
    StandinError
        When it exits or stays unhealthy.
    """
    wait_until(proc, lambda: healthy(port), "Dask Gateway server", timeout, proc.log)


def leftover_cluster_processes() -> list[psutil.Process]:
    """Schedulers and workers still running in our clusters folder (their own sessions).

    The gateway stops its clusters when it exits cleanly; after a SIGKILL it cannot, and these
    are what is left. They are recognised by their working directory, never by name.
    """
    base = str(clusters_dir())
    found = []
    for p in psutil.process_iter():
        try:
            if p.cwd().startswith(base + "/"):
                found.append(p)
        except psutil.Error:
            continue
    return found
