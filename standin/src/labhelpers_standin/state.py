"""The stand-in's folder and its records: the contract between ``up``, ``down``, ``status`` and the lab.

Everything the stand-in writes lives in one folder, :func:`labhelpers.settings.offline_dir`
(``LABHELPERS_OFFLINE_DIR``, else the nearest ``.offline`` folder, else ``./.offline``)::

    state.json      what runs: URLs, ports, PIDs and start times (mode 0600: it holds a password);
                    written last by a successful ``up``, read by the lab (labhelpers.settings)
    run.json        the second record, written *as each server starts*: its pid, start time and
                    command line, and the ports of the last ``up``. A crashed ``up`` (SIGKILL) or a
                    lost or corrupt state.json still leaves ``down`` knowing what is ours.
    blobs.json      what the blob server holds: per blob its ETag, size and archive checksum
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

from labhelpers_standin.errors import StateError

__all__ = ["offline_dir", "state_file", "logs_dir", "exclusive", "load", "save", "remove", "record", "remember",
           "forget", "blobs_record", "save_blobs_record"]

#: Bumped when the state file's keys change.
VERSION = 1
#: Keys every state file written by ``up`` has.
REQUIRED = ("version", "size", "archive", "stac_url", "blob_url", "services")


def logs_dir() -> Path:
    """Where each server's log goes: ``<offline dir>/logs``.

    Returns
    -------
    pathlib.Path
    """
    return offline_dir() / "logs"


@contextmanager
def exclusive():
    """Hold the folder's lock: one ``up`` or ``down`` at a time (two test sessions may start together).

    The lock is an ``flock``: the kernel releases it when its holder dies, so a killed ``up``
    never blocks the next one.
    """
    offline_dir().mkdir(parents=True, exist_ok=True)
    with open(offline_dir() / ".services.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise StateError(f"{path} is unreadable ({type(err).__name__}: {str(err)[:80]}).") from None
    if not isinstance(data, dict):
        raise StateError(f"{path} does not hold a JSON object.")
    return data


def _write_json(path: Path, data: dict) -> None:
    """Write atomically (tmp + rename) and privately (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def load() -> dict | None:
    """The state file's contents, or None when no stand-in was started here.

    Returns
    -------
    dict or None

    Raises
    ------
    StateError
        When the file is corrupt or lacks a key ``up`` always writes (e.g. ``{}``): ``down``
        then falls back on :func:`record` and the processes it finds in this folder.
    """
    state = _read_json(state_file())
    if state is not None:
        missing = [k for k in REQUIRED if k not in state]
        if missing or not isinstance(state.get("services"), dict):
            raise StateError(f"{state_file()} lacks {', '.join(missing) or 'services'}: it was not written by `up`.")
    return state


def save(state: dict) -> None:
    """Write the state file atomically (tmp + rename) and private (it holds the gateway password).

    Parameters
    ----------
    state : dict
    """
    _write_json(state_file(), state)


def remove() -> None:
    """Delete the state file (after ``down`` stopped what it lists)."""
    state_file().unlink(missing_ok=True)


def _run_file() -> Path:
    return offline_dir() / "run.json"


def record() -> dict:
    """The second record: ``{"ports": {...}, "port_base": str|None, "processes": {name: proc}}``.

    Returns
    -------
    dict
        Empty parts when there is no record or it is unreadable (the folder scan still finds our
        processes).
    """
    try:
        data = _read_json(_run_file()) or {}
    except StateError:
        data = {}
    data.setdefault("processes", {})
    return data


def remember(**parts) -> None:
    """Update the second record: ``ports=``/``port_base=`` or ``process=(name, proc dict)`` (a new server).

    Parameters
    ----------
    **parts
        ``ports`` (dict), ``port_base`` (str or None), ``process`` ((name, dict)).
    """
    data = record()
    if "process" in parts:
        name, proc = parts.pop("process")
        data["processes"][name] = proc
    data.update(parts)
    _write_json(_run_file(), data)


def forget() -> None:
    """Drop the processes from the second record (they were stopped); the ports stay for the next ``up``."""
    data = record()
    data["processes"] = {}
    _write_json(_run_file(), data)


def _blobs_file() -> Path:
    return offline_dir() / "blobs.json"


def blobs_record() -> dict | None:
    """What the blob server holds, as the last upload left it: ``{"acct/cont/name": {etag, size, sha256}}``.

    Returns
    -------
    dict or None
        None when there is no usable record (the store is then verified by content).
    """
    try:
        return _read_json(_blobs_file())
    except StateError:
        return None


def save_blobs_record(blobs: dict) -> None:
    """Write the blob record (see :func:`blobs_record`).

    Parameters
    ----------
    blobs : dict
    """
    _write_json(_blobs_file(), blobs)
