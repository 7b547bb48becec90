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

**Integrity.** Every file is checked against the archive's ``checksums.json`` (``{"<account>/
<container>/<blob>": {"size", "sha256"}}``, written by the archive build) before it is
uploaded, and the ETag the server gives each blob is recorded (``state.blobs_record``). Any
write to a blob changes its ETag, so each ``up`` (and ``status``) lists the containers and
compares: a blob overwritten, deleted or added behind our back is found with one listing, and
``up`` uploads the archive's file again. Without a record (first start, or the record lost) the
blobs are verified by content (SHA-256), which :func:`verify` also does on demand
(``labhelpers offline status --verify``: it also catches damage to Azurite's own files).
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import os
import secrets
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from labhelpers_standin import state as _state
from labhelpers_standin.errors import StandinError
from labhelpers_standin.processes import HOST, Proc, spawn, wait_until
from labhelpers_standin.state import offline_dir

__all__ = ["executable", "blob_url", "containers", "start", "healthy", "wait", "check_anonymous_range_read",
           "content_type", "checksums", "publish", "tampered", "verify"]

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

    Returns
    -------
    pathlib.Path

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
    """The ``{account}`` URL template clients use (``labhelpers.settings``' blob_url).

    Parameters
    ----------
    port : int

    Returns
    -------
    str
        ``http://127.0.0.1:<port>/{account}``.
    """
    return f"http://{HOST}:{port}/{{account}}"


def containers(root: Path) -> list[tuple[str, str]]:
    """Every ``blobs/<account>/<container>`` folder of the archive at ``root``.

    Parameters
    ----------
    root : pathlib.Path

    Returns
    -------
    list of (str, str)
        ``(account, container)`` pairs, sorted.
    """
    return sorted((c.parent.name, c.name) for c in (root / "blobs").glob("*/*") if c.is_dir())


def start(port: int, log: Path, accounts: list[str]) -> tuple[Proc, dict[str, str]]:
    """Start Azurite on 127.0.0.1:``port`` serving ``accounts``.

    Parameters
    ----------
    port : int
    log : pathlib.Path
    accounts : list of str
        Storage accounts to serve besides MPC's two.

    Returns
    -------
    (Proc, dict)
        The server and its account keys (random per start, kept nowhere: they only authorise our uploads).

    Raises
    ------
    StandinError
        When Azurite or Node.js is missing.
    """
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
    """Azurite answers a Blob REST request (any HTTP status is an answer; 400/403 included).

    Parameters
    ----------
    port : int
    account : str, default "sentinel2l2a01"

    Returns
    -------
    bool
    """
    try:
        r = requests.get(f"http://{HOST}:{port}/{account}?comp=list", timeout=2)
        return "x-ms-request-id" in r.headers
    except requests.RequestException:
        return False


def wait(proc: Proc, port: int, timeout: float = 60) -> None:
    """Poll until Azurite answers.

    Parameters
    ----------
    proc : Proc
    port : int
    timeout : float, default 60

    Raises
    ------
    StandinError
        When it exits or does not answer in time.
    """
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

    Parameters
    ----------
    root : pathlib.Path
    port : int

    Raises
    ------
    StandinError
        When the answer is not ``206 Partial Content``.
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
    """The Content-Type a blob is served with (COGs as MPC serves them).

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    str
    """
    return CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def checksums(root: Path) -> dict[str, dict]:
    """The archive's blob checksums: ``{"<account>/<container>/<blob>": {"size": int, "sha256": hex}}``.

    Read from ``<root>/checksums.json`` (written by the archive build); an archive built before
    that file existed is hashed here instead (same format).

    Parameters
    ----------
    root : pathlib.Path
        The archive folder.

    Returns
    -------
    dict

    Raises
    ------
    StandinError
        When ``checksums.json`` is unreadable.
    """
    path = root / "checksums.json"
    if path.exists():
        try:
            return json.loads(path.read_text())
        except ValueError:
            raise StandinError(f"{path} is not valid JSON: rebuild the archive with `labhelpers offline build --force`.") \
                from None
    out = {}
    for account, name in containers(root):
        folder = root / "blobs" / account / name
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                data = p.read_bytes()
                out[f"{account}/{name}/{p.relative_to(folder).as_posix()}"] = {
                    "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return out


def _anonymous(port: int, account: str, name: str):
    from azure.storage.blob import ContainerClient

    return ContainerClient(account_url=f"http://{HOST}:{port}/{account}", container_name=name,
                           connection_timeout=5, read_timeout=30, retry_total=1)


def _listing(port: int, account: str, name: str) -> dict[str, tuple[str, int]]:
    """``{blob: (etag, size)}`` of a public container, read with plain List Blobs requests.

    (The SDK's listing parses the same XML about four times slower: seconds per status.)
    """
    import xml.etree.ElementTree as ET

    out, marker = {}, ""
    while True:
        r = requests.get(f"http://{HOST}:{port}/{account}/{name}", timeout=(5, 60), params={
            "restype": "container", "comp": "list", "maxresults": "5000", **({"marker": marker} if marker else {})})
        r.raise_for_status()
        root = ET.fromstring(r.content)
        for blob in root.iter("Blob"):
            props = blob.find("Properties")
            out[blob.findtext("Name")] = (props.findtext("Etag").strip('"'), int(props.findtext("Content-Length")))
        marker = root.findtext("NextMarker") or ""
        if not marker:
            return out


def _remote_sha256(container, blob: str) -> str | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        return hashlib.sha256(container.download_blob(blob).readall()).hexdigest()
    except ResourceNotFoundError:
        return None


def _differences(listing: dict[str, tuple[str, int]], expected: dict[str, dict], record: dict | None,
                 prefix: str, container=None) -> list[str]:
    """Blobs that differ from the archive: by ETag and size against ``record``, else by content (SHA-256)."""
    def differs(item) -> bool:
        blob, want = item
        have = listing.get(blob)
        if have is None or have[1] != want["size"]:
            return True
        if record is not None:
            seen = record.get(f"{prefix}/{blob}")
            return not seen or seen.get("etag") != have[0] or seen.get("sha256") != want["sha256"]
        return container is not None and _remote_sha256(container, blob) != want["sha256"]

    with ThreadPoolExecutor(8) as pool:
        flags = list(pool.map(differs, expected.items()))
    return [blob for blob, bad in zip(expected, flags) if bad]


def publish(root: Path, port: int, keys: dict[str, str], workers: int = 8, say=print) -> int:
    """Create every archive container with public read access and make its blobs the archive's.

    Per container: the blobs are listed and compared with the archive (see the module
    docstring); those that differ or are missing are uploaded again, each file checked against
    ``checksums.json`` first, and blobs that are not in the archive are deleted. A container
    uploaded from scratch (new or changed archive) is uploaded whole.

    Parameters
    ----------
    root : pathlib.Path
        The archive folder.
    port : int
        Azurite's port.
    keys : dict
        Account name -> key of this Azurite run (to write).
    workers : int, default 8
        Parallel uploads.
    say : callable, default print
        Reports repairs.

    Returns
    -------
    int
        The number of files uploaded.

    Raises
    ------
    StandinError
        When an archive file does not match its checksum (the archive is damaged).
    """
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import ContentSettings

    sums = checksums(root)
    record = _state.blobs_record()
    new_record: dict[str, dict] = {}
    uploaded = 0
    for account, name in containers(root):
        folder = root / "blobs" / account / name
        prefix = f"{account}/{name}"
        want, files = _fingerprint(folder)
        expected = {}
        for p in files:
            rel = p.relative_to(folder).as_posix()
            if f"{prefix}/{rel}" not in sums:
                raise StandinError(f"{p} is not in {root / 'checksums.json'}: rebuild the archive with "
                                   "`labhelpers offline build --force`.")
            expected[rel] = sums[f"{prefix}/{rel}"]
        container = _service(port, account, keys[account]).get_container_client(name)
        try:
            container.create_container(public_access="container")
        except ResourceExistsError:
            container.set_container_access_policy(signed_identifiers={}, public_access="container")
        listing = _listing(port, account, name)
        same = container.get_container_properties().metadata.get("labhelpers_fingerprint") == want
        bad = _differences(listing, expected, record, prefix, container) if same else list(expected)
        if same and bad:
            say(f"{len(bad)} blob(s) of {prefix} differ from the archive's checksums (e.g. {bad[0]}): uploading "
                "them again.")
        etags = {}

        def put(rel: str, container=container, folder=folder) -> None:
            data = (folder / rel).read_bytes()
            if hashlib.sha256(data).hexdigest() != expected[rel]["sha256"]:
                raise StandinError(f"The archive file {folder / rel} does not match its checksum: the archive is "
                                   "damaged. Rebuild it with `labhelpers offline build --force`.")
            result = container.get_blob_client(rel).upload_blob(
                data, overwrite=True, max_concurrency=1,
                content_settings=ContentSettings(content_type=content_type(folder / rel)))
            etags[rel] = result["etag"].strip('"')  # as listings give it

        stale = [b for b in listing if b not in expected]  # from an older archive, or added behind our back
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(container.delete_blob, stale))
            list(pool.map(put, bad))
        container.set_container_metadata({"labhelpers_fingerprint": want})
        for rel, info in expected.items():
            new_record[f"{prefix}/{rel}"] = {"etag": etags.get(rel, (listing.get(rel) or ("",))[0]), **info}
        uploaded += len(bad)
    _state.save_blobs_record(new_record)
    return uploaded


def tampered(root: Path, port: int, deep: bool = False) -> list[str]:
    """Blobs of the running blob server that differ from the archive at ``root`` (read anonymously).

    Parameters
    ----------
    root : pathlib.Path
        The archive the stand-in serves.
    port : int
        Azurite's port.
    deep : bool, default False
        Compare every blob's SHA-256 (reads them all) instead of ETags and sizes.

    Returns
    -------
    list of str
        ``"<account>/<container>/<blob>: <what>"`` for each difference; empty when intact.
    """
    sums = checksums(root)
    record = None if deep else _state.blobs_record()
    if record is None and not deep:
        return ["(no record of the uploaded blobs: `labhelpers offline up` verifies them by content)"]
    problems = []
    for account, name in containers(root):
        prefix = f"{account}/{name}"
        expected = {k[len(prefix) + 1:]: v for k, v in sums.items() if k.startswith(prefix + "/")}
        container = _anonymous(port, account, name)
        listing = _listing(port, account, name)
        for blob in _differences(listing, expected, record, prefix, container if deep else None):
            problems.append(f"{prefix}/{blob}: " + ("missing" if blob not in listing else "changed"))
        problems += [f"{prefix}/{b}: not in the archive" for b in listing if b not in expected]
    return problems


def verify(root: Path, port: int) -> list[str]:
    """:func:`tampered` by content: every blob read and its SHA-256 compared with ``checksums.json``.

    Parameters
    ----------
    root : pathlib.Path
    port : int

    Returns
    -------
    list of str
    """
    return tampered(root, port, deep=True)
