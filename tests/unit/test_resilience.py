"""Services that fail: every request of the lab is bounded and every failure is one clear error.

Local stand-ins for what cannot be reached here: a server that accepts connections and never
answers (a frozen process), the Planetary Computer's SAS token API, and an Azure blob endpoint
that answers 403 until it sees the current token. The Azure hostname check is patched so that
the 127.0.0.1 servers are treated as Azure (signed); everything else is the real code path.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
from pathlib import Path

import numpy as np
import pystac
import pytest

from labhelpers import modis, sentinel2
from labhelpers.errors import DownloadError, FallbackWarning, ServiceError
from labhelpers.modis import blobs
from s2fixtures import mpc_item

BOUND = 30  # seconds: generous for LABHELPERS_TIMEOUT=1 and one retry on a loaded machine


class _Server:
    """A threaded local HTTP server whose ``handle(handler)`` decides each answer."""

    def __init__(self, handle):
        outer = self
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append(self.path)
                handle(self)

            do_HEAD = do_GET  # GDAL asks with HEAD first

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _reply(h, status: int, body: bytes = b"", ctype: str = "application/octet-stream"):
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


@pytest.fixture
def frozen():
    server = _Server(lambda h: time.sleep(BOUND + 5))
    yield server
    server.close()


@pytest.fixture
def short_timeout(monkeypatch):
    monkeypatch.setenv("LABHELPERS_TIMEOUT", "1")


# --- frozen servers: an error within the bound, never a hang ------------------------------------

@pytest.mark.timeout(BOUND + 30)
def test_download_from_a_frozen_server(frozen, short_timeout, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match="tried 2 times, waiting up to 1 s") as err:
        modis.download(f"{frozen.url}/x.hdf?se=2030&sig=SECRET", tmp_path, progress=False)
    assert time.monotonic() - t0 < BOUND and "SECRET" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.timeout(BOUND + 30)
def test_listing_a_frozen_blob_server(frozen, short_timeout, monkeypatch):
    monkeypatch.setenv("LABHELPERS_BLOB_URL", frozen.url + "/{account}")
    client = modis.container_client("planetary-computer", account="modiseuwest", container="modis-061")
    t0 = time.monotonic()
    with pytest.raises(ServiceError, match=r"blob server .* failed while listing MCD43A4/11/04/2019135/.*tried 2 times"):
        modis.list_hdf(client, "MCD43A4", 11, 4, "2019135")
    assert time.monotonic() - t0 < BOUND


@pytest.mark.timeout(BOUND + 30)
def test_tile_table_from_a_frozen_server(frozen, short_timeout):
    with pytest.raises(DownloadError, match="sn_bound_10deg.txt"):
        modis.tile_extents(f"{frozen.url}/sn_bound_10deg.txt")


def _items_on(url: str) -> list[dict]:
    item = mpc_item()
    for key, asset in item["assets"].items():
        asset["href"] = f"{url}/sentinel2-l2/{Path(asset['href']).name}?sv=2021&se=2030&sig=SECRET"
    return [item]


@pytest.mark.timeout(BOUND + 60)
def test_reading_a_stack_from_a_frozen_blob_server(frozen, short_timeout):
    da = sentinel2.stack(_items_on(frozen.url), assets=("B04",), resolution=1000)
    t0 = time.monotonic()
    with pytest.raises(ServiceError, match=r"could not read .*B04\.tif\?<redacted> from blob storage") as err:
        da.compute(scheduler="threads")
    assert time.monotonic() - t0 < BOUND + 30
    assert "SECRET" not in str(err.value) and "labhelpers offline status" in str(err.value)


# --- the SAS token: renewed before expiry, a 403 retried once with a new one --------------------

class _TokenAPI:
    """The Planetary Computer's /api/sas/v1/token/<account>/<container>, handing out T1, T2, ..."""

    def __init__(self, ttl: float = 3600):
        self.issued, self.ttl = 0, ttl
        self.server = _Server(self._handle)

    def _handle(self, h):
        self.issued += 1
        expiry = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.ttl)).isoformat()
        _reply(h, 200, json.dumps({"msft:expiry": expiry, "token": f"sv=2021&sig=T{self.issued}"}).encode(),
               "application/json")

    @property
    def current(self) -> str:
        return f"T{self.issued}"


@pytest.fixture
def token_api(monkeypatch):
    from planetary_computer import sas
    from planetary_computer.settings import Settings

    api = _TokenAPI()
    monkeypatch.setattr(Settings, "get", staticmethod(lambda: Settings(subscription_key=None,
                                                                        sas_url=api.server.url + "/token")))
    monkeypatch.setattr(sas, "TOKEN_CACHE", {})
    monkeypatch.setattr(blobs, "_is_azure", lambda url: url.startswith("http://127.0.0.1"))  # our servers are "Azure"
    yield api
    api.server.close()


def _cache_token(api, token: str, seconds_left: float) -> None:
    from planetary_computer import sas

    expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds_left)
    sas.TOKEN_CACHE[f"{api.server.url}/token/modiseuwest/modis-061"] = sas.SASToken(token=token, expiry=expiry)


def test_a_token_near_expiry_is_replaced_and_a_fresh_one_reused(token_api):
    _cache_token(token_api, "sv=2021&sig=OLD", seconds_left=blobs.TOKEN_MARGIN - 60)
    assert blobs._token("modiseuwest", "modis-061") == "sv=2021&sig=T1"
    assert blobs._token("modiseuwest", "modis-061") == "sv=2021&sig=T1" and token_api.issued == 1  # cached
    _cache_token(token_api, "sv=2021&sig=LONG", seconds_left=3000)
    assert blobs._token("modiseuwest", "modis-061") == "sv=2021&sig=LONG" and token_api.issued == 1
    import planetary_computer

    # planetary_computer.sign shares the cache: it signs with the same token
    assert planetary_computer.sign("https://modiseuwest.blob.core.windows.net/modis-061/x.hdf").endswith("sig=LONG")


def test_a_token_api_that_does_not_answer_is_a_clear_error(monkeypatch, frozen, short_timeout):
    from planetary_computer import sas
    from planetary_computer.settings import Settings

    monkeypatch.setattr(Settings, "get", staticmethod(lambda: Settings(subscription_key=None, sas_url=frozen.url)))
    monkeypatch.setattr(sas, "TOKEN_CACHE", {})
    with pytest.raises(ServiceError, match="token API .* gave no SAS token for modiseuwest/modis-061.*tried 2 times"):
        blobs._token("modiseuwest", "modis-061")


class _Blobs:
    """Azure-like blob endpoint: 200 for the current token only, else 403; logs the tokens it saw."""

    def __init__(self, api: _TokenAPI, body: bytes, always_403: bool = False):
        self.api, self.body, self.always_403, self.seen = api, body, always_403, []
        self.server = _Server(self._handle)

    def _handle(self, h):
        sig = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query).get("sig", [""])[0]
        self.seen.append(sig)
        if self.always_403 or sig != self.api.current:
            return _reply(h, 403, b"<Error><Code>AuthenticationFailed</Code></Error>", "application/xml")
        _reply(h, 200, self.body)


def test_download_signs_afresh_and_retries_a_403_once_with_a_new_token(token_api, tmp_path):
    _cache_token(token_api, "sv=2021&sig=REVOKED", seconds_left=3000)  # looks valid, the server refuses it
    store = _Blobs(token_api, b"HDF" * 1000)
    try:
        url = f"{store.server.url}/modiseuwest/modis-061/MCD43A4/a.hdf?sv=2021&sig=FROM_BLOB_URL"
        path = modis.download(url, tmp_path, progress=False)
        assert path.read_bytes() == b"HDF" * 1000
        assert store.seen == ["REVOKED", "T1"]  # re-signed (not the URL's own token), then one retry with a new one
        token_api.issued += 1  # the token API rotates: T2 is now the only valid one
        path2 = modis.download(url.replace("a.hdf", "b.hdf"), tmp_path, progress=False)
        assert path2.exists() and store.seen[-2:] == ["T1", "T3"] and token_api.issued == 3
    finally:
        store.server.close()


def test_a_403_that_persists_is_a_clear_error_without_the_token(token_api, tmp_path):
    store = _Blobs(token_api, b"", always_403=True)
    try:
        with pytest.raises(DownloadError, match="HTTP 403.*even with a new SAS token") as err:
            modis.download(f"{store.server.url}/modiseuwest/modis-061/a.hdf?sig=OLD", tmp_path, progress=False)
        assert "sig=" not in str(err.value) and "T1" not in str(err.value) and "OLD" not in str(err.value)
        assert len(store.seen) == 2 and list(tmp_path.iterdir()) == []
    finally:
        store.server.close()


_LISTING = ('<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="x" ContainerName="modis-061">'
            "<Prefix>{prefix}</Prefix><Blobs>{blobs}</Blobs><NextMarker /></EnumerationResults>")


def test_list_hdf_renews_the_token_and_retries_a_403_mid_loop(token_api, monkeypatch):
    monkeypatch.setenv("LABHELPERS_BLOB_URL", "http://127.0.0.1:{port}/{{account}}")
    name = "MCD43A4/11/04/2019135/MCD43A4.A2019135.h11v04.061.2020001.hdf"

    def handle(h):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)
        store.append(query.get("sig", [""])[0])
        if query.get("sig", [""])[0] != token_api.current:
            return _reply(h, 403, b'<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>'
                          b"<Message>Server failed to authenticate the request.</Message></Error>", "application/xml")
        prefix = query.get("prefix", [""])[0]
        blobs_xml = f"<Blob><Name>{name}</Name><Properties><Content-Length>1</Content-Length><BlobType>BlockBlob" \
            "</BlobType></Properties></Blob>" \
            if name.startswith(prefix) else ""
        _reply(h, 200, _LISTING.format(prefix=prefix, blobs=blobs_xml).encode(), "application/xml")

    store: list[str] = []
    server = _Server(handle)
    try:
        monkeypatch.setenv("LABHELPERS_BLOB_URL", server.url + "/{account}")
        client = modis.container_client("planetary-computer", account="modiseuwest", container="modis-061")
        assert "sig" not in client.url and client.credential.signature == "sv=2021&sig=T1"
        assert modis.list_hdf(client, "MCD43A4", 11, 4, "2019135") == [name]
        token_api.issued += 1  # the service revoked T1 mid-loop
        assert modis.list_hdf(client, "MCD43A4", 11, 4, "2019135") == [name]
        assert store == ["T1", "T1", "T3"] and token_api.issued == 3
        # a token near expiry is replaced before the next listing, without a 403 first
        _cache_token(token_api, "sv=2021&sig=T3", seconds_left=10)
        assert modis.list_hdf(client, "MCD43A4", 11, 4, "2019135") == [name]
        assert store[-1] == "T4"
    finally:
        server.close()


# --- the storage account comes from the collection -----------------------------------------------

def test_account_and_container_come_from_the_collection(monkeypatch):
    stac = _Server(lambda h: _reply(h, 200, json.dumps({"id": "modis-43A4-061", "msft:storage_account": "modisother",
                                                         "msft:container": "modis-062"}).encode(), "application/json"))
    try:
        monkeypatch.setenv("LABHELPERS_STAC_URL", stac.url)
        monkeypatch.setenv("LABHELPERS_BLOB_URL", "http://127.0.0.1:9/{account}")
        client = modis.container_client("planetary-computer")
        assert (client.account_name, client.container_name) == ("modisother", "modis-062")
        assert stac.requests == ["/collections/modis-43A4-061"]
    finally:
        stac.close()


def test_without_the_collection_today_s_values_are_used_with_a_warning(monkeypatch):
    monkeypatch.setenv("LABHELPERS_STAC_URL", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setenv("LABHELPERS_BLOB_URL", "http://127.0.0.1:9/{account}")
    with pytest.warns(FallbackWarning, match="modiseuwest/modis-061"):
        client = modis.container_client("planetary-computer")
    assert (client.account_name, client.container_name) == ("modiseuwest", "modis-061")


# --- worker noise: one clear error, not a traceback per task ------------------------------------

NOISE_SCRIPT = """
import json, sys, warnings
sys.path.insert(0, {tests!r})
from s2fixtures import mpc_item
from labhelpers import cluster, sentinel2
from labhelpers.errors import ServiceError

if __name__ == "__main__":  # LocalCluster's worker processes import this file again
    item = mpc_item()
    for asset in item["assets"].values():
        asset["href"] = "http://127.0.0.1:9/sentinel2-l2/" + asset["href"].rsplit("/", 1)[1] + "?sv=1&sig=SECRET"
    items = []
    for i in range(30):
        items.append(dict(item, id=f"scene-{{i}}", properties=dict(item["properties"],
                                                                   datetime=f"2020-01-{{i + 1:02d}}T11:00:00Z")))
    lc, client = cluster.start_cluster(2, 2, profile="planetary-computer")
    da = sentinel2.stack(items, assets=("B02", "B03", "B04", "B08"), resolution=100, chunksize=256)
    try:
        da.sum().compute()
    except ServiceError as err:
        print("CLEAR:", str(err).splitlines()[0])
    cluster.shutdown(lc, client)
"""


@pytest.mark.timeout(300)
def test_a_dead_blob_server_gives_one_error_not_a_traceback_per_task(tmp_path, monkeypatch):
    monkeypatch.setenv("LABHELPERS_GATEWAY_ADDRESS", "")
    script = tmp_path / "noise.py"
    script.write_text(NOISE_SCRIPT.format(tests=str(Path(__file__).parents[1])))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=280, cwd=tmp_path)
    out = run.stdout + run.stderr
    assert "CLEAR: labhelpers could not read http://127.0.0.1:9/sentinel2-l2/" in run.stdout, out[-3000:]
    assert "SECRET" not in out
    assert out.count("Compute Failed") <= 2  # at most the first failure of each of the 2 workers
    assert len(out.splitlines()) < 120, out[-3000:]
