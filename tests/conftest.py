"""Shared by every test folder: ``unit/`` (no servers), ``services/`` (the real stand-in) and
``notebooks/`` (every lab notebook executed). Each folder has its own conftest.py; this one only
makes the helper modules next to it (``s2fixtures``, ``tinyarchive``, ``standin_session``)
importable and quiets one third-party error at exit."""

from __future__ import annotations


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
