"""The hub's settings and the two configuration files ``up`` writes from them.

One :class:`HubSettings` holds every choice ``labhelpers hub up`` makes (ports, folders, limits,
who runs what); :func:`jupyterhub_config` and :func:`gateway_config` turn it into JupyterHub's
and dask-gateway-server's configuration files. Ports, counted from ``port``:

======  ===============================================================
port    the hub's public address (configurable-http-proxy): students' URL
+1      the proxy's REST API (127.0.0.1 only)
+2      the Hub process itself (127.0.0.1 only)
+3      dask-gateway-server's HTTP API and dashboards, under ``/services/dask-gateway``
+4      the gateway's scheduler proxy (TLS, 127.0.0.1: kernels connect here)
+5      the gateway's private API (schedulers report here)
======  ===============================================================

Students' servers get ports from ``server_ports``. Two Python environments are involved: the
hub, its proxy's manager, the gateway server and the idle culler run in ``python``'s (the
instructor's, as root when root starts the hub), while students' servers, kernels and the Dask
schedulers and workers run in the *student runtime* (``runtime``; see
:mod:`labhelpers_standin.runtime`), as ``account``. A student's kernel finds the gateway through
``DASK_GATEWAY__*`` variables, so a bare ``GatewayCluster()`` connects with the student's own
JupyterHub token.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from labhelpers_standin.errors import StandinError

__all__ = ["GATEWAY_SERVICE", "CULLER_SERVICE", "PORTS_USED", "HubSettings", "default_port", "student_environment",
           "jupyterhub_config", "gateway_config"]

GATEWAY_SERVICE = "dask-gateway"
CULLER_SERVICE = "idle-culler"
#: How many consecutive ports from ``port`` the hub itself uses (see the table above).
PORTS_USED = 6
_DEFAULT_PORT = 8000
_PATH = "/usr/local/bin:/usr/bin:/bin"


def default_port() -> int:
    """The hub's default public port: 8000, or ``LABHELPERS_OFFLINE_PORT_BASE`` + 10.

    The stand-in's ports move as a block with ``LABHELPERS_OFFLINE_PORT_BASE`` (base .. base+4);
    the hub's follow them (base+10 .. base+15, students' servers base+30 .. base+109), so one
    variable keeps two checkouts on one machine apart. Students' servers use port+20 .. port+99.

    Returns
    -------
    int

    Raises
    ------
    StandinError
        When the variable is not a port number with room for the hub's ports.
    """
    base = os.environ.get("LABHELPERS_OFFLINE_PORT_BASE")
    if not base:
        return _DEFAULT_PORT
    if not base.isdigit() or not 1024 <= int(base) <= 65435:
        raise StandinError(f"LABHELPERS_OFFLINE_PORT_BASE={base!r} must be a port number from 1024 to 65435.")
    return int(base) + 10


@dataclass(frozen=True)
class HubSettings:
    """Everything ``up`` decides; ``labhelpers hub up --help`` describes each option.

    Parameters
    ----------
    folder : Path
        The hub's private folder (state, credentials, secrets, logs, configuration): root's.
    shared : Path
        Where students' homes (``users/``) and the clusters' folders (``clusters/``) go: the
        students' account must be able to enter it (``folder`` itself when it can).
    users : tuple of str
        The class list.
    notebooks : Path
        The lab's notebooks, copied into each new home.
    runtime : Path
        The student runtime (a virtual environment every account can use).
    port : int
        The public port; the hub uses ``PORTS_USED`` ports from it.
    listen : str
        The public address (default 127.0.0.1: this machine only).
    public_url : str
        How browsers reach the hub, when not ``http://<listen>:<port>``.
    server_ports : (int, int)
        Inclusive range of ports for students' servers.
    account : str
        When the hub runs as root: the unprivileged account students' code runs as; else "".
    profile : str
        ``LABHELPERS_PROFILE`` of the students' kernels.
    student_env : dict
        More variables for students' kernels and Dask workers (the stand-in's URLs).
    max_clusters, max_workers, max_worker_cores : int
        Per student: clusters at once, workers per cluster, cores per worker.
    worker_memory_gib, max_worker_memory_gib : float
        Default and largest memory per worker.
    server_idle_timeout, cluster_idle_timeout : int
        Seconds before an idle server, or an idle kernel and cluster, is stopped.
    python : str
        The hub's own Python (with jupyterhub and dask-gateway-server).
    chp : str
        The configurable-http-proxy executable.
    """

    folder: Path
    shared: Path
    users: tuple[str, ...]
    notebooks: Path
    runtime: Path
    port: int = _DEFAULT_PORT
    listen: str = "127.0.0.1"
    public_url: str = ""
    server_ports: tuple[int, int] = (_DEFAULT_PORT + 20, _DEFAULT_PORT + 99)
    account: str = ""
    profile: str = "planetary-computer"
    student_env: dict = field(default_factory=dict)
    max_clusters: int = 1
    max_workers: int = 4
    max_worker_cores: int = 1
    worker_memory_gib: float = 1.0
    max_worker_memory_gib: float = 2.0
    server_idle_timeout: int = 3600
    cluster_idle_timeout: int = 1800
    python: str = sys.executable
    chp: str = "configurable-http-proxy"

    @property
    def url(self) -> str:
        """The address students open in a browser."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.listen in ("", "0.0.0.0", "::") else self.listen
        return f"http://{host}:{self.port}"

    @property
    def local_url(self) -> str:
        """The hub's address from this machine (health checks)."""
        host = "127.0.0.1" if self.listen in ("", "0.0.0.0", "::") else self.listen
        return f"http://{host}:{self.port}"

    @property
    def gateway_url(self) -> str:
        """The gateway's API for kernels on this machine (direct, not through the hub's proxy)."""
        return f"http://127.0.0.1:{self.port + 3}/services/{GATEWAY_SERVICE}"

    @property
    def proxy_address(self) -> str:
        """The gateway's scheduler proxy, for kernels on this machine."""
        return f"gateway://127.0.0.1:{self.port + 4}"

    @property
    def bin(self) -> Path:
        """The hub's own environment's programs."""
        return Path(self.python).parent

    @property
    def runtime_bin(self) -> Path:
        """The student runtime's programs (jupyterhub-singleuser, dask)."""
        return Path(self.runtime) / "bin"


def student_environment(s: HubSettings) -> dict[str, str]:
    """Environment variables every student's server, and so every kernel, gets.

    Parameters
    ----------
    s : HubSettings

    Returns
    -------
    dict
        The runtime's ``PATH``, ``LABHELPERS_PROFILE``, the ``DASK_GATEWAY__*`` variables that
        make a bare ``GatewayCluster()`` use the hub's gateway with the server's hub token, and
        ``student_env``.
    """
    env = {
        "PATH": f"{s.runtime_bin}:{_PATH}",
        "VIRTUAL_ENV": str(s.runtime),
        "LABHELPERS_PROFILE": s.profile,
        "DASK_GATEWAY__ADDRESS": s.gateway_url,
        "DASK_GATEWAY__PUBLIC_ADDRESS": f"{s.url}/services/{GATEWAY_SERVICE}",
        "DASK_GATEWAY__PROXY_ADDRESS": s.proxy_address,
        "DASK_GATEWAY__AUTH__TYPE": "jupyterhub",
    }
    env.update(s.student_env)
    return env


def _cluster_environment(s: HubSettings) -> dict[str, str]:
    """What the gateway's schedulers and workers inherit (through the gateway service's environment)."""
    env = {"PATH": f"{s.runtime_bin}:{_PATH}", "VIRTUAL_ENV": str(s.runtime), "LANG": "C.UTF-8",
           "LABHELPERS_PROFILE": s.profile}
    env.update({k: v for k, v in s.student_env.items() if k.startswith("LABHELPERS_")})
    return env


def jupyterhub_config(s: HubSettings) -> str:
    """The text of ``<folder>/jupyterhub_config.py``; it holds no secret (those are in files and env).

    Parameters
    ----------
    s : HubSettings

    Returns
    -------
    str
        Python for ``jupyterhub -f``.
    """
    f = s.folder
    gateway_dir = f / "gateway"
    cull_every = max(5, min(60, s.server_idle_timeout // 2))
    services = [
        {
            "name": GATEWAY_SERVICE,
            "url": f"http://127.0.0.1:{s.port + 3}",
            "command": [s.python, "-m", "dask_gateway_server", "--config", str(gateway_dir / "dask_gateway_config.py")],
            "cwd": str(gateway_dir),
            "display": False,
            "environment": _cluster_environment(s),
        },
        {
            "name": CULLER_SERVICE,
            "command": [
                s.python, "-m", "jupyterhub_idle_culler",
                f"--timeout={s.server_idle_timeout}", f"--cull-every={cull_every}", "--concurrency=2",
            ],
            "cwd": str(f),
        },
    ]
    roles = [
        # Students may use the gateway service: dask-gateway's JupyterHubAuthenticator requires
        # access:services!service=dask-gateway on the token a kernel sends.
        {"name": "user", "scopes": ["self", f"access:services!service={GATEWAY_SERVICE}"]},
        {
            "name": CULLER_SERVICE,
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": [CULLER_SERVICE],
        },
    ]
    args = [
        # A kernel idle for the cluster timeout is stopped, and its GatewayCluster with it.
        f"--MappingKernelManager.cull_idle_timeout={s.cluster_idle_timeout}",
        f"--MappingKernelManager.cull_interval={max(5, min(60, s.cluster_idle_timeout // 2))}",
    ]
    secrets = f / "secrets"
    lines = [
        "# Written by `labhelpers hub up`; overwritten at every `up`.",
        f"c.JupyterHub.ip = {s.listen!r}",
        f"c.JupyterHub.port = {s.port}",
        "c.JupyterHub.hub_ip = '127.0.0.1'",
        f"c.JupyterHub.hub_port = {s.port + 2}",
        f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{s.port + 1}'",
        f"c.ConfigurableHTTPProxy.command = [{s.chp!r}]",
        f"c.JupyterHub.db_url = 'sqlite:///' + {str(secrets / 'jupyterhub.sqlite')!r}",
        f"c.JupyterHub.cookie_secret_file = {str(secrets / 'jupyterhub_cookie_secret')!r}",
        "c.JupyterHub.authenticator_class = 'labhelpers_standin.hub.auth.ClassListAuthenticator'",
        f"c.ClassListAuthenticator.passwords_file = {str(secrets / 'passwords.json')!r}",
        f"c.Authenticator.allowed_users = {set(s.users)!r}",
        "c.Authenticator.allow_existing_users = False",
        "c.JupyterHub.spawner_class = 'labhelpers_standin.hub.spawner.ClassroomSpawner'",
        f"c.ClassroomSpawner.home_dir_template = {str(s.shared / 'users') + '/{username}'!r}",
        f"c.ClassroomSpawner.notebooks_dir = {str(s.notebooks)!r}",
        f"c.ClassroomSpawner.account = {s.account!r}",
        f"c.ClassroomSpawner.port_range = {tuple(s.server_ports)!r}",
        f"c.Spawner.cmd = [{str(s.runtime_bin / 'jupyterhub-singleuser')!r}]",
        f"c.Spawner.args = {args!r}",
        "c.Spawner.default_url = '/lab'",
        f"c.Spawner.environment = {student_environment(s)!r}",
        "c.Spawner.server_token_scopes = ['users:activity!user', 'access:servers!server', "
        f"'access:services!service={GATEWAY_SERVICE}']",
        "c.Spawner.start_timeout = 180",
        "c.Spawner.http_timeout = 180",
        f"c.JupyterHub.active_server_limit = {len(s.users)}",
        f"c.JupyterHub.load_roles = {roles!r}",
        f"c.JupyterHub.services = {services!r}",
        "c.JupyterHub.cleanup_servers = True",
        "c.JupyterHub.cleanup_proxy = True",
    ]
    return "\n".join(lines) + "\n"


def gateway_config(s: HubSettings) -> str:
    """The text of ``<folder>/gateway/dask_gateway_config.py`` (no secret: the hub's token is in env).

    Parameters
    ----------
    s : HubSettings

    Returns
    -------
    str
        Python for ``dask-gateway-server --config``.
    """
    dask = str(s.runtime_bin / "dask")
    inherited = sorted(_cluster_environment(s))
    return f'''\
# Written by `labhelpers hub up`; overwritten at every `up`.
from dask_gateway_server.options import Float, Integer, Options

c.DaskGateway.address = "127.0.0.1:{s.port + 5}"
c.Proxy.address = "127.0.0.1:{s.port + 3}"
c.Proxy.tcp_address = "127.0.0.1:{s.port + 4}"
c.Proxy.prefix = "/services/{GATEWAY_SERVICE}"
c.DaskGateway.backend_class = "labhelpers_standin.hub.backend.ClassroomBackend"
c.DaskGateway.authenticator_class = "dask_gateway_server.auth.JupyterHubAuthenticator"
c.ClassroomBackend.account = {s.account!r}
c.ClassroomBackend.max_clusters_per_user = {s.max_clusters}
c.LocalBackend.clusters_directory = {str(s.shared / "clusters")!r}
c.LocalBackend.inherited_environment = {inherited!r}
c.ClusterConfig.scheduler_cmd = [{dask!r}, "scheduler"]
c.ClusterConfig.worker_cmd = [{dask!r}, "worker"]
c.ClusterConfig.scheduler_cores = 1
c.ClusterConfig.scheduler_memory = "1 G"
c.ClusterConfig.cluster_max_workers = {s.max_workers}
c.ClusterConfig.idle_timeout = {s.cluster_idle_timeout}


def _options_handler(options):
    return {{"worker_cores": options.worker_cores, "worker_memory": int(options.worker_memory * 2**30)}}


c.Backend.cluster_options = Options(
    Integer("worker_cores", default=1, min=1, max={s.max_worker_cores}, label="Worker cores"),
    Float("worker_memory", default={s.worker_memory_gib}, min=0.5, max={s.max_worker_memory_gib},
          label="Worker memory (GiB)"),
    handler=_options_handler,
)
'''
