"""The STAC API: stac-fastapi-pgstac served by uvicorn on 127.0.0.1.

stac-fastapi-pgstac is the same software family as MPC's API (MPC runs a customised
stac-fastapi on pgstac), so searches behave the same way: ``bbox``, ``datetime``, the ``query``
extension (``{"eo:cloud_cover": {"lt": 25}}``), CQL2 ``filter``, ``sortby``, ``fields`` and
token pagination with ``next`` links for GET and POST. All default extensions are on; the
transaction extensions stay off (MPC's catalog is read-only too).

The app is configured by environment variables only (``PGHOST``, ``PGPORT``... read by its
pydantic settings), and it also reads a ``.env`` file from its working directory, so it runs in
the logs folder where no stray ``.env`` can change it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import requests

from labhelpers_standin.servers import postgres
from labhelpers_standin.processes import HOST, Proc, spawn, wait_until


__all__ = ["url", "start", "healthy", "wait"]


def url(port: int) -> str:
    """The STAC API's root URL.

    Parameters
    ----------
    port : int

    Returns
    -------
    str
    """
    return f"http://{HOST}:{port}"


def start(port: int, pg_port: int, log: Path) -> Proc:
    """Start uvicorn with stac-fastapi-pgstac's app factory, connected to our pgstac database.

    Parameters
    ----------
    port : int
    pg_port : int
        PostgreSQL's port.
    log : pathlib.Path
        The server's log (it runs in this log's folder, where no stray ``.env`` can change it).

    Returns
    -------
    Proc
    """
    env = {
        **os.environ,
        "PGUSER": postgres.SUPERUSER,
        "PGPASSWORD": postgres.password(),
        "PGHOST": HOST,
        "PGPORT": str(pg_port),
        "PGDATABASE": postgres.DATABASE,
        "DB_MIN_CONN_SIZE": "1",
        "DB_MAX_CONN_SIZE": "4",
        "STAC_FASTAPI_TITLE": "Offline Planetary Computer (labhelpers)",
        "STAC_FASTAPI_DESCRIPTION": "A local stand-in for the Microsoft Planetary Computer STAC API",
    }
    cmd = [
        sys.executable, "-m", "uvicorn", "stac_fastapi.pgstac.app:create_app", "--factory",
        "--host", HOST, "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning",
    ]
    return spawn("stac", cmd, log, env=env, cwd=log.parent)


def healthy(port: int, collections: list[str] | None = None) -> bool:
    """The landing page answers and ``/collections`` lists every expected collection.

    Parameters
    ----------
    port : int
    collections : list of str, optional

    Returns
    -------
    bool
    """
    try:
        if requests.get(url(port) + "/", timeout=3).status_code != 200:
            return False
        r = requests.get(url(port) + "/collections", timeout=3)
        have = {c["id"] for c in r.json().get("collections", [])}
        return r.status_code == 200 and set(collections or []) <= have
    except (requests.RequestException, ValueError):
        return False


def wait(proc: Proc, port: int, collections: list[str], timeout: float = 90) -> None:
    """Poll until the API answers with every collection loaded.

    Parameters
    ----------
    proc : Proc
    port : int
    collections : list of str
    timeout : float, default 90

    Raises
    ------
    StandinError
        When it exits or is not healthy in time.
    """
    wait_until(proc, lambda: healthy(port, collections), "STAC API (stac-fastapi-pgstac)", timeout, proc.log)
