import json
import warnings

import pytest

from labhelpers.aoi import AOIWarning, as_polygon, bbox_of

# The lab's AOI exactly as the lab writes it: no outer list, ring not closed.
LAB_AOI = [[-122.8226566, 53.8907286], [-122.8003758, 53.8830494], [-122.8052681, 53.8914371],
           [-122.8124781, 53.9006506], [-122.8264828, 53.8952614], [-122.8227425, 53.8907537]]


def test_lab_aoi_is_fixed_with_a_warning_that_shows_the_corrected_geojson():
    with pytest.warns(AOIWarning) as record:
        bbox = bbox_of(LAB_AOI)
    assert bbox == (-122.8264828, 53.8830494, -122.8003758, 53.9006506)
    message = str(record[0].message)
    assert "outer list" in message and "closed ring 0" in message and "-122.8227425" in message
    corrected = json.loads(message.split("Corrected GeoJSON:\n", 1)[1])
    ring = corrected["coordinates"][0]
    assert corrected["type"] == "Polygon" and ring[0] == ring[-1] == LAB_AOI[0] and len(ring) == 7
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the corrected GeoJSON is valid: no warning the second time
        assert bbox_of(corrected) == bbox


def test_valid_geojson_feature_and_polygon_pass_silently():
    poly = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 1], [0, 0]]]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bbox_of(poly) == (0, 0, 2, 1)
        assert bbox_of({"type": "Feature", "properties": {}, "geometry": poly}) == (0, 0, 2, 1)


@pytest.mark.parametrize(
    "aoi, match",
    [
        ([[53.89, -122.82], [53.88, -122.80], [53.90, -122.81]], r"\[latitude, longitude\].*swap"),
        ([[0, 0], [1, 1], [0, 0]], "2 distinct position"),
        ([[0, 0], [1, "1"], [1, 0]], "finite numbers"),
        ([[0, 0], [1, float("nan")], [1, 0]], "finite numbers"),
        ({"type": "Point", "coordinates": [0, 0]}, "not a Polygon"),
        ([[0, 0], [1, 1], [200, 0]], "longitude 200"),
        ("POLYGON((0 0, 1 1, 1 0, 0 0))", "text.*json.loads"),
        ([], "not a polygon"),
    ],
)
def test_broken_aois_raise_value_errors_that_say_what_to_fix(aoi, match):
    with pytest.raises(ValueError, match=match):
        bbox_of(aoi)


def test_as_polygon_returns_geojson_for_intersects():
    with pytest.warns(AOIWarning):
        poly = as_polygon(LAB_AOI)
    assert poly["type"] == "Polygon" and len(poly["coordinates"]) == 1


def test_the_warning_points_at_the_callers_line():
    with pytest.warns(AOIWarning) as record:
        bbox_of(LAB_AOI)
    assert record[0].filename == __file__
