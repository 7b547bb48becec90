"""dask-gateway-server backends whose schedulers, workers and dashboards listen on 127.0.0.1 only.

dask-gateway-server's ``LocalBackend`` starts schedulers with ``--host 127.0.0.1`` and gives
schedulers and workers a dashboard on ``127.0.0.1:0``, but starts workers *without* a host, so
each worker (and its nanny) listens on every interface: anyone on the classroom network could
connect to a student's worker. :class:`LoopbackBackend` adds ``--host 127.0.0.1`` to the worker
command; the stand-in's gateway (:mod:`labhelpers_standin.servers.gateway`) uses it, and the
classroom hub's backend (:mod:`labhelpers_standin.hub.backend`) builds on the same mix-in.

The gateway loads these classes by name (``c.DaskGateway.backend_class``), in its own process.
"""

from __future__ import annotations

from dask_gateway_server.backends.local import UnsafeLocalBackend

__all__ = ["LOOPBACK", "LoopbackWorkers", "LoopbackBackend"]

LOOPBACK = "127.0.0.1"


class LoopbackWorkers:
    """Mix-in for a local backend: workers listen on 127.0.0.1 like the scheduler already does."""

    default_host = LOOPBACK

    def get_worker_command(self, cluster, worker_name, scheduler_address=None):
        """The backend's worker command plus ``--host 127.0.0.1``.

        Parameters
        ----------
        cluster : dask_gateway_server.backends.db_base.Cluster
            The cluster the worker joins.
        worker_name : str
            The worker's name.
        scheduler_address : str, optional
            The scheduler's address (default: the cluster's).

        Returns
        -------
        list of str
            The command line that starts the worker.
        """
        cmd = super().get_worker_command(cluster, worker_name, scheduler_address)
        return [*cmd, "--host", LOOPBACK]


class LoopbackBackend(LoopbackWorkers, UnsafeLocalBackend):
    """``UnsafeLocalBackend`` (every process runs as the gateway's own account) on 127.0.0.1 only."""
