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
