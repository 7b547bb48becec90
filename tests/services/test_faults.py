"""Faults injected into a running stand-in: each server frozen (SIGSTOP) or killed (SIGKILL) while
the lab searches, stacks, downloads or starts a cluster, and the stand-in's own records damaged.

Every fault must give one clear labhelpers error (naming the service and what to do) within a
bound, never a hang; then the stand-in is restored (SIGCONT, or ``up`` on the *same* ports) and
the same call must work again. These tests run on a private stand-in (a tiny archive, its own
folder and ports) so that breaking it never disturbs the session's stand-in.

With ``LABHELPERS_TIMEOUT=5`` a frozen server costs 2 attempts of 5 s plus back-off; BOUND is
generous on purpose (a loaded 2-core machine), it is a "no hang" check, not a benchmark.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import psutil
import pytest
from standin_session import private_ports
import requests

from labhelpers_standin import services
from labhelpers_standin.processes import Proc

pytestmark = pytest.mark.services
BOUND = 90  # seconds from the call to a clear error
TIMEOUT = "5"  # LABHELPERS_TIMEOUT for the lab's calls here
RESULTS: dict[str, float] = {}  # fault -> seconds to the clear error (printed at the end with -s)


@pytest.fixture(scope="module")
def standin():
    """A private stand-in (tiny archive) with the lab pointed at it; stopped and removed at the end."""
    import tinyarchive

    folder = Path(tempfile.mkdtemp(prefix="labhelpers-faults-"))
    folder.chmod(0o755)  # PostgreSQL's account must be able to enter it
    archive = tinyarchive.build(folder / "archive" / "ci")
    ports = private_ports(10)
    import dask

    # The session's stand-in wrote its gateway into dask's config (.venv/etc/dask/gateway.yaml), which
    # wins over the offline profile's: here the private stand-in's gateway must be the one used.
    with pytest.MonkeyPatch.context() as mp, dask.config.set({"gateway.address": None}):
        mp.setenv("LABHELPERS_OFFLINE_DIR", str(folder))
        mp.setenv("LABHELPERS_TIMEOUT", TIMEOUT)
        for var in ("LABHELPERS_STAC_URL", "LABHELPERS_BLOB_URL", "LABHELPERS_GATEWAY_ADDRESS", "DASK_GATEWAY__ADDRESS"):
            mp.delenv(var, raising=False)
        services.up("ci", ports, archive=archive, say=lambda *_: None)
        yield {"folder": folder, "archive": archive, "ports": ports}
        services.down(say=lambda *_: None)
    shutil.rmtree(folder, ignore_errors=True)
    if RESULTS:
        print("\nseconds to a clear error:", json.dumps(RESULTS, indent=1), "longest:", max(RESULTS.values()))


def _state() -> dict:
    return services.read_state()


def _proc(name: str) -> psutil.Process:
    s = _state()["services"][name]
    return Proc.from_dict(s).process()


def _hit(name: str, sig: str) -> None:
    """Freeze or kill a whole server: its main process and every child (PostgreSQL's backends keep
    serving open connections while only the postmaster is stopped)."""
    main = _proc(name)
    for p in [main, *main.children(recursive=True)]:
        try:
            p.send_signal(getattr(signal, sig))
        except psutil.NoSuchProcess:
            pass


def _restore(standin) -> None:
    """Whatever a test did: every server of ours running (SIGCONT), then healthy, on the same ports."""
    for proc in services.ours(None):
        main = proc.process()
        for p in [main, *main.children(recursive=True)] if main else []:
            try:
                p.send_signal(signal.SIGCONT)
            except psutil.NoSuchProcess:
                pass
    state = services.read_state()
    if not services.is_healthy(state):
        services.up("ci", archive=standin["archive"], say=lambda *_: None)  # no ports given: the last up's
    state = services.read_state()
    assert services.is_healthy(state)
    assert state["services"]["stac"]["port"] == standin["ports"].stac  # restarted on the ports it had
    assert state["services"]["azurite"]["port"] == standin["ports"].blob


# --- what the lab does, each with what it must do when healthy -----------------------------------

def _catalog():
    from labhelpers import stac

    return stac.open_catalog("offline")


def _search(catalog):
    import tinyarchive
    from labhelpers import stac

    q = tinyarchive.SEARCH
    return stac.search(catalog, q["bbox"], q["datetime"], max_cloud=q["cloud_cover_lt"])


def _stack(catalog):
    import rasterio
    import tinyarchive
    from labhelpers import sentinel2

    # The tiny archive's items keep the template item's asset grids: give SCL its real file's grid.
    with rasterio.open(tinyarchive.TILE / "S2A_29RKH_20200219_0_L2A_SCL.tif") as src:
        grid = {"proj:shape": [src.height, src.width], "proj:transform": list(src.transform)[:6],
                "proj:bbox": list(src.bounds)}
    items = _search(catalog)
    for item in items:
        item.assets["SCL"].extra_fields.update(grid)
    return sentinel2.stack(items, assets=("SCL",), resolution=500)


def _download_url(catalog) -> str:
    return next(iter(_search(catalog))).assets["SCL"].href


class Op:
    """One lab operation: ``prepare()`` before the fault, ``run(prepared)`` after it, ``value(result)``
    what must be the same before the fault and after the recovery."""

    def __init__(self, prepare, run, value):
        self.prepare, self.run, self.value = prepare, run, value


def _download(url) -> bytes:
    from labhelpers import modis

    dest = Path(tempfile.mkdtemp(prefix="labhelpers-dl-"))
    try:
        return modis.download(url, dest, progress=False).read_bytes()
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def _pixels(da):
    values = da.values
    assert np.isfinite(values).mean() > 0.5  # real pixels, not a stack of no data
    return np.nan_to_num(values, nan=-1).tobytes()


def _compute(da):
    """Compute, reading from the blob server: GDAL's /vsicurl/ cache would answer a repeated read itself."""
    from labhelpers.sentinel2 import _forget

    _forget(services.read_state()["blob_url"].format(account="x"))
    return da.compute(scheduler="threads")


OPS = {
    "search": Op(_catalog, _search, lambda items: sorted(i.id for i in items)),
    "stack": Op(lambda: _stack(_catalog()), _compute, _pixels),
    "download": Op(lambda: _download_url(_catalog()), _download, lambda data: (len(data), hash(data))),
}


FAULTS = [(server, sig, op) for server, ops in (("postgres", ["search"]), ("stac", ["search"]),
                                                 ("azurite", ["stack", "download"]))
          for sig in ("SIGSTOP", "SIGKILL") for op in ops]


@pytest.mark.timeout(BOUND * 4 + 300)
@pytest.mark.parametrize("server, sig, op", FAULTS, ids=[f"{s}-{g}-{o}" for s, g, o in FAULTS])
def test_a_server_fault_is_a_clear_error_and_the_stand_in_recovers(standin, server, sig, op):
    from labhelpers.errors import LabError, ServiceError

    operation = OPS[op]
    prepared = operation.prepare()
    before = operation.value(operation.run(prepared))
    try:
        _hit(server, sig)
        t0 = time.monotonic()
        with pytest.raises(ServiceError) as err:
            operation.run(prepared)
        took = time.monotonic() - t0
        RESULTS[f"{server} {sig} during {op}"] = round(took, 1)
        text = str(err.value)
        assert took < BOUND, f"{took:.0f} s to an error"
        assert isinstance(err.value, LabError) and "sig=" not in text.replace("sig=<redacted>", "")
        assert ("STAC API" in text and "labhelpers offline" in text) if op == "search" else \
            ("blob" in text and "labhelpers offline" in text), text
    finally:
        _restore(standin)
    assert operation.value(operation.run(operation.prepare())) == before  # the same call works again, same answer


@pytest.mark.timeout(BOUND * 2 + 300)
@pytest.mark.parametrize("sig", ["SIGSTOP", "SIGKILL"])
def test_a_dead_gateway_falls_back_to_a_local_cluster_and_recovers(standin, sig):
    from labhelpers import cluster
    from labhelpers.errors import FallbackWarning, ServiceError

    try:
        _hit("gateway", sig)
        t0 = time.monotonic()
        with pytest.warns(FallbackWarning, match="Dask Gateway at http://127.0.0.1"):
            lc, client = cluster.start_cluster(1, 1, profile="offline")
        RESULTS[f"gateway {sig} at start_cluster"] = round(time.monotonic() - t0, 1)
        try:
            assert type(lc).__name__ == "LocalCluster" and client.submit(sum, [1, 2]).result(timeout=60) == 3
        finally:
            cluster.shutdown(lc, client)
        with pytest.raises(ServiceError, match="Dask Gateway"):
            cluster.start_cluster(1, 1, profile="offline", require_gateway=True)
    finally:
        _restore(standin)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)
        lc, client = cluster.start_cluster(0, 1, profile="offline")
    try:
        assert type(lc).__name__ == "GatewayCluster"
    finally:
        cluster.shutdown(lc, client)


# --- the stand-in's own records -------------------------------------------------------------------

def _labhelpers(*args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labhelpers.cli", "offline", *args], capture_output=True,
                          text=True, env=os.environ, timeout=timeout)


def _our_pids() -> set[int]:
    return {p.pid for p in services.ours(None)}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("content", ["{", "{}", "[]", ""])
def test_a_corrupt_state_file_is_reported_and_down_stops_exactly_ours(standin, content):
    folder = standin["folder"]
    pids = _our_pids()
    assert len(pids) == 4
    saved = (folder / "state.json").read_text()
    bystander = subprocess.Popen(["sleep", "600"], cwd=folder / "logs")  # not ours, though it sits in our folder
    try:
        (folder / "state.json").write_text(content)
        status = _labhelpers("status")
        assert status.returncode == 1 and "Traceback" not in status.stdout + status.stderr
        assert "state file is unusable" in status.stdout and "not in the state file" in status.stdout
        assert all(str(pid) in status.stdout for pid in pids)
        down = _labhelpers("down")
        assert down.returncode == 0, down.stderr
        assert "Stopped azurite, gateway, postgres, stac" in down.stdout
        assert not [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        assert bystander.poll() is None  # down stopped what is ours and only that
        assert not (folder / "state.json").exists()
    finally:
        bystander.kill()
        bystander.wait()
        if (folder / "state.json").exists() and not services.ours(None):
            (folder / "state.json").write_text(saved)
        _restore(standin)


@pytest.mark.timeout(1200)
def test_up_killed_half_way_is_recovered_by_the_next_up(standin):
    services.down(say=lambda *_: None)
    folder = standin["folder"]
    up = subprocess.Popen([sys.executable, "-m", "labhelpers.cli", "offline", "up", "--archive", str(standin["archive"])],
                          env=os.environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while len(services._state.record()["processes"]) < 3 and time.monotonic() < deadline and up.poll() is None:
            time.sleep(0.2)
        up.send_signal(signal.SIGKILL)  # mid-way: some servers started, no state file yet
        up.wait()
        assert not (folder / "state.json").exists()
        orphans = _our_pids()
        assert orphans
        status = _labhelpers("status")
        assert status.returncode == 1 and "not in the state file" in status.stdout
        again = _labhelpers("up", "--archive", str(standin["archive"]))
        assert again.returncode == 0, again.stderr
        assert "earlier `up` here without a state file" in again.stderr
        assert not [p for p in orphans if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        state = services.read_state()
        assert services.is_healthy(state) and state["services"]["stac"]["port"] == standin["ports"].stac
    finally:
        _restore(standin)


def _tamper(state: dict, blob: str, data: bytes) -> None:
    """Overwrite a blob with the running Azurite's own key (read from its environment, as root can)."""
    from azure.storage.blob import BlobServiceClient

    pid, port = state["services"]["azurite"]["pid"], state["services"]["azurite"]["port"]
    env = dict(kv.split("=", 1) for kv in Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0") if "=" in kv)
    key = dict(a.split(":", 1) for a in env["AZURITE_ACCOUNTS"].split(";"))["sentinel2l2a01"]
    conn = (f"DefaultEndpointsProtocol=http;AccountName=sentinel2l2a01;AccountKey={key};"
            f"BlobEndpoint=http://127.0.0.1:{port}/sentinel2l2a01;")
    BlobServiceClient.from_connection_string(conn).get_container_client("sentinel2-l2").upload_blob(
        blob, data, overwrite=True)


@pytest.mark.timeout(900)
def test_a_tampered_blob_store_is_reported_and_repaired(standin):
    state = services.read_state()
    blobs = json.loads((standin["folder"] / "blobs.json").read_text())
    key = sorted(blobs)[0]
    blob = key.split("/", 2)[2]
    url = f"http://127.0.0.1:{state['services']['azurite']['port']}/{key}"
    original = requests.get(url, timeout=30).content
    try:
        _tamper(state, blob, b"not the archive's file")
        status = _labhelpers("status")
        assert status.returncode == 1 and f"{key}: changed" in status.stdout and "offline up" in status.stdout
        up = _labhelpers("up", "--archive", str(standin["archive"]))
        assert up.returncode == 0, up.stderr
        assert "differs from the archive" in up.stderr and "1 blobs uploaded" in up.stdout
        assert requests.get(url, timeout=30).content == original
        verify = _labhelpers("status", "--verify")
        assert verify.returncode == 0 and "SHA-256 of every blob" in verify.stdout
    finally:
        _restore(standin)
