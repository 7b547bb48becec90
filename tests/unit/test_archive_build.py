"""Unit tests (no servers) for the offline archive orchestrator and the catalog's href rewriting.

The generators are replaced by small modules that write one file and return a truth dict:
what is tested here is the orchestration (complete-or-nothing, build-once), not the data.
"""

from __future__ import annotations

import json
import sys
import types

import pytest

from labhelpers_standin.archive import build as build_mod
from labhelpers_standin.catalog import localize
from labhelpers_standin.archive.layout import archive_dir
from labhelpers_standin.errors import BuildError


@pytest.fixture
def generators(monkeypatch, tmp_path):
    """Fake generators in place of the real ones; ``calls`` counts builds, ``fail`` breaks MODIS."""
    monkeypatch.setenv("LABHELPERS_OFFLINE_DIR", str(tmp_path))
    state = {"calls": 0, "fail": False}

    def make(key):
        def build(root, size):
            state["calls"] += 1
            if key == "modis" and state["fail"]:
                raise RuntimeError("generator broke")
            (root / f"{key}.txt").write_text(size)
            blob = root / "blobs" / "account1" / "container" / key / "a file.bin"
            blob.parent.mkdir(parents=True, exist_ok=True)
            blob.write_bytes(key.encode() * 1000)
            return {"items": 3}

        return types.SimpleNamespace(build=build, VERSION="7")

    for key, name in build_mod.BUILDERS.items():
        monkeypatch.setitem(sys.modules, name, make(key))
    return state


def test_build_writes_manifest_and_build_ok_once(generators):
    root = build_mod.build("ci")
    assert root == archive_dir("ci")
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["sentinel-2-l2a"] == {"items": 3} and manifest["modis"] == {"items": 3}
    assert manifest["size"] == "ci" and "sentinel-2-l2a-7" in manifest["builder_version"]
    assert build_mod.built_version(root) == manifest["builder_version"]
    calls = generators["calls"]
    assert build_mod.build("ci") == root and generators["calls"] == calls  # complete: not rebuilt


def test_build_records_the_size_and_sha256_of_every_blob(generators):
    import hashlib

    root = build_mod.build("ci")
    sums = json.loads((root / "checksums.json").read_text())
    assert sums == build_mod.checksums(root)
    assert set(sums) == {"account1/container/sentinel-2-l2a/a file.bin", "account1/container/modis/a file.bin"}
    entry = sums["account1/container/modis/a file.bin"]
    assert entry == {"size": 5000, "sha256": hashlib.sha256(b"modis" * 1000).hexdigest()}


def test_sizes_are_one_vocabulary():
    from labhelpers_standin.archive import layout

    assert layout.SIZES == ("ci", "full") and layout.ALL_SIZES == ("ci", "full", "test")
    with pytest.raises(ValueError, match="choose one of ci, full"):
        archive_dir("test")  # the test size is for unit tests of the generators, never served


def test_failed_build_leaves_no_partial_archive_and_keeps_the_old_one(generators):
    root = build_mod.build("ci")
    generators["fail"] = True
    with pytest.raises(BuildError, match="generator broke"):
        build_mod.build("ci", force=True)
    assert build_mod.built_version(root) is not None  # the previous archive is intact
    assert (root / "checksums.json").exists()
    assert [p.name for p in root.parent.iterdir() if "building" in p.name] == []


def test_localize_points_assets_at_the_blob_server_and_drops_api_links():
    item = {
        "id": "x",
        "links": [
            {"rel": "self", "href": "https://planetarycomputer.microsoft.com/api/stac/v1/collections/c/items/x"},
            {"rel": "root", "href": "https://planetarycomputer.microsoft.com/api/stac/v1/"},
            {"rel": "license", "href": "https://sentinel.esa.int/documents/247904/690755/Sentinel_Data_Legal_Notice"},
        ],
        "assets": {
            "B04": {"href": "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/10/U/EE/b04.tif"},
            "tilejson": {"href": "https://planetarycomputer.microsoft.com/api/data/v1/item/tilejson.json"},
        },
    }
    out = localize(item, "http://127.0.0.1:10000/{account}")
    assert out["assets"]["B04"]["href"] == "http://127.0.0.1:10000/sentinel2l2a01/sentinel2-l2/10/U/EE/b04.tif"
    assert out["assets"]["tilejson"] == item["assets"]["tilejson"]
    assert [link["rel"] for link in out["links"]] == ["license"]
    assert item["assets"]["B04"]["href"].startswith("https://")  # the input is not modified
