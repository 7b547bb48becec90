"""Shared fixtures: the offline Planetary Computer for tests marked ``services``.

``offline_pc`` gives the whole test session one running stand-in, because starting real
servers is the slow part (seconds) and every service test only *reads* from them:

* a healthy stand-in that is already running (``labhelpers offline up`` in another terminal,
  ``make offline-up``) is used as it is and left running;
* otherwise the session runs ``up`` on the ``ci`` archive (building it first if needed, about
  a minute) and ``down`` at the end.

Unit tests use none of this.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labhelpers.offline import services


def _quiet_gateway_del():
    """dask_gateway's ``Gateway.__del__`` calls ``close()``, which touches an event loop that
    distributed 2026 has already stopped by then, so every Gateway garbage-collected at exit
    prints a RuntimeError traceback after pytest's summary. Nothing is left to release at that
    point; ignore exactly that error so the summary stays the run's last line."""
    from dask_gateway.client import Gateway

    original = Gateway.__del__

    def __del__(self):
        try:
            original(self)
        except RuntimeError:
            pass

    Gateway.__del__ = __del__


_quiet_gateway_del()


@pytest.fixture(scope="session")
def offline_pc():
    """The running stand-in's state (URLs, ports, PIDs); started for the session if needed."""
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
    from labhelpers.offline.build import manifest

    return manifest(Path(offline_pc["archive"]))
