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
    writes, so ports can change without touching a notebook.

Environment variables override single values (they are read here and nowhere else):

=============================  ==================================================
``LABHELPERS_PROFILE``         ``planetary-computer`` or ``offline``
``LABHELPERS_STAC_URL``        the STAC API root
``LABHELPERS_BLOB_URL``        blob account URL template containing ``{account}``
``LABHELPERS_GATEWAY_ADDRESS`` a Dask Gateway address (empty string: none)
``LABHELPERS_OFFLINE_DIR``     where the stand-in keeps its data and state file
=============================  ==================================================
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

PROFILES = ("planetary-computer", "offline")

MPC_STAC_URL = "https://planetarycomputer.microsoft.com/api/stac/v1"
MPC_BLOB_URL = "https://{account}.blob.core.windows.net"


class ConfigError(RuntimeError):
    """The configuration does not point at a usable world (bad profile, stand-in not running)."""


def _repo_root() -> Path | None:
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").exists() else None


def offline_dir() -> Path:
    """The folder where the offline stand-in keeps its archive, databases and state file.

    ``LABHELPERS_OFFLINE_DIR`` wins; in a source checkout it is ``<checkout>/.offline``;
    otherwise ``~/.cache/labhelpers/offline``.
    """
    env = os.environ.get("LABHELPERS_OFFLINE_DIR")
    if env:
        return Path(env).expanduser().resolve()
    root = _repo_root()
    if root is not None:
        return root / ".offline"
    return Path.home() / ".cache" / "labhelpers" / "offline"


def state_file() -> Path:
    """The JSON file ``labhelpers offline up`` writes: URLs, ports and PIDs of the services."""
    return offline_dir() / "state.json"


def read_state() -> dict:
    """Return the running stand-in's state, or raise :class:`ConfigError` saying how to start it."""
    path = state_file()
    if not path.exists():
        raise ConfigError(
            "The offline Planetary Computer is not running (no state file at "
            f"{path}). Start it with `labhelpers offline up` (or `make offline-up`), "
            "or use profile='planetary-computer' when you are online."
        )
    return json.loads(path.read_text())


@dataclass(frozen=True)
class Settings:
    """Resolved locations of the lab's services for one profile."""

    profile: str
    stac_url: str
    blob_url: str  # template with "{account}"
    gateway_address: str | None = None
    gateway_proxy_address: str | None = None
    gateway_auth: dict = field(default_factory=dict)

    def blob_account_url(self, account: str) -> str:
        """The URL of one storage account, e.g. ``modiseuwest``."""
        return self.blob_url.format(account=account)


def get_settings(profile: str | None = None) -> Settings:
    """Resolve the settings for ``profile`` (default: ``LABHELPERS_PROFILE`` or planetary-computer)."""
    env = os.environ
    profile = profile or env.get("LABHELPERS_PROFILE") or "planetary-computer"
    if profile not in PROFILES:
        raise ConfigError(f"Unknown profile {profile!r}: choose one of {', '.join(PROFILES)}.")

    if profile == "offline":
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
    if "LABHELPERS_GATEWAY_ADDRESS" in env:
        gateway = env["LABHELPERS_GATEWAY_ADDRESS"] or None
    if "{account}" not in blob_url:
        raise ConfigError(
            f"LABHELPERS_BLOB_URL must contain '{{account}}', e.g. {MPC_BLOB_URL!r}; got {blob_url!r}."
        )
    return Settings(profile, stac_url.rstrip("/"), blob_url.rstrip("/"), gateway, proxy, auth)
