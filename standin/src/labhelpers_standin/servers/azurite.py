"""Azure Blob Storage on 127.0.0.1: Azurite, with MPC's account and container names.

Azurite (Microsoft's emulator, from npm) speaks the real Blob REST API, which is what every
client in the lab expects: rasterio/GDAL read COGs with HTTP range requests, and
``azure-storage-blob`` lists containers. With ``AZURITE_ACCOUNTS`` it hosts accounts named like
MPC's storage accounts (``sentinel2l2a01``, ``modiseuwest``), and on an IP host it uses
path-style URLs, so ``https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/x.tif`` becomes
``http://127.0.0.1:10000/sentinel2l2a01/sentinel2-l2/x.tif`` and nothing else changes.

Containers get *container-level public read access*: anonymous clients can list and read,
exactly what the lab needs without SAS tokens. Account keys are random per start (they only
authorise our own uploads) and are kept nowhere.

Azurite persists blobs in ``--location``, so uploads survive restarts. After a container is
fully uploaded we store a fingerprint of its files (names, sizes, mtimes) as container
metadata; on the next ``up`` a matching fingerprint skips the upload. Keeping the marker in
Azurite itself means it cannot claim blobs that Azurite lost.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
import secrets
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from labhelpers_standin.errors import StandinError
from labhelpers_standin.processes import HOST, Proc, spawn, wait_until
from labhelpers_standin.state import offline_dir

__all__ = ["executable", "blob_url", "containers", "start", "healthy", "wait", "check_anonymous_range_read",
           "content_type", "publish"]

ACCOUNTS = ("sentinel2l2a01", "modiseuwest")  # always served, even before an archive names them
SETUP_HINT = "Install it with `make setup` (or `bash scripts/setup.sh`), which runs `npm ci` and links it into .venv/bin."
CONTENT_TYPES = {
    ".tif": "image/tiff; application=geotiff; profile=cloud-optimized",
    ".tiff": "image/tiff; application=geotiff",
    ".hdf": "application/x-hdf",
    ".xml": "application/xml",
    ".json": "application/json",
    ".txt": "text/plain",
}


def executable() -> Path:
    """The ``azurite-blob`` program: ``LABHELPERS_AZURITE``, else on PATH, else beside this Python.

    ``make setup`` installs Azurite with npm and links ``azurite-blob`` into the virtual
    environment's ``bin`` folder, so it is found even when the environment is not activated.

    Raises
    ------
    StandinError
        When it is found nowhere; the message says how to install it.
    """
    configured = os.environ.get("LABHELPERS_AZURITE")
    if configured:
        path = Path(configured).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise StandinError(f"LABHELPERS_AZURITE={configured} is not an executable file. {SETUP_HINT}")
        return path
    found = shutil.which("azurite-blob") or shutil.which("azurite-blob", path=str(Path(sys.executable).parent))
    if found:
        return Path(found)
    raise StandinError(
        f"Azurite (azurite-blob) was not found on PATH nor in {Path(sys.executable).parent}. {SETUP_HINT} "
        "Or point LABHELPERS_AZURITE at an azurite-blob program."
    )


def blob_url(port: int) -> str:
    """The ``{account}`` URL template clients use (``labhelpers.settings``' blob_url)."""
    return f"http://{HOST}:{port}/{{account}}"


def containers(root: Path) -> list[tuple[str, str]]:
    """Every ``blobs/<account>/<container>`` folder of the archive at ``root``."""
    return sorted((c.parent.name, c.name) for c in (root / "blobs").glob("*/*") if c.is_dir())


def start(port: int, log: Path, accounts: list[str]) -> tuple[Proc, dict[str, str]]:
    """Start Azurite on 127.0.0.1:``port`` serving ``accounts``; return it and the account keys."""
    exe = executable()
    if shutil.which("node") is None:
        raise StandinError(f"Node.js (node), which runs Azurite, was not found. {SETUP_HINT}")
    keys = {a: base64.b64encode(secrets.token_bytes(32)).decode() for a in sorted({*ACCOUNTS, *accounts})}
    location = offline_dir() / "azurite"
    location.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AZURITE_ACCOUNTS": ";".join(f"{a}:{k}" for a, k in keys.items())}
    cmd = [
        str(exe), "--blobHost", HOST, "--blobPort", str(port), "--location", str(location),
        "--skipApiVersionCheck", "--loose", "--disableProductStyleUrl", "--disableTelemetry", "--silent",
    ]
    proc = spawn("azurite", cmd, log, env=env, cwd=location)
    return proc, keys


def healthy(port: int, account: str = ACCOUNTS[0]) -> bool:
    """Azurite answers a Blob REST request (any HTTP status is an answer; 400/403 included)."""
    try:
        r = requests.get(f"http://{HOST}:{port}/{account}?comp=list", timeout=2)
        return "x-ms-request-id" in r.headers
    except requests.RequestException:
        return False


def wait(proc: Proc, port: int, timeout: float = 60) -> None:
    wait_until(proc, lambda: healthy(port), "Azurite blob server", timeout, proc.log)


def _service(port: int, account: str, key: str):
    from azure.storage.blob import BlobServiceClient

    conn = (
        f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};"
        f"BlobEndpoint=http://{HOST}:{port}/{account};"
    )
    return BlobServiceClient.from_connection_string(conn)


def _fingerprint(folder: Path) -> tuple[str, list[Path]]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for p in files:
        st = p.stat()
        h.update(f"{p.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest(), files


def check_anonymous_range_read(root: Path, port: int) -> None:
    """Read 1 byte of one archive blob without credentials: public access and ranges both work.

    This is how GDAL reads COGs (``/vsicurl/`` range requests, no key), so a stand-in that fails
    here would fail in every notebook; better to fail ``up`` with the reason.
    """
    for account, name in containers(root):
        first = next((p for p in sorted((root / "blobs" / account / name).rglob("*")) if p.is_file()), None)
        if first is None:
            continue
        url = f"http://{HOST}:{port}/{account}/{name}/{first.relative_to(root / 'blobs' / account / name).as_posix()}"
        r = requests.get(url, headers={"Range": "bytes=0-0"}, timeout=10)
        if r.status_code != 206:
            raise StandinError(f"Azurite answered {r.status_code} (not 206) to an anonymous range request for {url}.")
        return


def content_type(path: Path) -> str:
    return CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def publish(root: Path, port: int, keys: dict[str, str], workers: int = 8) -> int:
    """Create every archive container with public read access and upload its files.

    Containers whose stored fingerprint matches are skipped; in the others, blobs that are no
    longer in the archive are deleted. Returns the number of files uploaded.
    """
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import ContentSettings

    uploaded = 0
    for account, name in containers(root):
        folder = root / "blobs" / account / name
        want, files = _fingerprint(folder)
        container = _service(port, account, keys[account]).get_container_client(name)
        try:
            container.create_container(public_access="container")
        except ResourceExistsError:
            if container.get_container_properties().metadata.get("labhelpers_fingerprint") == want:
                continue
            container.set_container_access_policy(signed_identifiers={}, public_access="container")

        def put(path: Path, container=container, folder=folder) -> None:
            with open(path, "rb") as data:
                container.upload_blob(
                    path.relative_to(folder).as_posix(), data, overwrite=True,
                    content_settings=ContentSettings(content_type=content_type(path)),
                    max_concurrency=1,
                )

        names = {p.relative_to(folder).as_posix() for p in files}
        stale = [b for b in container.list_blob_names() if b not in names]  # from an older archive
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(container.delete_blob, stale))
            list(pool.map(put, files))
        container.set_container_metadata({"labhelpers_fingerprint": want})
        uploaded += len(files)
    return uploaded
