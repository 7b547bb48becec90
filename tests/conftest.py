"""Shared fixtures: the offline Planetary Computer for tests marked ``services``.

``offline_pc`` gives the whole test session one running stand-in, because starting real
servers is the slow part (seconds) and every service test only *reads* from them:

* a healthy stand-in that is already running (``labhelpers offline up`` in another terminal,
  ``make offline-up``) is used as it is and left running;
* otherwise, when the archive generators are installed, the session runs ``up`` on the
  ``ci`` archive (building it if needed) and ``down`` at the end;
* otherwise (the generators are still being written) it serves the tiny archive of
  ``tests/tinyarchive.py`` from a private folder on free ports, so the real offline folder never
  sees a stand-in archive.

Unit tests use none of this.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from labhelpers.offline import services
from labhelpers.offline.build import BUILDERS


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports that are free on 127.0.0.1 right now."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def private_offline_dir(prefix: str) -> Path:
    """A fresh offline folder that the unprivileged PostgreSQL account can enter (pytest's tmp can't)."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)
    return d


def _generators_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in BUILDERS.values())


@pytest.fixture(scope="session")
def offline_pc():
    """The running stand-in's state (URLs, ports, PIDs); started for the session if needed."""
    state = services.read_state()
    if services.is_healthy(state):
        yield state
        return
    saved = os.environ.get("LABHELPERS_OFFLINE_DIR")
    folder = None
    if _generators_installed():
        state = services.up("ci", say=lambda *_: None)
    else:
        import tinyarchive

        folder = private_offline_dir("labhelpers-tiny-")
        os.environ["LABHELPERS_OFFLINE_DIR"] = str(folder)
        archive = tinyarchive.build(folder / "archive" / "ci")
        state = services.up("ci", services.Ports(*free_ports(5)), archive=archive, say=lambda *_: None)
    try:
        yield state
    finally:
        services.down(say=lambda *_: None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        if saved is None:
            os.environ.pop("LABHELPERS_OFFLINE_DIR", None)
        else:
            os.environ["LABHELPERS_OFFLINE_DIR"] = saved


@pytest.fixture(scope="session")
def offline_settings(offline_pc):
    """``labhelpers.settings.get_settings("offline")`` for the running stand-in."""
    from labhelpers.settings import get_settings

    return get_settings("offline")


@pytest.fixture(scope="session")
def archive_manifest(offline_pc) -> dict:
    """The served archive's ``manifest.json``: the truth service tests compare against."""
    from labhelpers.offline.build import manifest

    return manifest(Path(offline_pc["archive"]))
