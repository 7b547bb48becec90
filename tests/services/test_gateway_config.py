"""A gateway that behaves like the Hub's: a bare ``GatewayCluster()`` finds the stand-in's, as on MPC.

``labhelpers offline up`` writes the gateway's address, proxy and login into dask's configuration
of this Python environment (``<sys.prefix>/etc/dask/gateway.yaml``, 0600) and ``down`` removes
that file. Here the lab's own cell runs, as written, in a fresh Python whose environment is empty
but for ``PATH`` and ``HOME``::

    from dask_gateway import GatewayCluster
    cluster = GatewayCluster()
    cluster.adapt(minimum=4, maximum=24)

and the cluster's schedulers, workers and dashboards listen on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import psutil
import pytest
from standin_session import private_ports

from labhelpers_standin import daskconfig, services
from labhelpers_standin.servers import gateway

pytestmark = [pytest.mark.services, pytest.mark.timeout(600)]

LAB_CELL = textwrap.dedent("""
    import json, sys, time, warnings
    import dask.array as da
    from dask_gateway import GatewayCluster
    t0 = time.monotonic()
    cluster = GatewayCluster()
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        cluster.adapt(minimum=4, maximum=24)
    client = cluster.get_client()
    client.wait_for_workers(4, timeout=300)
    ready = time.monotonic() - t0
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()  # the test inspects the cluster's sockets meanwhile
    t1 = time.monotonic()
    x = da.random.default_rng(42).random((8_000, 8_000), chunks=(1_000, 1_000))
    mean = float((x + x.T).mean().compute())
    result = {"mean": mean, "first_4_workers_s": round(ready, 1), "compute_s": round(time.monotonic() - t1, 1),
              "workers": len(client.scheduler_info()["workers"]), "address": cluster.gateway.address,
              "warnings": [f"{type(w.message).__name__}: {w.message}" for w in said]}
    client.close(); cluster.shutdown()
    print(json.dumps(result), flush=True)
""")


def _empty_environment() -> dict:
    """What ``env -i PATH=... HOME=...`` leaves: no DASK_*, no LABHELPERS_*."""
    return {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}


def _listening(base: Path) -> dict[int, list[str]]:
    """Listening TCP addresses of every process running in ``base`` (the gateway's clusters)."""
    pids = set()
    for p in psutil.process_iter():
        try:
            if p.cwd().startswith(str(base) + "/"):
                pids.add(p.pid)
        except psutil.Error:
            continue
    out: dict[int, list[str]] = {pid: [] for pid in pids}
    for c in psutil.net_connections(kind="tcp"):
        if c.pid in pids and c.status == psutil.CONN_LISTEN:
            out[c.pid].append(c.laddr.ip)
    return out


def test_up_wrote_dask_config_for_its_gateway(offline_pc):
    path = daskconfig.config_path()
    assert path == Path(sys.prefix) / "etc" / "dask" / "gateway.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    from labhelpers.settings import offline_dir

    assert daskconfig.owner(path) == str(offline_dir())
    assert offline_pc["gateway"]["address"] in path.read_text()


def test_a_bare_gateway_cluster_in_an_empty_environment_runs_the_labs_adapt(offline_pc):
    run = subprocess.Popen([sys.executable, "-c", LAB_CELL], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=_empty_environment(), cwd="/")
    try:
        first = run.stdout.readline()
        if first.strip() != '{"ready": true}':
            run.kill()
            pytest.fail(f"the lab's cell failed before its cluster was ready: {first}{run.stderr.read()[-3000:]}")
        listening = _listening(gateway.clusters_dir())
        # A scheduler and 4 workers with their nannies, each with a dashboard or a listener:
        assert sum(bool(v) for v in listening.values()) >= 9, listening
        assert {ip for ips in listening.values() for ip in ips} == {"127.0.0.1"}, listening
        out, err = run.communicate("\n", timeout=400)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err[-3000:]
    result = json.loads(out.strip().splitlines()[-1])
    assert abs(result["mean"] - 1.0) < 1e-2
    assert result["address"] == offline_pc["gateway"]["address"] and result["workers"] == 4
    # The lab's adapt(4, 24) runs with the machine's limit, and the gateway says so in plain words.
    assert result["warnings"] == [
        "GatewayWarning: Adapt with `maximum=24, minimum=4` workers would exceed resource limit of "
        f"{gateway.MAX_WORKERS} workers. Using `maximum={gateway.MAX_WORKERS}, minimum=4` instead."]
    print(f"\nstand-in adapt(4, 24): {result}")


def test_up_and_down_of_a_second_stand_in_write_and_remove_exactly_their_own_file(offline_pc, monkeypatch):
    """A private stand-in (the tiny archive) in the same Python environment: while the session's is
    running its file stays; once it is moved aside, the private one's up writes and its down removes."""
    import tinyarchive

    path = daskconfig.config_path()
    folder = Path(tempfile.mkdtemp(prefix="labhelpers-daskconfig-"))
    folder.chmod(0o755)  # the postgres account must enter it
    aside = folder / "session-gateway.yaml"
    archive = tinyarchive.build(folder / "archive" / "ci")
    monkeypatch.setenv("LABHELPERS_OFFLINE_DIR", str(folder))
    said = []
    try:
        session_text = path.read_text()
        services.up("ci", private_ports(40), archive=archive, say=said.append)
        assert path.read_text() == session_text  # the running session stand-in keeps its file ...
        assert any("still running" in m for m in said), said
        services.down(say=said.append)
        assert path.read_text() == session_text  # ... and the private down leaves it alone
        shutil.move(path, aside)

        state = services.up("ci", private_ports(40), archive=archive, say=said.append)
        assert daskconfig.owner(path) == str(folder) and stat.S_IMODE(path.stat().st_mode) == 0o600
        probe = "from dask_gateway import Gateway; g = Gateway(); print(g.address, g.list_clusters()); g.close()"
        r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                           env=_empty_environment(), cwd="/")
        assert r.returncode == 0 and r.stdout.split() == [state["gateway"]["address"], "[]"], r.stderr[-2000:]
        services.down(say=said.append)
        assert not path.exists()
        assert not any(state["gateway"]["auth"]["password"] in m for m in said)
    finally:
        services.down(say=said.append)  # a no-op when already down
        if aside.exists():
            shutil.move(aside, path)
        shutil.rmtree(folder, ignore_errors=True)
    assert daskconfig.owner(path) is not None  # the session's file is back
