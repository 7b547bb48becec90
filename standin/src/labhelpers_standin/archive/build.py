"""Build the offline archive once, completely or not at all.

The archive (``archive_dir(size)``) is produced by two generators, one per dataset:
``labhelpers_standin.archive.sentinel2`` (Sentinel-2 L2A) and ``labhelpers_standin.archive.modis``
(MODIS MCD43A4, HDF4 and COGs). Each writes its files into the archive folder it is given and
returns its *truth*: the facts tests and notebooks check against (item counts, known values).

This module only orchestrates, and makes two promises:

* **Never a half-built archive.** Everything is written into a temporary folder next to the
  final one; ``manifest.json`` (both truths), ``checksums.json`` (size and SHA-256 of every blob,
  so ``up`` can verify what it serves) and then ``BUILD_OK`` are written last, and the folder is
  renamed into place. A crash leaves a ``.building-*`` folder that the next build removes, never
  a partial ``archive/<size>``.
* **Build only what is missing.** ``BUILD_OK`` records the builder version; a complete archive
  from the same builders is returned at once. A file lock serialises concurrent builds (two
  test sessions starting together build once).
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import json
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from labhelpers_standin.archive.layout import archive_dir, blob_name
from labhelpers_standin.errors import BuildError

__all__ = ["BUILDERS", "CHECKSUMS", "builders", "builder_version", "built_version", "manifest", "checksums", "build"]

FORMAT_VERSION = "2"  # bump when the archive layout or manifest format changes
#: The file recording size and SHA-256 of every blob (see :mod:`~labhelpers_standin.archive.layout`).
CHECKSUMS = "checksums.json"
BUILDERS = {"sentinel-2-l2a": "labhelpers_standin.archive.sentinel2", "modis": "labhelpers_standin.archive.modis"}


def builders() -> dict[str, ModuleType]:
    """Import the generators (lazily: ``up`` and ``down`` must not pay for numpy/rasterio imports).

    Returns
    -------
    dict
        Dataset key -> generator module.
    """
    return {key: importlib.import_module(name) for key, name in BUILDERS.items()}


def builder_version(mods: dict[str, ModuleType]) -> str:
    """The version an archive is built with: this format plus each generator's ``VERSION``.

    Parameters
    ----------
    mods : dict
        From :func:`builders`.

    Returns
    -------
    str
    """
    parts = [f"format-{FORMAT_VERSION}"] + [f"{k}-{getattr(m, 'VERSION', '0')}" for k, m in mods.items()]
    return "+".join(parts)


def built_version(root: Path) -> str | None:
    """The builder version recorded in ``root/BUILD_OK``.

    Parameters
    ----------
    root : pathlib.Path

    Returns
    -------
    str or None
        None when the archive is incomplete or absent.
    """
    try:
        return json.loads((root / "BUILD_OK").read_text())["builder_version"]
    except (OSError, ValueError, KeyError):
        return None


def manifest(root: Path) -> dict:
    """The parsed ``manifest.json`` of a complete archive.

    Parameters
    ----------
    root : pathlib.Path

    Returns
    -------
    dict

    Raises
    ------
    FileNotFoundError
        When ``root`` holds no complete archive.
    """
    return json.loads((root / "manifest.json").read_text())


def checksums(root: Path) -> dict[str, dict]:
    """Size and SHA-256 of every file under ``root/blobs``, keyed ``<account>/<container>/<blob path>``.

    Parameters
    ----------
    root : pathlib.Path
        An archive folder (complete or being built).

    Returns
    -------
    dict
        ``{"sentinel2l2a01/sentinel2-l2/10/U/EE/...": {"size": 12345, "sha256": "ab12..."}, ...}``,
        sorted by key.
    """
    out = {}
    for path in sorted((Path(root) / "blobs").rglob("*")):
        if path.is_file():
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
            out[blob_name(root, path)] = {"size": path.stat().st_size, "sha256": digest.hexdigest()}
    return out


@contextmanager
def _lock(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build(size: str = "ci", force: bool = False) -> Path:
    """Return ``archive_dir(size)``, building it first when missing, outdated, or ``force``.

    Parameters
    ----------
    size : {"ci", "full"}
    force : bool
        Rebuild even when a complete archive of this version exists.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    BuildError
        When a generator fails (the previous archive, if any, is left intact).
    ValueError
        For another size.
    """
    final = archive_dir(size)
    mods = builders()
    version = builder_version(mods)
    if not force and built_version(final) == version:
        return final
    with _lock(final.parent / f".{size}.lock"):
        if not force and built_version(final) == version:  # built by someone we waited for
            return final
        for stale in final.parent.glob(f".{size}.building-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{size}.building-", dir=final.parent))
        tmp.chmod(0o755)  # mkdtemp's 0700 would survive the rename
        try:
            truth = {key: _run_generator(key, mod, tmp, size) for key, mod in mods.items()}
            doc = {**truth, "size": size, "builder_version": version}
            (tmp / "manifest.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
            (tmp / CHECKSUMS).write_text(json.dumps(checksums(tmp), indent=1, sort_keys=True) + "\n")
            ok = {"builder_version": version, "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            (tmp / "BUILD_OK").write_text(json.dumps(ok) + "\n")
            _swap_in(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final


def _run_generator(key: str, mod: ModuleType, root: Path, size: str) -> dict:
    try:
        return mod.build(root, size)
    except Exception as err:
        raise BuildError(f"The {key} generator failed ({type(err).__name__}: {err}); nothing was changed, the "
                         "previous archive (if any) is intact. Its log above says why; report it if it persists.") from err


def _swap_in(new: Path, final: Path) -> None:
    """Rename ``new`` to ``final``; an old archive is moved aside first and removed after."""
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{time.time_ns()}")
        final.rename(old)
    new.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
