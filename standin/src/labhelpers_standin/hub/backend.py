"""The hub's Dask Gateway backend: local processes as the students' account, one cluster per student.

dask-gateway-server runs as a JupyterHub service, as root when the hub is root, from the
instructor's environment. Each cluster's scheduler and workers are local processes started from
the student runtime's ``dask`` and, when ``account`` is set, running as that unprivileged
account, each cluster in its own folder under ``clusters_directory``. The gateway's API keeps
students apart: listing shows only the caller's clusters, and getting, scaling or stopping
another's answers 403.

Two things differ from dask-gateway-server's own ``LocalBackend``, which expects one system
account per user (it switches to the account named like the *user*):

* every cluster runs as the one ``account`` (no account per student is needed);
* the cluster's folder is prepared here, with the TLS key and certificate 0600 and owned by
  ``account`` (``LocalBackend.setup_working_directory`` passes each file path to ``chown`` one
  character at a time, which would hand ``/`` to the account).

Workers listen on 127.0.0.1 (:class:`~labhelpers_standin.servers.gateway_backends.LoopbackWorkers`).
"""

from __future__ import annotations

import os
import pwd

from dask_gateway_server.backends.base import PublicException
from dask_gateway_server.backends.local import LocalBackend
from traitlets import Integer, Unicode

from labhelpers_standin.servers.gateway_backends import LoopbackWorkers

__all__ = ["ClassroomBackend"]


class ClassroomBackend(LoopbackWorkers, LocalBackend):
    """Clusters as ``account`` (or as the gateway's own account), at most ``max_clusters_per_user`` each."""

    account = Unicode(
        "",
        config=True,
        help="System account every scheduler and worker runs as ('' = the gateway's own account).",
    )
    max_clusters_per_user = Integer(
        1, min=1, config=True, help="How many clusters one student may have running at once."
    )

    def _ids(self) -> tuple[int, int] | None:
        if not self.account:
            return None
        pw = pwd.getpwnam(self.account)
        return pw.pw_uid, pw.pw_gid

    def setup_working_directory(self, cluster):
        """Create the cluster's folder with its TLS files, all owned by ``account``.

        Parameters
        ----------
        cluster : dask_gateway_server.backends.db_base.Cluster

        Returns
        -------
        str
            The folder, the cluster's processes' working directory.
        """
        workdir = os.path.join(self.clusters_directory, cluster.name)
        certs, logs = self.get_certs_directory(workdir), self.get_logs_directory(workdir)
        ids = self._ids()
        for folder in (workdir, certs, logs):
            os.makedirs(folder, 0o700, exist_ok=True)
            if ids:
                os.chown(folder, *ids)
        for path, data in zip(self._get_tls_paths(workdir), (cluster.tls_cert, cluster.tls_key)):
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as f:
                f.write(data)
            if ids:
                os.chown(path, *ids)
        return workdir

    def make_preexec_fn(self, cluster):
        """In the child, before exec: become ``account`` (no extra groups), enter the cluster's folder.

        Parameters
        ----------
        cluster : dask_gateway_server.backends.db_base.Cluster

        Returns
        -------
        callable
        """
        ids = self._ids()
        workdir = cluster.state["workdir"]

        def preexec():  # pragma: no cover  (runs in the child)
            if ids:
                os.setgid(ids[1])
                os.setgroups([])
                os.setuid(ids[0])
            os.chdir(workdir)

        return preexec

    def get_env(self, cluster):
        """The inherited environment, with ``HOME`` the cluster's folder (the account has no home).

        Parameters
        ----------
        cluster : dask_gateway_server.backends.db_base.Cluster

        Returns
        -------
        dict
        """
        env = super().get_env(cluster)
        env["HOME"] = cluster.state["workdir"]
        return env

    async def start_cluster(self, user, cluster_options):
        """Refuse, with a message a student can act on, when the student is at the limit.

        Parameters
        ----------
        user : dask_gateway_server.models.User
            The authenticated student.
        cluster_options : dict
            The options the client asked for.

        Returns
        -------
        str
            The new cluster's name.

        Raises
        ------
        PublicException
            The student already has ``max_clusters_per_user`` clusters; the gateway answers 422
            and ``GatewayCluster()`` raises it in the notebook.
        """
        running = self.db.list_clusters(username=user.name)  # active ones (pending/starting/running)
        if len(running) >= self.max_clusters_per_user:
            names = ", ".join(c.name for c in running)
            raise PublicException(
                f"You already have {len(running)} Dask cluster(s) running ({names}); the limit is "
                f"{self.max_clusters_per_user} per student. Shut the old one down first: "
                "`cluster.shutdown()`, or if you lost the variable, "
                "`from dask_gateway import Gateway; g = Gateway(); [g.stop_cluster(c.name) for c in g.list_clusters()]`."
            )
        return await super().start_cluster(user, cluster_options)
