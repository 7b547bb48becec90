"""Exported values: what a kernel writes comes back as the same objects; forged exports do not.

``grading_export`` runs in the student's kernel, ``values`` in the tests sandbox; both are
standalone programs, imported here from the package as the grader copies them."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from labhelpers_course.grade.programs import grading_export, values


def _roundtrip(tmp_path, **ns):
    grading_export.export(list(ns), str(tmp_path), ns)
    return values.load(tmp_path, list(ns))


def test_plain_values_arrays_and_tables_roundtrip(tmp_path):
    da = xr.DataArray(np.random.rand(12, 3, 4), dims=("month", "y", "x"),
                      coords={"month": np.arange(1, 13), "y": [3.0, 2, 1], "x": np.arange(4.0), "epsg": 32610,
                              "bbox": ((), object())}, name="ndsi", attrs={"units": "1", "obj": object()})
    s = pd.Series([0.1, 0.2], index=pd.Index([1, 2], name="month"), name="mean NDSI")
    df = pd.DataFrame({"red": [0.1, 0.2], "ndvi": [0.5, 0.6]},
                      index=pd.DatetimeIndex(["2021-04-01", "2021-04-02"], name="date"))
    got = _roundtrip(tmp_path, n=3, f=float("nan"), t=("a", [1, 2.5], {"k": None}), arr=np.arange(6).reshape(2, 3),
                     da=da, s=s, df=df, e=..., big=10 ** 30, ts=pd.Timestamp("2021-04-01"), i64=np.int64(7))
    assert got["n"] == 3 and np.isnan(got["f"]) and got["t"] == ("a", [1, 2.5], {"k": None}) and got["e"] is Ellipsis
    assert got["big"] == 10 ** 30 and got["ts"] == pd.Timestamp("2021-04-01") and got["i64"] == 7
    np.testing.assert_array_equal(got["arr"], np.arange(6).reshape(2, 3))
    back = got["da"]
    assert back.dims == da.dims and back.name == "ndsi" and back.attrs == {"units": "1"}
    np.testing.assert_array_equal(back.values, da.values)
    for name in ("month", "y", "x", "epsg"):
        np.testing.assert_array_equal(back[name].values, da[name].values)
    assert "bbox" not in back.coords  # an object coordinate is left out, not guessed
    pd.testing.assert_series_equal(got["s"], s)
    pd.testing.assert_frame_equal(got["df"], df)


def test_figures_come_back_with_what_the_tests_check(tmp_path):
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    im = axes[0].imshow(np.random.rand(5, 5), vmin=-1, vmax=1)
    axes[0].set(title="Jan", xlabel="x", ylabel="y")
    fig.colorbar(im, ax=axes[0], label="NDSI (unitless)")
    axes[1].plot(pd.date_range("2021-04-01", periods=5), np.arange(5.0))
    fig.suptitle("title")
    got = _roundtrip(tmp_path, fig=fig)["fig"]
    plt.close(fig)
    assert got.get_suptitle() == "title" and len(got.axes) == 3
    a0 = got.axes[0]
    assert a0.get_title() == "Jan" and a0.images[0].get_clim() == (-1, 1) and a0.get_xlabel() == "x"
    assert any("NDSI" in ax.get_ylabel() for ax in got.axes if not ax.images)
    assert isinstance(got.axes[1].xaxis.get_major_formatter(),
                      (mdates.AutoDateFormatter, mdates.ConciseDateFormatter, mdates.DateFormatter))
    assert len(got.axes[1].lines[0].get_xdata()) == 5


def test_a_subclassed_date_formatter_comes_back_as_its_known_base(tmp_path):
    """pandas' own date formatter subclasses matplotlib's: a test that accepts it in the kernel must
    accept the rebuilt figure too."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    class LocalDateFormatter(mdates.AutoDateFormatter):
        pass

    fig, ax = plt.subplots()
    ax.plot(pd.date_range("2021-04-01", periods=3), [1, 2, 3])
    ax.xaxis.set_major_formatter(LocalDateFormatter(mdates.AutoDateLocator()))
    got = _roundtrip(tmp_path, fig=fig)["fig"]
    plt.close(fig)
    assert isinstance(got.axes[0].xaxis.get_major_formatter(), mdates.AutoDateFormatter)


def test_a_pickled_array_is_refused_and_never_unpickled(tmp_path):
    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path}/PWNED",))

    np.save(tmp_path / "v0.npy", np.array([Boom()], dtype=object), allow_pickle=True)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": values.FORMAT, "passed": True,
                                                        "values": {"answer": {"t": "ndarray", "file": "v0.npy"}}}))
    got = values.load(tmp_path, ["answer"])
    assert isinstance(got["answer"], values.Unsupported) and not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("node", [
    {"t": "ndarray", "file": "../../etc/passwd"},
    {"t": "ndarray", "file": "v1.npy"},  # a symlink to /etc/passwd
    {"t": "Series", "data": {"t": "ndarray", "file": "v2.npy"}, "index": {"t": "Index", "data": {"t": "ndarray", "file": "v3.npy"}}},
    {"t": "DataArray", "data": {"t": "ndarray", "file": "v2.npy"}, "dims": ["a", "b"]},
    {"t": "int", "v": "9" * 5000},
    {"t": "pickle", "v": "gASV"},
    {"t": "list", "items": [{"t": "list", "items": []}] * 200000},
])
def test_malformed_values_become_unsupported(tmp_path, node):
    np.save(tmp_path / "v2.npy", np.arange(3))
    np.save(tmp_path / "v3.npy", np.arange(4))
    os.symlink("/etc/passwd", tmp_path / "v1.npy")
    (tmp_path / "manifest.json").write_text(json.dumps({"format": values.FORMAT, "values": {"x": node}}))
    assert isinstance(values.load(tmp_path, ["x"])["x"], values.Unsupported)


def test_no_manifest_or_a_foreign_one_is_an_export_error(tmp_path):
    with pytest.raises(values.ExportError, match="not exported"):
        values.load(tmp_path, ["x"])
    os.symlink("/etc/hostname", tmp_path / "manifest.json")
    with pytest.raises(values.ExportError, match="not exported"):
        values.load(tmp_path, ["x"])
    os.unlink(tmp_path / "manifest.json")
    (tmp_path / "manifest.json").write_text('{"values": {}}')
    with pytest.raises(values.ExportError, match="unknown format"):
        values.load(tmp_path, ["x"])
