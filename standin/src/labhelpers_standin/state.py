"""The stand-in's folder and its state file: the contract between ``up``, ``down``, ``status`` and the lab.

Everything the stand-in writes lives in one folder, :func:`labhelpers.settings.offline_dir`
(``LABHELPERS_OFFLINE_DIR``, else the nearest ``.offline`` folder, else ``./.offline``)::

    state.json      what runs: URLs, ports, PIDs and start times (mode 0600: it holds a password)
    logs/           one log per server
    archive/<size>  the built archives
    postgres/ azurite/ gateway/   the servers' own files

``labhelpers.settings`` reads ``stac_url``, ``blob_url`` and ``gateway`` from the state file;
``down`` and ``status`` read ``services``. Only one ``up`` or ``down`` runs at a time per folder.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

from labhelpers.settings import offline_dir, state_file

__all__ = ["offline_dir", "state_file", "logs_dir", "exclusive", "load", "save", "remove"]

#: Bumped when the state file's keys change.
VERSION = 1


def logs_dir() -> Path:
    """Where each server's log goes: ``<offline dir>/logs``."""
    return offline_dir() / "logs"


@contextmanager
def exclusive():
    """Hold the folder's lock: one ``up`` or ``down`` at a time (two test sessions may start together)."""
    offline_dir().mkdir(parents=True, exist_ok=True)
    with open(offline_dir() / ".services.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def load() -> dict | None:
    """The state file's contents, or None when no stand-in was started here."""
    try:
        return json.loads(state_file().read_text())
    except FileNotFoundError:
        return None


def save(state: dict) -> None:
    """Write the state file atomically (tmp + rename) and private (it holds the gateway password)."""
    path = state_file()
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(state, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def remove() -> None:
    """Delete the state file (after ``down`` stopped what it lists)."""
    state_file().unlink(missing_ok=True)
