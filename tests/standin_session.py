"""The offline Planetary Computer as pytest fixtures, for ``services/`` and ``notebooks/``.

``offline_pc`` gives the whole test session one running stand-in, because starting real servers
is the slow part and every service test only *reads* from them:

* a healthy stand-in that is already running (``labhelpers offline up`` in another terminal,
  ``make offline-up``) is used as it is and left running;
* otherwise the session runs ``up`` on the ``ci`` archive (building it first if needed) and
  ``down`` at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def offline_pc():
    """The running stand-in's state (URLs, ports, PIDs); started for the session if needed."""
    from labhelpers_standin import services

    with services.running(say=lambda *_: None) as state:
        yield state


@pytest.fixture(scope="session")
def offline_settings(offline_pc):
    """``labhelpers.settings.get_settings("offline")`` for the running stand-in."""
    from labhelpers.settings import get_settings

    return get_settings("offline")


@pytest.fixture(scope="session")
def archive_manifest(offline_pc) -> dict:
    """The served archive's ``manifest.json``: the truth service tests compare against."""
    from labhelpers_standin.archive.build import manifest

    return manifest(Path(offline_pc["archive"]))


def private_ports(offset: int):
    """Five ports for a private stand-in: LABHELPERS_OFFLINE_PORT_BASE+offset.. when set (this machine's
    range), else five free ones the system picks."""
    import os
    import socket

    from labhelpers_standin import services

    base = os.environ.get("LABHELPERS_OFFLINE_PORT_BASE")
    if base:
        return services.Ports(*(int(base) + offset + i for i in range(5)))
    socks = [socket.socket() for _ in range(5)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return services.Ports(*ports)
