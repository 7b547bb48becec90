"""Where the lab's services live: the one place that reads configuration.

The lab talks to three services: a STAC API (the catalog), Azure Blob Storage (where the
files are) and, optionally, a Dask Gateway (where the workers are). On the Microsoft
Planetary Computer these are public URLs; in an offline classroom or in CI they are real
servers of the same kind started on this machine by ``labhelpers offline up``.

A *profile* names one of those worlds:

``planetary-computer`` (the default)
    MPC's STAC API, Azure Blob URLs ``https://{account}.blob.core.windows.net``, and a Dask
    Gateway only if one is configured (``DASK_GATEWAY__ADDRESS`` or dask's config); the MPC
    Hub and its gateway were retired in June 2024, so otherwise a ``LocalCluster`` is used.
``offline``
    the local stand-in. Its URLs are read from the state file ``labhelpers offline up``
    writes, so ports can change without touching a notebook. When ``LABHELPERS_STAC_URL`` and
    ``LABHELPERS_BLOB_URL`` are both set the state file is not read at all: a classroom hub's
    students and sandboxed grading kernels run as other accounts, which cannot read it (mode
    0600), and get the stand-in's URLs in their environment instead. Their Dask Gateway then
    comes from ``LABHELPERS_GATEWAY_ADDRESS`` or dask's own ``gateway.address`` configuration.

Environment variables override single values (they are read here and nowhere else):

=============================  ==================================================
``LABHELPERS_PROFILE``         ``planetary-computer`` or ``offline``
``LABHELPERS_STAC_URL``        the STAC API root
``LABHELPERS_BLOB_URL``        blob account URL template containing ``{account}``
``LABHELPERS_GATEWAY_ADDRESS`` a Dask Gateway address (empty string: none)
``LABHELPERS_OFFLINE_DIR``     the stand-in's folder (default: :func:`offline_dir`)
``LABHELPERS_TIMEOUT``         seconds to wait for each answer of a service (default 60)
=============================  ==================================================

Every request the lab makes has a timeout (:func:`timeouts`) and is retried once on a dropped
connection, a timeout or an HTTP 5xx; after that the error names the service and what to do.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from labhelpers.errors import ConfigError

__all__ = ["PROFILES", "MPC_STAC_URL", "MPC_BLOB_URL", "CONNECT_TIMEOUT", "READ_TIMEOUT", "Settings", "get_settings",
           "offline_dir", "state_file", "read_state", "timeouts"]

PROFILES = ("planetary-computer", "offline")

MPC_STAC_URL = "https://planetarycomputer.microsoft.com/api/stac/v1"
MPC_BLOB_URL = "https://{account}.blob.core.windows.net"

#: Seconds to wait for a connection, and for each answer (one read) of a service: generous for MPC's
#: slow searches, short enough that a frozen server is an error, not a hang.
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60

#: The stand-in's folder inside a project: ``labhelpers offline up`` creates it where it is run.
OFFLINE_DIR_NAME = ".offline"


def offline_dir() -> Path:
    """The folder where the offline stand-in keeps its archive, databases and state file.

    ``LABHELPERS_OFFLINE_DIR`` wins. Otherwise the nearest ``.offline`` folder in the current
    directory or one of its parents (so a notebook in ``notebooks/`` finds the stand-in started in
    the project folder), and ``./.offline`` when there is none yet.

    Returns
    -------
    pathlib.Path
        An absolute path; it may not exist yet.
    """
    env = os.environ.get("LABHELPERS_OFFLINE_DIR")
    if env:
        return Path(env).expanduser().resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / OFFLINE_DIR_NAME).is_dir():
            return folder / OFFLINE_DIR_NAME
    return here / OFFLINE_DIR_NAME


def timeouts() -> tuple[float, float]:
    """``(connect, read)`` timeouts in seconds for every request to a service.

    ``LABHELPERS_TIMEOUT`` sets the read timeout (and caps the connect timeout); default
    :data:`READ_TIMEOUT`.

    Returns
    -------
    tuple of 2 float

    Raises
    ------
    ConfigError
        When ``LABHELPERS_TIMEOUT`` is not a positive number of seconds.
    """
    text = os.environ.get("LABHELPERS_TIMEOUT")
    if not text:
        return float(CONNECT_TIMEOUT), float(READ_TIMEOUT)
    try:
        read = float(text)
    except ValueError:
        read = -1.0
    if not 0 < read < 3600:
        raise ConfigError(f"LABHELPERS_TIMEOUT={text!r} must be a number of seconds between 0 and 3600, e.g. 60.")
    return min(float(CONNECT_TIMEOUT), read), read


def state_file() -> Path:
    """The JSON file ``labhelpers offline up`` writes: URLs, ports and PIDs of the services.

    Returns
    -------
    pathlib.Path
        ``offline_dir() / "state.json"``.
    """
    return offline_dir() / "state.json"


def read_state() -> dict:
    """The running stand-in's state, as ``labhelpers offline up`` wrote it.

    Returns
    -------
    dict
        At least ``stac_url``, ``blob_url`` and ``gateway`` (None or address, proxy, auth).

    Raises
    ------
    ConfigError
        When no stand-in is running here (no state file) or its state file is unreadable.
    """
    path = state_file()
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            "The offline Planetary Computer is not running (no state file at "
            f"{path}). Start it with `labhelpers offline up` (or `make offline-up`) in the project "
            "folder, set LABHELPERS_OFFLINE_DIR to its .offline folder, or use "
            "profile='planetary-computer' when you are online."
        ) from None
    except (OSError, ValueError) as err:
        state = err
    if isinstance(state, dict) and all(isinstance(state.get(k), str) for k in ("stac_url", "blob_url")):
        return state
    raise ConfigError(
        f"The offline stand-in's state file {path} is unreadable or incomplete. "
        "Restart it with `labhelpers offline down && labhelpers offline up`."
    )


@dataclass(frozen=True)
class Settings:
    """Resolved locations of the lab's services for one profile."""

    profile: str
    stac_url: str
    blob_url: str  # template with "{account}"
    gateway_address: str | None = None
    gateway_proxy_address: str | None = None
    gateway_auth: dict = field(default_factory=dict, repr=False)  # holds a password: never printed
    #: True when ``LABHELPERS_GATEWAY_ADDRESS`` chose the gateway (an empty value: none); it then
    #: wins over dask's ``gateway.address`` configuration (see :mod:`labhelpers.cluster`).
    gateway_override: bool = False

    def blob_account_url(self, account: str) -> str:
        """The URL of one storage account.

        Parameters
        ----------
        account : str
            An Azure storage account name, e.g. ``"modiseuwest"``.

        Returns
        -------
        str
            ``https://modiseuwest.blob.core.windows.net`` online, the local blob server offline.
        """
        return self.blob_url.format(account=account)


def get_settings(profile: str | None = None) -> Settings:
    """Resolve where the services of ``profile`` are.

    Parameters
    ----------
    profile : str, optional
        ``"planetary-computer"`` or ``"offline"``; default ``LABHELPERS_PROFILE``, else
        ``"planetary-computer"``.

    Returns
    -------
    Settings

    Raises
    ------
    ConfigError
        For an unknown profile, a malformed ``LABHELPERS_BLOB_URL``, or the offline profile
        while the stand-in is not running (and its URLs are not both in the environment).
    """
    env = os.environ
    profile = profile or env.get("LABHELPERS_PROFILE") or "planetary-computer"
    if profile not in PROFILES:
        hint = f" (from LABHELPERS_PROFILE)" if profile == env.get("LABHELPERS_PROFILE") else ""
        raise ConfigError(f"Unknown profile {profile!r}{hint}: choose one of {', '.join(map(repr, PROFILES))}.")

    if profile == "offline" and "LABHELPERS_STAC_URL" in env and "LABHELPERS_BLOB_URL" in env:
        stac_url, blob_url, gateway, proxy, auth = "", "", None, None, {}  # both given: no state file needed
    elif profile == "offline":
        state = read_state()
        stac_url = state["stac_url"]
        blob_url = state["blob_url"]
        gw = state.get("gateway") or {}
        gateway = gw.get("address")
        proxy = gw.get("proxy_address")
        auth = gw.get("auth") or {}
    else:
        stac_url, blob_url, gateway, proxy, auth = MPC_STAC_URL, MPC_BLOB_URL, None, None, {}

    stac_url = env.get("LABHELPERS_STAC_URL", stac_url)
    blob_url = env.get("LABHELPERS_BLOB_URL", blob_url)
    override = "LABHELPERS_GATEWAY_ADDRESS" in env
    if override:
        gateway = env["LABHELPERS_GATEWAY_ADDRESS"] or None
    if "{account}" not in blob_url:
        raise ConfigError(
            f"LABHELPERS_BLOB_URL must contain '{{account}}', e.g. {MPC_BLOB_URL!r}; got {blob_url!r}."
        )
    for name, url in (("LABHELPERS_STAC_URL", stac_url), ("LABHELPERS_BLOB_URL", blob_url),
                      ("LABHELPERS_GATEWAY_ADDRESS", gateway or "http://x")):
        if not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1].strip("/")) == 0:
            raise ConfigError(f"{name} must be an http:// or https:// URL, e.g. {MPC_STAC_URL!r}; got {url!r}.")
    return Settings(profile, stac_url.rstrip("/"), blob_url.rstrip("/"), gateway, proxy, auth, override)
