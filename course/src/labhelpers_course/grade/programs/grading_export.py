"""Inside the student's kernel: write named variables as plain data (JSON + ``.npy``), never pickle.

The driver runs ``export(names, folder, globals())`` as the last cell. This code runs in the
student's own kernel, after the student's code, so the student can replace any of it (numpy,
json, builtins, this module): nothing here is trusted. Whatever it writes is parsed outside as
untrusted data (``values.py``, in another sandbox) where the tests run; forging can only
produce *values*, and producing the right values is producing the right answer.

The format (``manifest.json``, ``"format": "labhelpers-grade-export/1"``) is a tree of nodes
``{"t": type, ...}``; arrays go to ``v<n>.npy`` files written with ``allow_pickle=False``.
Supported: None, bool, int, float, str, list, tuple, dict, numpy arrays and scalars, pandas
Timestamp / Index / Series / DataFrame, xarray DataArray, and a matplotlib Figure as a
structural summary (axes, titles, labels, images with their data and colour limits, lines,
tick formatters, legends). Anything else is written as "unsupported" with its type.
"""

from __future__ import annotations

import json
import math
import os

__all__ = ["FORMAT", "remember_builtins", "export"]

FORMAT = "labhelpers-grade-export/1"
_BUILTINS: dict = {}


def remember_builtins() -> None:
    """Remember the kernel's built-ins as they are now (the driver calls this before the student's cells)."""
    import builtins

    _BUILTINS.update(vars(builtins))


class _Writer:
    def __init__(self, folder: str):
        self.folder = folder
        self.count = 0

    def array(self, value) -> dict:
        import numpy as np

        arr = np.asarray(value)
        if arr.dtype.kind == "O":  # objects: strings, Timestamps, mixed; only plain strings survive
            if all(isinstance(x, str) for x in arr.ravel().tolist()):
                arr = arr.astype(str)
            else:
                try:
                    arr = arr.astype("datetime64[ns]")
                except (TypeError, ValueError):
                    return {"t": "unsupported", "type": "object array"}
        if arr.dtype.kind == "M":
            arr = arr.astype("datetime64[ns]")
        name = f"v{self.count}.npy"
        self.count += 1
        np.save(os.path.join(self.folder, name), arr, allow_pickle=False)
        return {"t": "ndarray", "file": name}

    def index(self, idx) -> dict:
        if type(idx).__name__ == "MultiIndex":
            return {"t": "unsupported", "type": "pandas.MultiIndex"}
        return {"t": "Index", "name": _plain_name(idx.name), "data": self.array(idx.to_numpy())}

    def node(self, value, depth: int = 0) -> dict:  # noqa: C901 (one branch per supported type)
        if depth > 10:
            return {"t": "unsupported", "type": "nesting deeper than 10"}
        mod = type(value).__module__.split(".")[0]
        kind = type(value).__name__
        if value is None:
            return {"t": "none"}
        if value is Ellipsis:
            return {"t": "ellipsis"}
        if isinstance(value, bool):
            return {"t": "bool", "v": value}
        if isinstance(value, int):
            return {"t": "int", "v": str(value)}
        if isinstance(value, float):
            return {"t": "float", "v": repr(value) if not math.isfinite(value) else value}
        if isinstance(value, str):
            return {"t": "str", "v": value}
        if isinstance(value, (list, tuple)):
            return {"t": "list" if isinstance(value, list) else "tuple",
                    "items": [self.node(x, depth + 1) for x in value]}
        if isinstance(value, dict):
            return {"t": "dict", "items": [[self.node(k, depth + 1), self.node(v, depth + 1)] for k, v in value.items()]}
        if mod == "numpy":
            import numpy as np

            if isinstance(value, np.ndarray):
                return self.array(value)
            if isinstance(value, np.generic):
                return {"t": "scalar", "data": self.array(value)}
        if mod == "pandas":
            if kind == "Timestamp":
                return {"t": "timestamp", "v": value.isoformat()}
            if kind == "Series":
                return {"t": "Series", "name": _plain_name(value.name), "index": self.index(value.index),
                        "data": self.array(value.to_numpy())}
            if kind == "DataFrame":
                return {"t": "DataFrame", "index": self.index(value.index),
                        "columns": [[_plain_name(c), self.array(value[c].to_numpy())] for c in value.columns]}
            if kind.endswith("Index"):
                return self.index(value)
        if mod == "xarray" and kind == "DataArray":
            coords = []
            for name, coord in value.coords.items():
                data = self.array(coord.values)
                if data["t"] == "ndarray":
                    coords.append([str(name), list(map(str, coord.dims)), data])
            return {"t": "DataArray", "name": _plain_name(value.name), "dims": list(map(str, value.dims)),
                    "data": self.array(value.values), "coords": coords, "attrs": _plain_attrs(value.attrs)}
        if mod == "matplotlib" and kind == "Figure":
            return self.figure(value)
        return {"t": "unsupported", "type": f"{type(value).__module__}.{kind}"}

    def figure(self, fig) -> dict:
        axes = []
        for ax in fig.axes:
            axes.append({
                "position": list(map(float, ax.get_position().bounds)),
                "visible": bool(ax.get_visible()),
                "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
                "xformatter": _class_names(ax.xaxis.get_major_formatter()),
                "yformatter": _class_names(ax.yaxis.get_major_formatter()),
                "images": [{"clim": [float(c) for c in im.get_clim()], "cmap": im.get_cmap().name,
                            "data": self.array(im.get_array())} for im in ax.images],
                "lines": [{"x": self.array(line.get_xdata(orig=False)), "y": self.array(line.get_ydata(orig=False)),
                           "label": str(line.get_label())} for line in ax.lines],
                "n_collections": len(ax.collections), "n_patches": len(ax.patches),
                "legend": [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else None,
            })
        suptitle = fig._suptitle.get_text() if getattr(fig, "_suptitle", None) is not None else ""
        return {"t": "Figure", "suptitle": suptitle, "size": list(map(float, fig.get_size_inches())), "axes": axes}


def _class_names(obj) -> list[str]:
    """The names of ``obj``'s class and its bases, most specific first (pandas' date formatters
    subclass matplotlib's: the reader rebuilds the first it knows)."""
    return [c.__name__ for c in type(obj).__mro__][:8]


def _plain_name(name):
    return name if name is None or isinstance(name, (str, int, float)) else str(name)


def _plain_attrs(attrs: dict) -> dict:
    return {str(k): v for k, v in attrs.items() if isinstance(v, (str, int, float, bool))}


def export(names: list[str], folder: str, namespace: dict) -> None:
    """Write ``namespace[name]`` for every name in ``names`` into ``folder`` (``manifest.json`` + arrays).

    Parameters
    ----------
    names : list of str
        The variables the tests take.
    folder : str
    namespace : dict
        The kernel's ``globals()``.
    """
    import builtins

    vars(builtins).update(_BUILTINS)  # undo a student's replaced float, isinstance, open ...
    os.makedirs(folder, exist_ok=True)
    writer = _Writer(folder)
    values = {}
    for name in names:
        if name not in namespace:
            values[name] = {"t": "missing"}
            continue
        try:
            values[name] = writer.node(namespace[name])
        except Exception as err:  # a value we cannot write is reported as such, not a crash
            values[name] = {"t": "unsupported", "type": f"{type(namespace[name]).__name__} ({type(err).__name__})"}
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump({"format": FORMAT, "values": values}, f)
    try:  # for tuning the limits: the kernel's peak virtual size and resident set (kB); informative only
        with open("/proc/self/status") as f:
            peaks = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f) if k in ("VmPeak", "VmHWM")}
        with open(os.path.join(folder, "kernel.json"), "w") as f:
            json.dump(peaks, f)
    except (OSError, ValueError):
        pass
