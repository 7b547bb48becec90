"""The classroom hub: JupyterHub + configurable-http-proxy + Dask Gateway on one machine.

``labhelpers hub up`` starts a real JupyterHub whose students log in with credentials from a class
list, each get a JupyterLab in their own folder with the lab's notebooks, and create Dask clusters
with a bare ``GatewayCluster()`` from a dask-gateway-server that authenticates them through the
hub. ``labhelpers hub down`` stops all of it. docs/hub.md is the instructor's guide.

=============  ==========================================================================
module         role
=============  ==========================================================================
``cli``        ``labhelpers hub up|down|status``
``lifecycle``  ``up``, ``down``, ``status``: one process tree, health waits, leftover sweep
``config``     :class:`HubSettings` and the JupyterHub and dask-gateway-server configurations
``folders``    the private hub folder and the shared one students' account can enter
``classlist``  the class list, passwords, ``credentials.csv`` (0600), scrypt hashes
``auth``       ``ClassListAuthenticator`` (loaded by JupyterHub)
``spawner``    ``ClassroomSpawner``: homes, notebook copies, one students' account (JupyterHub)
``backend``    ``ClassroomBackend``: clusters as that account, one per student (the gateway)
=============  ==========================================================================

``auth``, ``spawner`` and ``backend`` import JupyterHub or dask-gateway-server and are loaded by
those servers only; importing this package imports neither.
"""

from labhelpers_standin.hub.config import HubSettings
from labhelpers_standin.hub.folders import default_folder
from labhelpers_standin.hub.lifecycle import down, status, up

__all__ = ["HubSettings", "up", "down", "status", "default_folder"]
