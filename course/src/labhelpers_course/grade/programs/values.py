"""Read the values a submission exported (``grading_export.py``) back, as untrusted data.

The export was written by code the student controls, so every byte is checked: a JSON tree of
known node types within size and depth limits, arrays only from ``v<n>.npy`` files loaded with
``allow_pickle=False`` and plain dtypes, lengths and shapes consistent. What passes becomes
real numpy / pandas / xarray / matplotlib objects, built here from data; no student code runs.
A malformed value becomes an :class:`Unsupported` stand-in (its tests fail with a clear
message) rather than stopping the grading of the other values.

Standalone (the tests sandbox imports it next to ``testrun.py``): the standard library, numpy,
pandas, xarray and matplotlib.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FORMAT", "Unsupported", "ExportError", "load", "ALLOWED_KINDS", "LIMITS"]

FORMAT = "labhelpers-grade-export/1"
#: numpy dtype kinds an exported array may have: bool, ints, floats, complex, datetimes,
#: timedeltas, strings. Never "O" (objects, i.e. pickles) or "V" (raw/structured).
ALLOWED_KINDS = set("biufcMmUS")
LIMITS = {"manifest_bytes": 10_000_000, "array_bytes": 512 * 1024 ** 2, "total_bytes": 1024 ** 3,
          "nodes": 100_000, "depth": 12, "string": 100_000}
_FILE = re.compile(r"^v[0-9]{1,6}\.npy$")
#: Tick formatters a figure's axis may be rebuilt with (name -> factory).
_FORMATTERS = {
    "AutoDateFormatter": lambda md, mt: md.AutoDateFormatter(md.AutoDateLocator()),
    "ConciseDateFormatter": lambda md, mt: md.ConciseDateFormatter(md.AutoDateLocator()),
    "DateFormatter": lambda md, mt: md.DateFormatter("%Y-%m-%d"),
    "ScalarFormatter": lambda md, mt: mt.ScalarFormatter(),
    "FuncFormatter": lambda md, mt: mt.FuncFormatter(lambda x, pos: f"{x:g}"),
    "StrMethodFormatter": lambda md, mt: mt.StrMethodFormatter("{x}"),
    "FormatStrFormatter": lambda md, mt: mt.FormatStrFormatter("%g"),
    "NullFormatter": lambda md, mt: mt.NullFormatter(),
    "LogFormatterSciNotation": lambda md, mt: mt.LogFormatterSciNotation(),
}


def _known_formatter(names) -> str | None:
    """The first class name of a formatter's class chain that can be rebuilt."""
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list):
        return None
    return next((n for n in names[:8] if isinstance(n, str) and n in _FORMATTERS), None)


class ExportError(ValueError):
    """The export as a whole is unreadable (no manifest, wrong format, over the limits)."""


@dataclass(frozen=True)
class Unsupported:
    """Stands for a value the grader could not rebuild; tests comparing it fail."""

    what: str

    def __repr__(self) -> str:
        return f"<a value the grader cannot check: {self.what}>"


class _Loader:
    def __init__(self, folder: Path):
        self.folder = folder
        self.nodes = 0
        self.total = 0

    def array(self, node: dict):
        import numpy as np

        if not isinstance(node, dict) or node.get("t") != "ndarray":
            raise ValueError("expected an array")
        name = node.get("file")
        if not isinstance(name, str) or not _FILE.match(name):
            raise ValueError("bad array file name")
        path = self.folder / name
        if path.is_symlink() or not path.is_file():
            raise ValueError("array file missing")
        size = path.stat().st_size
        self.total += size
        if size > LIMITS["array_bytes"] or self.total > LIMITS["total_bytes"]:
            raise ValueError(f"arrays larger than the limit ({size} bytes)")
        arr = np.load(path, allow_pickle=False)
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in ALLOWED_KINDS:
            raise ValueError(f"array dtype {getattr(arr, 'dtype', '?')} not allowed")
        return arr

    def text(self, value) -> str:
        if not isinstance(value, str) or len(value) > LIMITS["string"]:
            raise ValueError("expected a string")
        return value

    def name(self, value):
        if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        return self.text(value)

    def index(self, node: dict):
        import pandas as pd

        if node.get("t") != "Index":
            raise ValueError(f"unsupported index ({node.get('type', node.get('t'))})")
        return pd.Index(self.array(node["data"]), name=self.name(node.get("name")))

    def value(self, node, depth: int = 0):  # noqa: C901 (one branch per node type)
        self.nodes += 1
        if self.nodes > LIMITS["nodes"] or depth > LIMITS["depth"]:
            raise ValueError("export too large or too deeply nested")
        if not isinstance(node, dict):
            raise ValueError("expected a node")
        t = node.get("t")
        if t == "none":
            return None
        if t == "ellipsis":
            return Ellipsis
        if t == "bool":
            if not isinstance(node.get("v"), bool):
                raise ValueError("bad bool")
            return node["v"]
        if t == "int":
            v = node.get("v")
            if not isinstance(v, str) or not re.fullmatch(r"-?[0-9]{1,400}", v):
                raise ValueError("bad int")
            return int(v)
        if t == "float":
            v = node.get("v")
            if isinstance(v, str) and v in ("nan", "inf", "-inf"):
                return float(v)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
            raise ValueError("bad float")
        if t == "str":
            return self.text(node.get("v"))
        if t in ("list", "tuple"):
            items = [self.value(x, depth + 1) for x in node.get("items", [])]
            return items if t == "list" else tuple(items)
        if t == "dict":
            out = {}
            for pair in node.get("items", []):
                key = self.value(pair[0], depth + 1)
                if not isinstance(key, (str, int, float, bool, tuple)) and key is not None:
                    raise ValueError("bad dict key")
                out[key] = self.value(pair[1], depth + 1)
            return out
        if t == "ndarray":
            return self.array(node)
        if t == "scalar":
            arr = self.array(node["data"])
            if arr.ndim != 0:
                raise ValueError("a scalar must be 0-dimensional")
            return arr[()]
        if t == "timestamp":
            import pandas as pd

            return pd.Timestamp(self.text(node.get("v")))
        if t == "Index":
            return self.index(node)
        if t == "Series":
            import pandas as pd

            data, index = self.array(node["data"]), self.index(node["index"])
            if data.ndim != 1 or len(data) != len(index):
                raise ValueError("series data and index differ in length")
            return pd.Series(data, index=index, name=self.name(node.get("name")))
        if t == "DataFrame":
            import pandas as pd

            index = self.index(node["index"])
            columns = {}
            for name, col in node.get("columns", []):
                arr = self.array(col)
                if arr.ndim != 1 or len(arr) != len(index):
                    raise ValueError("a column's length differs from the index")
                columns[self.name(name)] = arr
            return pd.DataFrame(columns, index=index)
        if t == "DataArray":
            return self.dataarray(node)
        if t == "Figure":
            return self.figure(node)
        if t in ("unsupported", "missing"):
            return Unsupported(self.text(node.get("type", "a value that was not defined")))
        raise ValueError(f"unknown node type {t!r}")

    def dataarray(self, node: dict):
        import xarray as xr

        data = self.array(node["data"])
        dims = [self.text(d) for d in node.get("dims", [])]
        if len(dims) != data.ndim or len(set(dims)) != len(dims):
            raise ValueError("dims do not match the data")
        sizes = dict(zip(dims, data.shape))
        coords = {}
        for name, cdims, cnode in node.get("coords", []):
            arr = self.array(cnode)
            cdims = [self.text(d) for d in cdims]
            if len(cdims) != arr.ndim or any(sizes.get(d) != n for d, n in zip(cdims, arr.shape)):
                raise ValueError(f"coordinate {name!r} does not fit the data")
            coords[self.text(name)] = (cdims, arr)
        attrs = {self.text(k): v for k, v in (node.get("attrs") or {}).items()
                 if isinstance(v, (str, int, float, bool)) and not (isinstance(v, str) and len(v) > 10_000)}
        return xr.DataArray(data, dims=dims, coords=coords, name=self.name(node.get("name")), attrs=attrs)

    def figure(self, node: dict):
        import matplotlib

        matplotlib.use("agg")
        import matplotlib.dates as mdates
        import matplotlib.ticker as mticker
        import numpy as np
        from matplotlib.figure import Figure

        size = node.get("size") or [6.4, 4.8]
        w, h = (float(x) for x in size[:2])
        fig = Figure(figsize=(min(max(w, 0.5), 100), min(max(h, 0.5), 100)))
        for spec in node.get("axes", [])[:200]:
            pos = [float(x) for x in spec.get("position", [0.1, 0.1, 0.8, 0.8])][:4]
            if len(pos) != 4 or not all(math.isfinite(x) for x in pos):
                raise ValueError("bad axes position")
            ax = fig.add_axes(pos)
            for im in spec.get("images", [])[:100]:
                data = self.array(im["data"]) if im.get("data") else np.zeros((2, 2))
                if data.ndim not in (2, 3) or data.dtype.kind not in "biuf":
                    data = np.zeros((2, 2))
                lo, hi = (float(c) for c in im.get("clim", [0, 1])[:2])
                ax.imshow(data, vmin=lo, vmax=hi)
            for line in spec.get("lines", [])[:1000]:
                x, y = self.array(line["x"]), self.array(line["y"])
                ax.plot(x, y, label=self.text(line.get("label", "")))
            for axis, key in ((ax.xaxis, "xformatter"), (ax.yaxis, "yformatter")):
                known = _known_formatter(spec.get(key))
                if known is not None:
                    axis.set_major_formatter(_FORMATTERS[known](mdates, mticker))
            ax.set_title(self.text(spec.get("title", "")))
            ax.set_xlabel(self.text(spec.get("xlabel", "")))
            ax.set_ylabel(self.text(spec.get("ylabel", "")))
            if spec.get("legend"):
                ax.legend([self.text(t) for t in spec["legend"]])
            ax.set_visible(bool(spec.get("visible", True)))
        if node.get("suptitle"):
            fig.suptitle(self.text(node["suptitle"]))
        return fig


def load(folder: Path, names: list[str]) -> dict:
    """The exported values of ``names`` from ``folder`` (a private copy made by the grader).

    A name the export does not have is left out (otter then passes ``None`` to the test).

    Parameters
    ----------
    folder : pathlib.Path
    names : list of str

    Returns
    -------
    dict
        ``{name: value}``; a value that could not be rebuilt is an :class:`Unsupported`.

    Raises
    ------
    ExportError
        No readable ``manifest.json`` of the expected format.
    """
    manifest = folder / "manifest.json"
    if manifest.is_symlink() or not manifest.is_file():
        raise ExportError("the notebook's values were not exported (did the run finish?)")
    if manifest.stat().st_size > LIMITS["manifest_bytes"]:
        raise ExportError("the exported values' manifest is larger than the limit")
    try:
        doc = json.loads(manifest.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ExportError(f"the exported values' manifest is not JSON ({err})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("values"), dict):
        raise ExportError("the exported values' manifest has an unknown format")
    loader = _Loader(folder)
    out = {}
    for name in names:
        node = doc["values"].get(name)
        if node is None:
            continue
        try:
            out[name] = loader.value(node)
        except Exception as err:  # malformed data of any kind: this value cannot be checked
            out[name] = Unsupported(f"malformed export of {name} ({type(err).__name__}: {str(err)[:200]})")
    return out
