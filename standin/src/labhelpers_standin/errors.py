"""Every exception the stand-in raises, in one place.

Messages are written for whoever typed the command: what went wrong and the command or option
that fixes it (``--stac-port PORT``, ``labhelpers offline down``, ``make setup``).
"""

from __future__ import annotations

__all__ = ["StandinError", "BuildError", "StateError"]


class StandinError(RuntimeError):
    """The stand-in cannot do what was asked: a port is taken, a server did not start or became
    unhealthy, a tool (PostgreSQL, Azurite) is missing. Nothing this call started is left running."""


class BuildError(StandinError):
    """The offline archive cannot be built (a generator failed); no half-built archive is left."""


class StateError(StandinError):
    """The state file of a running stand-in is unreadable or inconsistent with what runs."""
