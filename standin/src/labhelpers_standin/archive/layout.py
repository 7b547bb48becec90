"""Where the offline archive lives on disk, and how its MPC hrefs map to the local blob server.

The archive is written exactly as MPC publishes it: item hrefs are real Azure Blob URLs such as
``https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/10/U/EE/...``. Only when the items
are loaded into the local STAC API are hrefs pointed at the local blob server (Azurite), with
:func:`localize_href`. That keeps one archive valid for any port, and keeps "what MPC looks
like" and "where it is served" apart.

On-disk layout of one archive (``archive_dir(size)``)::

    blobs/<account>/<container>/<blob path>   the files (COGs, HDF4, text)
    stac/collections/<collection id>.json     STAC collections
    stac/items/<collection id>.ndjson         STAC items, one JSON per line, MPC hrefs
    manifest.json                             known truth for tests (written by the builders)
    BUILD_OK                                  written last: the build is complete
"""

from __future__ import annotations

import re
from pathlib import Path

from labhelpers_standin.state import offline_dir

__all__ = ["SIZES", "archive_dir", "blob_path", "mpc_href", "localize_href"]

SIZES = ("ci", "full")

AZURE_HREF = re.compile(r"^https://(?P<account>[a-z0-9]+)\.blob\.core\.windows\.net/(?P<rest>.*)$")


def archive_dir(size: str = "ci") -> Path:
    """The folder of the ``ci`` or ``full`` archive."""
    if size not in SIZES:
        raise ValueError(f"Unknown archive size {size!r}: choose one of {', '.join(SIZES)}.")
    return offline_dir() / "archive" / size


def blob_path(root: Path, href: str) -> Path:
    """The local file behind an MPC blob href inside archive ``root``."""
    m = AZURE_HREF.match(href)
    if not m:
        raise ValueError(f"Not an Azure Blob href: {href!r}")
    return root / "blobs" / m["account"] / m["rest"]


def mpc_href(account: str, container: str, path: str) -> str:
    """The MPC URL of a blob: ``https://{account}.blob.core.windows.net/{container}/{path}``."""
    return f"https://{account}.blob.core.windows.net/{container}/{path.lstrip('/')}"


def localize_href(href: str, blob_url: str) -> str:
    """Point an MPC blob href at the local blob server; other hrefs are returned unchanged.

    ``blob_url`` is a template such as ``http://127.0.0.1:10000/{account}`` (Azurite's
    path-style URLs, one account per MPC storage account name).
    """
    m = AZURE_HREF.match(href)
    if not m:
        return href
    return f"{blob_url.format(account=m['account'])}/{m['rest']}"
