"""labhelpers.stac without a real catalog: query building, argument checks, error messages, and
timeouts against local fake servers. (Real searches: tests/services.)"""

import http.server
import json
import threading
import time

import pytest

from labhelpers import stac
from labhelpers.errors import InputError, SuspiciousInputWarning, UnknownCollectionError
from labhelpers.stac import EmptySearchError, ServiceError


def test_cloud_query_is_the_query_extension_filter():
    assert stac.cloud_query(25) == {"eo:cloud_cover": {"lt": 25}}
    with pytest.raises(ValueError, match="out of range"):
        stac.cloud_query(250)
    with pytest.raises(TypeError, match="without quotes"):
        stac.cloud_query("25")
    with pytest.warns(SuspiciousInputWarning, match="max_cloud=25"):
        assert stac.cloud_query(0.25) == {"eo:cloud_cover": {"lt": 0.25}}


class _Collection:
    def __init__(self, id_):
        self.id = id_


class _NoItems:
    """Stands in for a pystac_client.Client whose search matches nothing (records the call)."""

    self_href = "http://127.0.0.1:9/api/stac/v1"

    def __init__(self, collections=("sentinel-2-l2a", "modis-43A4-061")):
        self.collections = collections

    def search(self, **kwargs):
        self.kwargs = kwargs
        return self

    def item_collection(self):
        return []

    def get_collections(self):
        return [_Collection(c) for c in self.collections]


def test_empty_search_names_aoi_dates_and_cloud_limit():
    catalog = _NoItems()
    with pytest.raises(EmptySearchError) as err:
        stac.search(catalog, (-122.83, 53.88, -122.80, 53.90), "2016-01-01/2016-01-05", max_cloud=5)
    text = str(err.value)
    assert "2016-01-01/2016-01-05" in text and "eo:cloud_cover < 5" in text and "-122.83" in text
    assert catalog.kwargs["query"] == {"eo:cloud_cover": {"lt": 5}}
    assert catalog.kwargs["collections"] == ["sentinel-2-l2a"] and catalog.kwargs["limit"] == 500


def test_an_unknown_collection_is_not_an_empty_search():
    with pytest.raises(UnknownCollectionError, match="Did you mean 'sentinel-2-l2a'"):
        stac.search(_NoItems(), (-122.83, 53.88, -122.80, 53.90), "2016", collection="Sentinel-2-L2A")


@pytest.mark.parametrize("bbox, match", [
    ((53.9, -122.8, 53.88, -122.83), "south, west, north, east"),
    ((-122.80, 53.88, -122.83, 53.90), "west < east"),
    ((500000, 5970000, 510000, 5980000), "metres"),
    ((-122.8, 53.9, -122.7), "4 numbers"),
])
def test_bad_bboxes_are_rejected(bbox, match):
    with pytest.raises(InputError, match=match):
        stac.search(_NoItems(), bbox, "2020")


def test_unreachable_catalog_is_a_clear_service_error(monkeypatch):
    monkeypatch.setenv("LABHELPERS_STAC_URL", "http://127.0.0.1:9/api/stac/v1")  # port 9: nothing listens
    with pytest.raises(ServiceError, match=r"127.0.0.1:9/api/stac/v1 failed while opening the catalog.*tried 2 times"):
        stac.open_catalog("planetary-computer")


class _Frozen(http.server.BaseHTTPRequestHandler):
    """Accepts the request and never answers: a frozen server as clients see it."""

    def do_GET(self):
        time.sleep(30)

    do_POST = do_GET

    def log_message(self, *a):
        pass


@pytest.fixture
def frozen_server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Frozen)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.timeout(60)
def test_a_catalog_that_never_answers_is_an_error_within_the_timeout(frozen_server, monkeypatch):
    monkeypatch.setenv("LABHELPERS_STAC_URL", frozen_server)
    monkeypatch.setenv("LABHELPERS_TIMEOUT", "1")
    t0 = time.monotonic()
    with pytest.raises(ServiceError, match="waiting up to 1 s") as err:
        stac.open_catalog("planetary-computer")
    assert "Timeout" in str(err.value) or "timed out" in str(err.value)
    assert time.monotonic() - t0 < 20  # generous: 2 attempts of 1 s plus back-off, not 30 s per attempt


class _Landing(http.server.BaseHTTPRequestHandler):
    """A STAC API whose landing page answers and whose search hangs (PostgreSQL frozen behind it)."""

    def do_GET(self):
        base = f"http://{self.headers['Host']}"
        body = json.dumps({"type": "Catalog", "id": "fake", "description": "x", "stac_version": "1.0.0",
                           "conformsTo": ["https://api.stacspec.org/v1.0.0/core",
                                          "https://api.stacspec.org/v1.0.0/item-search",
                                          "https://api.stacspec.org/v1.0.0/item-search#query"],
                           "links": [{"rel": "self", "href": base + "/"}, {"rel": "root", "href": base + "/"},
                                     {"rel": "search", "href": base + "/search", "method": "POST",
                                      "type": "application/geo+json"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        time.sleep(30)

    def log_message(self, *a):
        pass


@pytest.mark.timeout(60)
def test_a_search_that_never_answers_is_an_error_within_the_timeout(monkeypatch):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Landing)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("LABHELPERS_STAC_URL", f"http://127.0.0.1:{httpd.server_address[1]}")
        monkeypatch.setenv("LABHELPERS_TIMEOUT", "1")
        catalog = stac.open_catalog("planetary-computer")
        t0 = time.monotonic()
        with pytest.raises(ServiceError, match="failed while searching"):
            stac.search(catalog, (-122.83, 53.88, -122.80, 53.90), "2019")
        assert time.monotonic() - t0 < 20
    finally:
        httpd.shutdown()
        httpd.server_close()
