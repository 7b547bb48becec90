"""Unit tests: no server runs and none is reached.

Every test starts from an environment without the lab's configuration variables and with a
private, empty stand-in folder, so a stand-in running on this machine cannot change a result.
"""

from __future__ import annotations

import pytest

_LAB_VARS = ("LABHELPERS_PROFILE", "LABHELPERS_STAC_URL", "LABHELPERS_BLOB_URL", "LABHELPERS_GATEWAY_ADDRESS",
             "DASK_GATEWAY__ADDRESS", "DASK_GATEWAY__PROXY_ADDRESS")


@pytest.fixture(autouse=True)
def _no_lab_configuration(monkeypatch, tmp_path_factory):
    for name in _LAB_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LABHELPERS_OFFLINE_DIR", str(tmp_path_factory.mktemp("offline")))
