import pytest

from labhelpers import cluster
from labhelpers.stac import ServiceError


@pytest.fixture
def no_gateway(monkeypatch):
    monkeypatch.setenv("LABHELPERS_GATEWAY_ADDRESS", "")
    monkeypatch.delenv("DASK_GATEWAY__ADDRESS", raising=False)


def test_without_a_gateway_a_local_cluster_computes(no_gateway, capsys):
    import dask.array as darr

    lc, client = cluster.start_cluster(minimum=1, maximum=2, profile="planetary-computer")
    try:
        assert type(lc).__name__ == "LocalCluster"
        assert int(darr.ones((100, 100), chunks=10).sum().compute()) == 10_000
        out = capsys.readouterr().out
        assert "LocalCluster" in out and "Dashboard: http" in out
    finally:
        cluster.shutdown(lc, client)
    assert client.status == "closed"


@pytest.mark.timeout(60)
def test_a_configured_gateway_that_does_not_answer_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("LABHELPERS_GATEWAY_ADDRESS", "http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(ServiceError, match="did not answer"):
        cluster.start_cluster(profile="planetary-computer")


def test_bad_worker_bounds(no_gateway):
    with pytest.raises(ValueError, match="minimum <= maximum"):
        cluster.start_cluster(minimum=5, maximum=2)


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
    with pytest.raises(ServiceError, match="127.0.0.1:9/services/dask-gateway did not answer"):
        cluster.start_cluster(profile="planetary-computer")
