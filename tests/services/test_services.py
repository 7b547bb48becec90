"""The offline Planetary Computer, tested through real servers and the clients the lab uses.

Every check here is one a notebook depends on: the searches MPC supports (bbox, datetime, the
``query`` extension on ``eo:cloud_cover``, CQL2 ``filter``, paging with ``next`` links over
POST and GET), hrefs that ``planetary_computer.sign`` passes through, COGs read over HTTP with
range requests, a Dask Gateway that really scales, and an ``up``/``down`` that never leaves a
process behind. No mocks: the stand-in is started once per session by ``conftest.offline_pc``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import pytest
import requests

from labhelpers_standin import services
from labhelpers_standin.errors import StandinError
from labhelpers_standin.processes import check_port_free

pytestmark = pytest.mark.services  # (dask_gateway's noisy Gateway.__del__: see conftest.py)
S2 = "sentinel-2-l2a"


@pytest.fixture(scope="module")
def catalog(offline_pc):
    from pystac_client import Client

    return Client.open(offline_pc["stac_url"])


@pytest.fixture(scope="module")
def truth(archive_manifest) -> dict:
    """The archive's known answer to the lab's search: AOI bbox, datetime, cloud limit -> item ids."""
    s2 = archive_manifest[S2]
    q = s2["lab_query"]
    assert len(q["ids"]) == s2["counts"]["lab_query"]
    return {"bbox": s2["aoi_bbox"], "datetime": q["datetime"], "cloud_cover_lt": q["eo:cloud_cover_lt"], "ids": q["ids"]}


def _ids(search) -> list[str]:
    return [item.id for item in search.items()]


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_search_bbox_datetime_cloud_query_matches_manifest(catalog, truth, method):
    search = catalog.search(
        collections=[S2], bbox=truth["bbox"], datetime=truth["datetime"],
        query={"eo:cloud_cover": {"lt": truth["cloud_cover_lt"]}}, method=method,
    )
    items = list(search.items())
    assert sorted(item.id for item in items) == sorted(truth["ids"])
    assert all(item.properties["eo:cloud_cover"] < truth["cloud_cover_lt"] for item in items)


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_paged_search_returns_every_item_once(catalog, truth, method):
    everything = _ids(catalog.search(collections=[S2], datetime=truth["datetime"], limit=1000))
    assert len(everything) > 10, "the archive is too small to test paging"
    paged = catalog.search(collections=[S2], datetime=truth["datetime"], limit=10, method=method)
    pages = list(paged.pages())
    ids = [item.id for page in pages for item in page.items]
    assert len(pages) == -(-len(everything) // 10)
    assert len(ids) == len(set(ids)) and set(ids) == set(everything)


def test_cql2_filter_agrees_with_query_extension(catalog, truth):
    cql2 = {
        "op": "and",
        "args": [
            {"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Polygon", "coordinates": [[
                [truth["bbox"][0], truth["bbox"][1]], [truth["bbox"][2], truth["bbox"][1]],
                [truth["bbox"][2], truth["bbox"][3]], [truth["bbox"][0], truth["bbox"][3]],
                [truth["bbox"][0], truth["bbox"][1]]]]}]},
            {"op": "<", "args": [{"property": "eo:cloud_cover"}, truth["cloud_cover_lt"]]},
        ],
    }
    items = _ids(catalog.search(collections=[S2], datetime=truth["datetime"], filter=cql2, filter_lang="cql2-json"))
    assert sorted(items) == sorted(truth["ids"])
    text = f"eo:cloud_cover < {truth['cloud_cover_lt']}"
    via_get = _ids(catalog.search(collections=[S2], bbox=truth["bbox"], datetime=truth["datetime"],
                                  filter=text, filter_lang="cql2-text", method="GET"))
    assert sorted(via_get) == sorted(items)


@pytest.fixture(scope="module")
def cog_href(catalog, truth, offline_pc) -> str:
    item = next(catalog.search(collections=[S2], bbox=truth["bbox"], datetime=truth["datetime"], max_items=1).items())
    href = next(a.href for a in item.assets.values() if (a.media_type or "").startswith("image/tiff"))
    assert href.startswith(offline_pc["blob_url"].format(account="sentinel2l2a01") + "/sentinel2-l2/")
    return href


def test_sign_leaves_local_hrefs_unchanged(cog_href):
    import planetary_computer

    assert planetary_computer.sign(cog_href) == cog_href


def test_cog_is_read_over_http_with_range_requests(cog_href):
    import rasterio
    from rasterio.windows import Window

    r = requests.get(cog_href, headers={"Range": "bytes=0-1023"}, timeout=10)
    assert r.status_code == 206 and len(r.content) == 1024
    assert r.headers["Content-Range"].startswith("bytes 0-1023/")
    assert r.headers["Content-Type"].startswith("image/tiff")
    with rasterio.Env(GDAL_DISABLE_READDIR_ON_OPEN="EMPTY_DIR"), rasterio.open(cog_href) as src:
        assert src.crs is not None and src.overviews(1)  # a real COG, with its overviews
        block = src.read(1, window=Window(0, 0, 256, 256))
    assert block.shape == (256, 256)


def test_settings_point_at_the_running_stand_in(offline_settings, offline_pc):
    assert offline_settings.stac_url == offline_pc["stac_url"]
    assert offline_settings.blob_account_url("modiseuwest") == offline_pc["blob_url"].format(account="modiseuwest")


def test_gateway_cluster_scales_to_two_workers_and_computes(offline_pc):
    if not offline_pc.get("gateway"):
        pytest.skip("the running stand-in was started with --no-gateway")
    import dask.array as da
    from dask_gateway import BasicAuth, GatewayCluster

    gw = offline_pc["gateway"]
    auth = BasicAuth(gw["auth"]["username"], gw["auth"]["password"])
    with GatewayCluster(address=gw["address"], proxy_address=gw["proxy_address"], auth=auth) as cluster:
        client = cluster.get_client()
        cluster.scale(2)
        client.wait_for_workers(2, timeout=120)
        assert len(client.scheduler_info()["workers"]) == 2
        assert da.ones((2000, 2000), chunks=500).sum().compute() == 4_000_000


def test_up_when_running_says_so(offline_pc):
    r = subprocess.run([sys.executable, "-m", "labhelpers.cli", "offline", "up"], capture_output=True, text=True,
                       env=os.environ, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "already running" in r.stdout


# --- up/down on a private stand-in: these start and stop their own servers -------------------

def free_ports(n: int) -> list[int]:
    """``n`` distinct ports that are free on 127.0.0.1 right now."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def private_offline_dir(prefix: str) -> Path:
    """A fresh offline folder that the unprivileged PostgreSQL account can enter (pytest's tmp can't)."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)
    return d



@pytest.fixture(scope="module")
def private():
    """A private offline folder with the tiny archive, and free ports; cleaned up afterwards."""
    import tinyarchive

    folder = private_offline_dir("labhelpers-private-")
    archive = tinyarchive.build(folder / "archive" / "ci")
    yield folder, archive, services.Ports(*free_ports(5))
    with pytest.MonkeyPatch.context() as mp:  # a failed test may have left its stand-in running
        mp.setenv("LABHELPERS_OFFLINE_DIR", str(folder))
        services.down(say=lambda *_: None)
    shutil.rmtree(folder, ignore_errors=True)


def processes_using(folder: Path) -> list[psutil.Process]:
    """Live processes whose command line or working directory mentions ``folder``."""
    found = []
    for p in psutil.process_iter():
        try:
            if p.status() != psutil.STATUS_ZOMBIE and (str(folder) in " ".join(p.cmdline()) or p.cwd().startswith(str(folder))):
                found.append(p)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def occupied():
    """Listen on a port, as a foreign server would."""
    socks = []

    def listen(port: int) -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", port))
        s.listen()
        socks.append(s)

    yield listen
    for s in socks:
        s.close()


def test_up_with_a_port_in_use_fails_clearly_and_starts_nothing(private, occupied, monkeypatch):
    folder, archive, ports = private
    monkeypatch.setenv("LABHELPERS_OFFLINE_DIR", str(folder))
    occupied(ports.stac)
    with pytest.raises(StandinError, match=rf"Port {ports.stac} .*STAC API.*in use.*--stac-port"):
        services.up("ci", ports, archive=archive, say=lambda *_: None)
    assert not (folder / "state.json").exists()
    assert processes_using(folder) == []


def test_a_service_that_dies_during_up_stops_everything_up_started(private, occupied, monkeypatch):
    folder, archive, ports = private
    monkeypatch.setenv("LABHELPERS_OFFLINE_DIR", str(folder))
    # Someone grabs the STAC port between the port check and uvicorn's bind: uvicorn exits.
    real_check = services.check_port_free
    monkeypatch.setattr(services, "check_port_free", lambda p, *a: None if p == ports.stac else real_check(p, *a))
    occupied(ports.stac)
    with pytest.raises(StandinError, match=r"STAC API .* exited during start-up(.|\n)*address already in use"):
        services.up("ci", ports, archive=archive, say=lambda *_: None)
    assert not (folder / "state.json").exists()
    assert processes_using(folder) == []


def test_down_stops_every_pid_including_gateway_clusters(private, monkeypatch):
    folder, archive, ports = private
    monkeypatch.setenv("LABHELPERS_OFFLINE_DIR", str(folder))
    state = services.up("ci", ports, archive=archive, say=lambda *_: None)
    assert json.loads((folder / "state.json").read_text())["services"].keys() == {"postgres", "azurite", "stac", "gateway"}
    from dask_gateway import BasicAuth, Gateway

    gw = state["gateway"]
    gateway = Gateway(gw["address"], gw["proxy_address"], auth=BasicAuth(gw["auth"]["username"], gw["auth"]["password"]))
    cluster = gateway.new_cluster(shutdown_on_close=False)  # left running on purpose: down must stop it too
    cluster.scale(1)
    with cluster.get_client() as client:
        client.wait_for_workers(1, timeout=120)
    cluster.close()
    gateway.close()
    pids = [s["pid"] for s in state["services"].values()]
    assert processes_using(folder)

    assert sorted(services.down(say=lambda *_: None)) == ["azurite", "gateway", "postgres", "stac"]
    assert not (folder / "state.json").exists()
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert processes_using(folder) == []


def test_port_in_use_names_the_port_and_the_option():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(StandinError, match=rf"Port {port} .*STAC API.*--stac-port PORT"):
            check_port_free(port, "STAC API", "--stac-port")


def test_port_base_moves_every_default_port_and_rejects_nonsense(monkeypatch):
    monkeypatch.delenv("LABHELPERS_OFFLINE_PORT_BASE", raising=False)
    assert services.Ports.default() == services.Ports()
    monkeypatch.setenv("LABHELPERS_OFFLINE_PORT_BASE", "20000")
    assert services.Ports.default() == services.Ports(20000, 20001, 20002, 20003, 20004)
    for bad in ("80", "sixty", "65535"):
        monkeypatch.setenv("LABHELPERS_OFFLINE_PORT_BASE", bad)
        with pytest.raises(StandinError, match="LABHELPERS_OFFLINE_PORT_BASE"):
            services.Ports.default()


def test_a_restart_reuses_the_ports_of_the_last_up_unless_the_port_base_changed(monkeypatch, tmp_path):
    from labhelpers_standin import state

    monkeypatch.setenv("LABHELPERS_OFFLINE_DIR", str(tmp_path))
    monkeypatch.setenv("LABHELPERS_OFFLINE_PORT_BASE", "23050")
    assert services.Ports.last_or_default() == services.Ports(23050, 23051, 23052, 23053, 23054)
    state.remember(ports={"postgres": 1, "stac": 2, "blob": 3, "gateway": 4, "gateway_proxy": 5}, port_base="23050")
    assert services.Ports.last_or_default() == services.Ports(1, 2, 3, 4, 5)  # after a fault: the same ports
    monkeypatch.setenv("LABHELPERS_OFFLINE_PORT_BASE", "23060")  # moved on purpose: honoured
    assert services.Ports.last_or_default() == services.Ports(23060, 23061, 23062, 23063, 23064)
    (tmp_path / "run.json").write_text("{not json")  # a damaged record is ignored, never fatal
    assert services.Ports.last_or_default() == services.Ports(23060, 23061, 23062, 23063, 23064)
