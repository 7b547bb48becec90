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
