"""labhelpers.stac without a server: query building and error messages. (Real searches: test_services.)"""

import pytest

from labhelpers import stac
from labhelpers.stac import EmptySearchError, ServiceError


def test_cloud_query_is_the_query_extension_filter():
    assert stac.cloud_query(25) == {"eo:cloud_cover": {"lt": 25}}
    with pytest.raises(ValueError, match="percentage"):
        stac.cloud_query(250)


class _NoItems:
    """Stands in for a pystac_client.Client whose search matches nothing (records the call)."""

    def search(self, **kwargs):
        self.kwargs = kwargs
        return self

    def item_collection(self):
        return []


def test_empty_search_names_aoi_dates_and_cloud_limit():
    catalog = _NoItems()
    with pytest.raises(EmptySearchError) as err:
        stac.search(catalog, (-122.83, 53.88, -122.80, 53.90), "2016-01-01/2016-01-05", max_cloud=5)
    text = str(err.value)
    assert "2016-01-01/2016-01-05" in text and "eo:cloud_cover < 5" in text and "-122.83" in text
    assert catalog.kwargs["query"] == {"eo:cloud_cover": {"lt": 5}}
    assert catalog.kwargs["collections"] == ["sentinel-2-l2a"] and catalog.kwargs["limit"] == 500


def test_bbox_in_wrong_order_is_rejected():
    with pytest.raises(ValueError, match="west < east"):
        stac.search(_NoItems(), (53.9, -122.8, 53.88, -122.83), "2020")


def test_unreachable_catalog_is_a_clear_service_error(monkeypatch):
    monkeypatch.setenv("LABHELPERS_STAC_URL", "http://127.0.0.1:9/api/stac/v1")  # port 9: nothing listens
    with pytest.raises(ServiceError, match="did not answer"):
        stac.open_catalog("planetary-computer")
