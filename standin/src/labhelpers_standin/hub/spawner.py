"""A JupyterHub spawner that needs no account per student.

``ClassroomSpawner`` is JupyterHub's ``SimpleLocalProcessSpawner`` (a local process per student,
no system account per student) with what a classroom needs:

* **a home folder per student** (``home_dir_template``, ``<shared>/users/<name>``, mode 0700),
  the server's working directory and ``$HOME``;
* **the lab's notebooks copied in on first start**, file by file, never over a file that exists:
  a student's edits are never overwritten, and notebooks added to the lab later appear on the
  next start;
* **one unprivileged account for every student** (``account``) when the hub runs as root: the
  servers and their kernels run as that account from the student runtime (and, through the
  gateway's backend, so do the Dask clusters), so students can read neither the hub's secrets
  (cookie secret, database, password hashes, the credentials file: root's, 0600) nor the
  instructor's environment or checkout;
* **ports from a fixed range** (``port_range``) instead of random ones, so a classroom machine's
  firewall (or a shared test machine) knows which ports the hub uses.

What it does **not** give, and cannot without one system account per student: isolation of one
student from another. All students' processes run as the same account, so a student who wants
to can read or change another student's files, read another cluster's TLS key and connect to
its scheduler, or kill another student's processes. The hub, the gateway's API and the browser
keep students apart in everything they do *normally* (logins, URLs, clusters); use this for a
class, not against an adversary (see docs/hub.md, and deploy/ for Kubernetes, where each student
gets a container).
"""

from __future__ import annotations

import os
import pwd
import socket
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner, set_user_setuid
from traitlets import Integer, Tuple, Unicode

from labhelpers_standin.hub.folders import copy_missing, makedirs

__all__ = ["ClassroomSpawner"]

#: Ports handed to running servers by every spawner of this hub process (one per student).
_PORTS_IN_USE: dict[str, int] = {}


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class ClassroomSpawner(SimpleLocalProcessSpawner):
    """One local JupyterLab per student, in ``<homes>/<name>``, as one unprivileged account."""

    notebooks_dir = Unicode("", config=True, help="The lab's notebooks, copied into each new home.")
    account = Unicode(
        "",
        config=True,
        help="System account every student's server runs as when the hub is root ('' = the hub's own).",
    )
    port_range = Tuple(Integer(), Integer(), default_value=(0, 0), config=True,
                       help="Inclusive range of ports for the students' servers; (0, 0) = random.")

    def _ids(self) -> tuple[int, int] | tuple[None, None]:
        """The account's (uid, gid) when the hub is root and one is set, else (None, None)."""
        if self.account and os.geteuid() == 0:
            pw = pwd.getpwnam(self.account)
            return pw.pw_uid, pw.pw_gid
        return None, None

    def _prepare_home(self) -> None:
        home = Path(self.home_dir)
        uid, gid = self._ids()
        if not home.exists():
            home.mkdir(mode=0o700, parents=False)
            if uid is not None:
                os.chown(home, uid, gid)
        # A classroom has no use for JupyterLab's "get notified about Jupyter news?" pop-up
        # (offline, it cannot fetch news anyway): a default the student may change.
        news = home / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
        if not news.exists():
            makedirs(news.parent, home, uid, gid)
            news.write_text('{"fetchNews": "false", "checkForUpdates": false}\n')
            if uid is not None:
                os.chown(news, uid, gid)
        if self.notebooks_dir:
            copied = copy_missing(Path(self.notebooks_dir), home, uid, gid)
            if copied:
                self.log.info("Copied %d lab file(s) into %s: %s", len(copied), home, ", ".join(copied))

    def _pick_port(self) -> int:
        """A free port of ``port_range`` no other student's server holds (0: let JupyterHub choose)."""
        low, high = self.port_range
        if not low:
            return 0
        taken = {p for name, p in _PORTS_IN_USE.items() if name != self.user.name}
        for port in range(low, high + 1):
            if port not in taken and _port_free(port):
                _PORTS_IN_USE[self.user.name] = port
                return port
        raise RuntimeError(
            f"No free port left in {low}-{high} for {self.user.name}'s server: every port is taken. "
            "Restart the hub with a wider --server-ports range."
        )

    async def start(self):
        """Prepare the home (first start: copy the notebooks), pick a port, start the server.

        Returns
        -------
        (str, int)
            Where the server listens, as JupyterHub expects.
        """
        self._prepare_home()
        self.port = self._pick_port()
        return await super().start()

    async def stop(self, now=False):
        """Stop the server and give its port back.

        Parameters
        ----------
        now : bool
            Stop at once, without waiting for a clean shutdown.
        """
        await super().stop(now=now)
        _PORTS_IN_USE.pop(self.user.name, None)

    def make_preexec_fn(self, name):
        """In the child, before exec: enter the home folder, then drop to ``account``.

        Parameters
        ----------
        name : str
            The account JupyterHub would switch to (unused: ``account`` is).

        Returns
        -------
        callable
        """
        home = self.home_dir
        become = set_user_setuid(self.account, chdir=False) if self._ids()[0] is not None else None

        def preexec():
            os.chdir(home)
            if become is not None:
                become()

        return preexec

    def user_env(self, env):
        """``HOME`` is the student's folder, ``USER`` the JupyterHub name, caches inside the home.

        Parameters
        ----------
        env : dict
            The environment JupyterHub prepared.

        Returns
        -------
        dict
        """
        env = super().user_env(env)
        env["XDG_CACHE_HOME"] = os.path.join(self.home_dir, ".cache")
        return env
