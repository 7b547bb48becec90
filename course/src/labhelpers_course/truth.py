"""The known truth of the served offline archive, which hidden tests compare answers with.

The archive's builders record what is true of the data they wrote (scene counts, per-class
monthly NDVI/NDSI, MODIS daily means) in its ``manifest.json``. Hidden tests read it here rather
than carrying numbers typed into the tests, so a regenerated archive cannot leave them behind.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["archive_truth"]


def archive_truth(dataset: str, archive: str | Path | None = None) -> dict:
    """The known truth of one dataset of the offline archive.

    Parameters
    ----------
    dataset : {"sentinel-2-l2a", "modis"}
    archive : path, optional
        The archive folder; default the one the running stand-in serves.

    Returns
    -------
    dict
        The dataset's entry of ``manifest.json``.

    Raises
    ------
    KeyError
        When the manifest has no such dataset (rebuild with ``labhelpers offline build --force``).
    labhelpers.errors.ConfigError
        When no archive is given and no stand-in is running.
    """
    if archive is None:
        from labhelpers.settings import read_state

        archive = read_state()["archive"]
    manifest = json.loads((Path(archive) / "manifest.json").read_text())
    if dataset not in manifest:
        raise KeyError(f"The archive's manifest has no {dataset!r} entry (it has {sorted(manifest)}); "
                       "rebuild it with `labhelpers offline build --force`.")
    return manifest[dataset]
