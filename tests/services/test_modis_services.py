"""labhelpers.modis against the running stand-in: both routes (Azurite blobs, the STAC API) agree
with the archive's truth."""

from __future__ import annotations

import numpy as np
import pytest

from labhelpers import modis

pytestmark = pytest.mark.services

# ---------------------------------------------------------------------------------------------
# Against the running stand-in (Azurite + STAC API)
# ---------------------------------------------------------------------------------------------
def test_list_hdf_in_azurite(offline_pc, archive_manifest):
    t = archive_manifest["modis"]["tiles"]["h11v04"]
    client = modis.container_client("offline")
    day = t["present"][0]
    assert modis.list_hdf(client, "MCD43A4", 11, 4, day) == [t["hdf_blobs"][0]]
    assert modis.list_hdf(client, "MCD43A4", 11, 4, t["missing"][0]) == []
    assert len(modis.tile_extents(modis.blob_url(client, modis.SN_BOUND_FILE))) == 648


def test_blob_route_download_and_open(offline_pc, archive_manifest, tmp_path):
    t = archive_manifest["modis"]["tiles"]["h11v04"]
    client = modis.container_client("offline")
    names = modis.list_hdf(client, "MCD43A4", 11, 4, "2019135")
    path = modis.download(modis.blob_url(client, names[-1]), tmp_path, progress=False)
    ds = modis.open_hdf(path, variables=[modis.RED, modis.NIR])
    assert float(modis.ndvi(modis.clip_lonlat(ds, t["aoi"]["bbox"])).mean()) == pytest.approx(
        t["aoi"]["mean_ndvi"]["2019135"], abs=0.01)


def test_stac_route_matches_the_truth(offline_pc, archive_manifest):
    from labhelpers.stac import open_catalog

    t = archive_manifest["modis"]["tiles"]["h10v03"]
    items = modis.search_stac(open_catalog("offline"), 10, 3, "2021-05-01", "2021-05-10")
    expect = [d for d in t["present"] if "2021121" <= d <= "2021130"]
    assert [it.id for it in items] == [f"MCD43A4.A{d}.h10v03.061" for d in expect]
    ds = modis.load_stac(items[:2], bbox=t["aoi"]["bbox"])
    assert ds[modis.RED].dtype == np.float32 and ds.sizes["time"] == 2
    got = modis.ndvi(modis.clip_lonlat(ds, t["aoi"]["bbox"])).mean(["x", "y"]).values
    assert got == pytest.approx([t["aoi"]["mean_ndvi"][d] for d in expect[:2]], abs=0.01)
