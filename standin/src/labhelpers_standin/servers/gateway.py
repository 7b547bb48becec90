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
  worker (default 1 core, 1 GiB), and a cluster is capped at 4 workers.
* **Addresses**: the public HTTP API (``address``) and the scheduler proxy (``proxy_address``)
  listen on 127.0.0.1 only; the private API uses a free loopback port.
* Authentication is ``SimpleAuthenticator`` with a password generated per ``up`` and written
  only to the state file, which is where ``labhelpers.settings`` reads it.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import psutil
import requests

from labhelpers_standin.processes import HOST, Proc, spawn, wait_until
from labhelpers_standin.state import offline_dir

__all__ = ["address", "proxy_address", "clusters_dir", "start", "healthy", "wait", "leftover_cluster_processes"]

USERNAME = "student"

CONFIG = """\
# Written by labhelpers_standin.servers.gateway at each `labhelpers offline up`; edits are overwritten.
from dask_gateway_server.options import Float, Integer, Options

c.DaskGateway.address = "{host}:0"
c.DaskGateway.backend_class = "dask_gateway_server.backends.local.UnsafeLocalBackend"
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
c.ClusterConfig.cluster_max_workers = 4
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
    return f"http://{HOST}:{port}"


def proxy_address(proxy_port: int) -> str:
    return f"gateway://{HOST}:{proxy_port}"


def clusters_dir() -> Path:
    return offline_dir() / "gateway" / "clusters"


def start(port: int, proxy_port: int, log: Path) -> tuple[Proc, dict]:
    """Write the config and start ``dask-gateway-server``; return it and the client auth dict."""
    password = secrets.token_urlsafe(18)
    folder = offline_dir() / "gateway"
    clusters_dir().mkdir(parents=True, exist_ok=True)
    config = folder / "dask_gateway_config.py"
    dask = str(Path(sys.executable).parent / "dask")
    text = CONFIG.format(host=HOST, port=port, proxy_port=proxy_port, password=password,
                         clusters=str(clusters_dir()), dask=dask)
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
