"""labhelpers.cluster: a LocalCluster bound to 127.0.0.1, and a configured gateway that does not
answer (MPC's devcontainer still points DASK_GATEWAY__ADDRESS at the retired gateway): a warning and
a LocalCluster, or a clear error when the caller requires the gateway."""

import http.server
import threading
import time
import warnings
from urllib.parse import urlsplit

import psutil
import pytest

from labhelpers import cluster
from labhelpers.errors import FallbackWarning, InputError, ServiceError


@pytest.fixture
def no_gateway(monkeypatch):
    monkeypatch.setenv("LABHELPERS_GATEWAY_ADDRESS", "")
    monkeypatch.delenv("DASK_GATEWAY__ADDRESS", raising=False)


def test_without_a_gateway_a_local_cluster_computes_on_loopback_only(no_gateway, capsys):
    import dask.array as darr

    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)
        lc, client = cluster.start_cluster(minimum=1, maximum=2, profile="planetary-computer")
    try:
        assert type(lc).__name__ == "LocalCluster"
        assert int(darr.ones((100, 100), chunks=10).sum().compute()) == 10_000
        out = capsys.readouterr().out
        assert "LocalCluster" in out and "Dashboard: http://127.0.0.1:" in out
        assert urlsplit(lc.scheduler_address.replace("tcp://", "http://")).hostname == "127.0.0.1"
        info = client.scheduler_info()
        assert all(urlsplit(w.replace("tcp://", "http://")).hostname == "127.0.0.1" for w in info["workers"])
        port = urlsplit(lc.dashboard_link).port
        listening = [c.laddr.ip for c in psutil.Process().net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
        assert listening == ["127.0.0.1"]  # not 0.0.0.0 (dashboard_address=":0" was)
    finally:
        cluster.shutdown(lc, client)
    assert client.status == "closed"
    cluster.shutdown(None, None)  # harmless


class _Frozen(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(cluster.GATEWAY_TIMEOUT + 10)

    def log_message(self, *a):
        pass


@pytest.fixture
def frozen_gateway(monkeypatch):
    """A gateway address that accepts connections and never answers (a dead hub behind a proxy)."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Frozen)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{httpd.server_address[1]}"
    monkeypatch.setenv("LABHELPERS_GATEWAY_ADDRESS", address)
    yield address
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.timeout(120)
def test_a_gateway_that_does_not_answer_falls_back_to_a_local_cluster_with_a_warning(frozen_gateway, capsys):
    t0 = time.monotonic()
    with pytest.warns(FallbackWarning, match=rf"{frozen_gateway}.*did not answer in time.*LocalCluster") as record:
        lc, client = cluster.start_cluster(minimum=1, maximum=1, profile="planetary-computer")
    try:
        assert type(lc).__name__ == "LocalCluster"
        assert "require_gateway=True" in str(record[0].message)
        assert f"the Dask Gateway at {frozen_gateway} did not answer" in capsys.readouterr().out
        assert client.submit(sum, [1, 2]).result(timeout=60) == 3
    finally:
        cluster.shutdown(lc, client)
    assert time.monotonic() - t0 < 90  # the health check gave up after GATEWAY_TIMEOUT, not 30 s or forever


@pytest.mark.timeout(60)
def test_a_required_gateway_that_does_not_answer_is_a_clear_error(frozen_gateway):
    with pytest.raises(ServiceError, match=rf"Dask Gateway at {frozen_gateway} is not usable.*waited 5 s.*DASK_GATEWAY"):
        cluster.start_cluster(profile="planetary-computer", require_gateway=True)


@pytest.mark.timeout(60)
def test_a_gateway_that_refuses_connections_falls_back_too(monkeypatch):
    monkeypatch.setenv("DASK_GATEWAY__ADDRESS", "http://127.0.0.1:9")  # how MPC's devcontainer configures it
    import dask

    dask.config.refresh()
    try:
        with pytest.warns(FallbackWarning, match="127.0.0.1:9"):
            lc, client = cluster.start_cluster(minimum=0, maximum=1, profile="planetary-computer")
        cluster.shutdown(lc, client)
    finally:
        monkeypatch.delenv("DASK_GATEWAY__ADDRESS")
        dask.config.refresh()


@pytest.mark.parametrize("minimum, maximum, match", [
    (5, 2, "minimum <= maximum"), (0, 0, "maximum=0 is out of range"), ("1", 4, "whole number"),
    (1, 2.5, "whole number"), (True, 2, "whole number"),
])
def test_bad_worker_bounds(no_gateway, minimum, maximum, match):
    with pytest.raises(InputError, match=match):
        cluster.start_cluster(minimum=minimum, maximum=maximum)


@pytest.fixture
def dask_gateway_configured(monkeypatch):
    """Dask's ``gateway.address`` set, as a hub's DASK_GATEWAY__* variables or the stand-in's file set it."""
    import dask

    monkeypatch.delenv("LABHELPERS_GATEWAY_ADDRESS", raising=False)
    with dask.config.set({"gateway.address": "http://127.0.0.1:9/services/dask-gateway"}):
        yield "http://127.0.0.1:9/services/dask-gateway"


def test_dask_config_gateway_wins_over_the_profiles_and_the_override_wins_over_both(
        dask_gateway_configured, monkeypatch, tmp_path):
    import json

    monkeypatch.setenv("LABHELPERS_OFFLINE_DIR", str(tmp_path))
    (tmp_path / "state.json").write_text(json.dumps({
        "stac_url": "http://127.0.0.1:8011", "blob_url": "http://127.0.0.1:10000/{account}",
        "gateway": {"address": "http://127.0.0.1:8012", "proxy_address": "gateway://127.0.0.1:8013",
                    "auth": {"type": "basic", "username": "student", "password": "x"}}}))
    assert cluster.gateway_address("offline") == dask_gateway_configured
    monkeypatch.setenv("LABHELPERS_GATEWAY_ADDRESS", "http://127.0.0.1:7")
    assert cluster.gateway_address("offline") == "http://127.0.0.1:7"
    monkeypatch.setenv("LABHELPERS_GATEWAY_ADDRESS", "")
    assert cluster.gateway_address("offline") is None


def test_a_gateway_configured_in_dask_gets_a_bare_gateway_cluster(dask_gateway_configured, monkeypatch):
    import dask_gateway

    made = []

    class Healthy:
        def raise_for_status(self):
            return None

    class FakeCluster:  # records how it was made; the real one is tested against real gateways
        def __init__(self, *args, **kwargs):
            made.append((args, kwargs))

    monkeypatch.setattr(cluster.requests, "get", lambda url, timeout: Healthy())
    monkeypatch.setattr(dask_gateway, "GatewayCluster", FakeCluster)
    cluster._gateway_cluster(dask_gateway_configured, "planetary-computer")
    assert made == [((), {})]  # GatewayCluster(): address, proxy and login from dask's config
    made.clear()
    monkeypatch.setenv("LABHELPERS_GATEWAY_ADDRESS", "http://127.0.0.1:7")
    cluster._gateway_cluster("http://127.0.0.1:7", "planetary-computer")
    assert made[0][0] == () and made[0][1]["address"] == "http://127.0.0.1:7"  # the override, explicitly


@pytest.mark.timeout(60)
def test_a_dask_configured_gateway_that_does_not_answer_is_named(dask_gateway_configured):
    with pytest.raises(ServiceError, match="127.0.0.1:9/services/dask-gateway is not usable"):
        cluster.start_cluster(profile="planetary-computer", require_gateway=True)
