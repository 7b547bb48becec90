import json

import pytest

from labhelpers import settings
from labhelpers_standin.archive import layout


def test_default_profile_is_the_planetary_computer(monkeypatch):
    for var in ("LABHELPERS_PROFILE", "LABHELPERS_STAC_URL", "LABHELPERS_BLOB_URL", "LABHELPERS_GATEWAY_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    s = settings.get_settings()
    assert s.profile == "planetary-computer"
    assert s.stac_url == "https://planetarycomputer.microsoft.com/api/stac/v1"
    assert s.blob_account_url("modiseuwest") == "https://modiseuwest.blob.core.windows.net"
    assert s.gateway_address is None


def test_env_overrides_and_bad_values(monkeypatch):
    monkeypatch.setenv("LABHELPERS_STAC_URL", "http://example.test/stac/")
    monkeypatch.setenv("LABHELPERS_GATEWAY_ADDRESS", "http://127.0.0.1:1")
    s = settings.get_settings("planetary-computer")
    assert s.stac_url == "http://example.test/stac" and s.gateway_address == "http://127.0.0.1:1"
    monkeypatch.setenv("LABHELPERS_BLOB_URL", "http://127.0.0.1:10000")
    with pytest.raises(settings.ConfigError, match=r"\{account\}"):
        settings.get_settings("planetary-computer")
    with pytest.raises(settings.ConfigError, match="Unknown profile"):
        settings.get_settings("hub")


def test_offline_profile_reads_the_state_file(monkeypatch, tmp_path):
    monkeypatch.setenv("LABHELPERS_OFFLINE_DIR", str(tmp_path))
    for var in ("LABHELPERS_STAC_URL", "LABHELPERS_BLOB_URL", "LABHELPERS_GATEWAY_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(settings.ConfigError, match="labhelpers offline up"):
        settings.get_settings("offline")
    (tmp_path / "state.json").write_text(json.dumps({
        "stac_url": "http://127.0.0.1:8011", "blob_url": "http://127.0.0.1:10000/{account}",
        "gateway": {"address": "http://127.0.0.1:8012", "proxy_address": "tcp://127.0.0.1:8013",
                    "auth": {"type": "basic", "username": "student", "password": "x"}}}))
    s = settings.get_settings("offline")
    assert s.stac_url == "http://127.0.0.1:8011" and s.gateway_proxy_address == "tcp://127.0.0.1:8013"
    assert s.blob_account_url("sentinel2l2a01") == "http://127.0.0.1:10000/sentinel2l2a01"


def test_localize_href_maps_mpc_blobs_to_the_local_server_only():
    href = layout.mpc_href("sentinel2l2a01", "sentinel2-l2", "10/U/EE/2019/x_B04_10m.tif")
    assert href == "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/10/U/EE/2019/x_B04_10m.tif"
    local = layout.localize_href(href, "http://127.0.0.1:10000/{account}")
    assert local == "http://127.0.0.1:10000/sentinel2l2a01/sentinel2-l2/10/U/EE/2019/x_B04_10m.tif"
    other = "https://planetarycomputer.microsoft.com/api/data/v1/item/preview.png"
    assert layout.localize_href(other, "http://127.0.0.1:10000/{account}") == other
    assert layout.blob_path(layout.Path("/a"), href) == layout.Path("/a/blobs/sentinel2l2a01/sentinel2-l2/10/U/EE/2019/x_B04_10m.tif")


def test_offline_profile_with_both_urls_in_the_environment_never_reads_the_state_file(monkeypatch, tmp_path):
    # A hub student or a sandboxed kernel cannot read the stand-in's 0600 state file: it gets the
    # URLs in its environment, and its gateway from LABHELPERS_GATEWAY_ADDRESS or dask's config.
    monkeypatch.setenv("LABHELPERS_OFFLINE_DIR", str(tmp_path))  # no state file there
    monkeypatch.setenv("LABHELPERS_STAC_URL", "http://127.0.0.1:25001/")
    monkeypatch.setenv("LABHELPERS_BLOB_URL", "http://127.0.0.1:25002/{account}")
    monkeypatch.delenv("LABHELPERS_GATEWAY_ADDRESS", raising=False)

    def unreadable():
        raise AssertionError("the state file was read")

    monkeypatch.setattr(settings, "read_state", unreadable)
    s = settings.get_settings("offline")
    assert s.stac_url == "http://127.0.0.1:25001" and s.blob_url == "http://127.0.0.1:25002/{account}"
    assert s.gateway_address is None and s.gateway_auth == {} and s.gateway_override is False
    monkeypatch.setenv("LABHELPERS_GATEWAY_ADDRESS", "")
    assert settings.get_settings("offline").gateway_override is True
    # Only one of the two given: the state file is still needed, and its absence is explained.
    monkeypatch.delenv("LABHELPERS_BLOB_URL")
    with pytest.raises(AssertionError, match="the state file was read"):
        settings.get_settings("offline")
