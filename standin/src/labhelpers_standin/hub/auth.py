"""JupyterHub login for a class list: per-student passwords checked against stored hashes.

``jupyterhub_config.py`` (written by :mod:`labhelpers_standin.hub.config`) sets::

    c.JupyterHub.authenticator_class = "labhelpers_standin.hub.auth.ClassListAuthenticator"
    c.ClassListAuthenticator.passwords_file = "<hub>/secrets/passwords.json"
    c.Authenticator.allowed_users = {...the class list...}
    c.Authenticator.allow_existing_users = False

There is no sign-up: a name that is not in the class list cannot log in whatever it types, and
``allow_existing_users = False`` makes removing a name from the list (and ``up`` again) revoke
that student's access even though JupyterHub's database still remembers them.
"""

from __future__ import annotations

import asyncio
import json
import os

from jupyterhub.auth import Authenticator
from traitlets import Unicode

from labhelpers_standin.hub.classlist import check_password

__all__ = ["ClassListAuthenticator"]


class ClassListAuthenticator(Authenticator):
    """Log students in with the passwords ``labhelpers hub up`` generated for the class list."""

    passwords_file = Unicode(
        "",
        config=True,
        help="JSON file {username: scrypt hash} written by `labhelpers hub up` (mode 0600).",
    )

    _cache: tuple[float, dict] | None = None

    def _hashes(self) -> dict:
        """The stored hashes, re-read when the file changes (``up`` with a new class list)."""
        mtime = os.stat(self.passwords_file).st_mtime
        if self._cache is None or self._cache[0] != mtime:
            with open(self.passwords_file) as f:
                self._cache = (mtime, json.load(f))
        return self._cache[1]

    async def authenticate(self, handler, data):
        """Return the user name when the password matches its stored hash, else None.

        Parameters
        ----------
        handler : tornado.web.RequestHandler
            The login request (unused).
        data : dict
            ``{"username": ..., "password": ...}`` from the login form.

        Returns
        -------
        str or None
            The normalized user name, or None to refuse the login.
        """
        username = self.normalize_username(data.get("username", ""))
        encoded = self._hashes().get(username)
        if encoded is None:
            return None
        # scrypt takes ~50 ms of CPU: off the event loop, so other students' pages stay responsive.
        ok = await asyncio.get_running_loop().run_in_executor(
            None, check_password, data.get("password", ""), encoded
        )
        return username if ok else None
