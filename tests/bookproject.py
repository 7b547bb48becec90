"""A small lab project for the book's tests: two lab notebooks that follow the notebook convention
(objectives, time and prerequisites in the first cell, key points in the last), executed, with
what the real notebooks have: a figure with alt text, display math, a finished tqdm widget, an
empty ``distributed.progress`` widget, a cell tagged ``raises-exception`` with its traceback and
papermill's injected parameters; one exercise, the instructor guide and notes. The book skeleton
is the repository's own ``book/`` and MathJax the repository's ``node_modules/mathjax``.
"""

from __future__ import annotations

import base64
import shutil
import struct
import zlib
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
#: What only the instructor notes say; must never appear in a student edition.
NOTES_ONLY = "Students often forget to close the cluster"


def png(width: int = 24, height: int = 16) -> str:
    """A real PNG (a grey gradient) as base64, as Jupyter stores image outputs."""
    rows = b"".join(b"\x00" + bytes((x * 255 // width) for x in range(width)) for _ in range(height))
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return base64.b64encode(raw).decode()


def first_cell(number: int, title: str, minutes: int = 20) -> str:
    return (f"# {number}. {title}\n\nWhat this notebook is about.\n\n"
            "### Learning objectives\n\n"
            f"* Explain the idea of notebook {number}.\n"
            "* Use `zip(*rows)` on a table of\n  rows.\n\n"
            f"**Time:** about {minutes} minutes\n\n"
            "**Prerequisites:** Python lists; notebook 1.\n")


def last_cell(number: int) -> str:
    return (f"## Summary\n\nNotebook {number} in short.\n\n### Key points\n\n"
            f"- Key point A of notebook {number}.\n- Key point B of notebook {number}.\n")


def _code(source: str, outputs: list, tags=(), metadata=None, count: int = 1):
    cell = nbformat.v4.new_code_cell(source, outputs=outputs, execution_count=count)
    cell.metadata.update(metadata or {})
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


def _new_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    return nb


def lab_notebook(number: int, title: str, minutes: int = 20) -> nbformat.NotebookNode:
    """An executed lab notebook that follows the convention."""
    md = nbformat.v4.new_markdown_cell
    out = nbformat.v4.new_output
    tqdm_view = {"model_id": "bar", "version_major": 2, "version_minor": 0}
    progress_view = {"model_id": "progress", "version_major": 2, "version_minor": 0}
    nb = _new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0, "state": {
        "bar": {"model_name": "HBoxModel", "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
                "state": {"children": ["IPY_MODEL_desc", "IPY_MODEL_fill", "IPY_MODEL_count"]}},
        "desc": {"model_name": "HTMLModel", "state": {"value": "days:\u2007100%"}},
        "fill": {"model_name": "FloatProgressModel", "state": {"value": 26.0, "max": 26.0}},
        "count": {"model_name": "HTMLModel", "state": {"value": "\u200726/26\u2007[00:03&lt;00:00,\u20078.32it/s]"}},
        "progress": {"model_name": "VBoxModel", "state": {"children": []}},
    }}}
    nb.cells = [
        md(first_cell(number, title, minutes)),
        md("## Parameters\n\nThe world to run in."),
        _code('profile = None', [], tags=["parameters"]),
        _code('profile = "offline"\n', [], tags=["injected-parameters"]),
        md("## A formula\n\n$$\\mathrm{NDVI} = \\frac{\\mathrm{NIR} - \\mathrm{red}}{\\mathrm{NIR} + \\mathrm{red}}$$\n\n"
           "and inline $x^2$."),
        _code("plot()", [out("display_data", data={"image/png": png(), "text/plain": "<Figure size 240x160 with 1 Axes>"})],
              metadata={"mystnb": {"image": {"alt": f"A grey gradient from black on the left to white on the right, notebook {number}"}}}),
        md("## Progress"),
        _code("for day in tqdm(days): ...", [out("display_data", data={"application/vnd.jupyter.widget-view+json": tqdm_view,
                                                                       "text/plain": "days:   0%|  | 0/26"})]),
        _code("progress(data)", [out("display_data", data={"application/vnd.jupyter.widget-view+json": progress_view,
                                                           "text/plain": "VBox()"})]),
        md("## The lab's own call fails"),
        _code("print([tmp_val])", [out("error", ename="NameError", evalue="name 'tmp_val' is not defined",
                                       traceback=["\x1b[0;31mNameError\x1b[0m: name 'tmp_val' is not defined"])],
              tags=["raises-exception"]),
        _code("stackstac.stack(items)", [out("error", ename="ValueError", evalue="Cannot pick a common CRS", traceback=[
            "\x1b[0;31mValueError\x1b[0m  Traceback (most recent call last)",
            "File \x1b[0;32m/home/someone/lab/.venv/lib/python3.11/site-packages/stackstac/prepare.py:190\x1b[0m",
            "\x1b[0;31mValueError\x1b[0m: Cannot pick a common CRS.\n\nPlease specify a CRS with the `epsg=` argument."])],
              tags=["raises-exception"]),
        md(last_cell(number)),
    ]
    return nb


def exercise() -> nbformat.NotebookNode:
    md = nbformat.v4.new_markdown_cell
    nb = _new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import otter\ngrader = otter.Notebook(\"ex1_ndsi.ipynb\")"),
                md("# Exercise 1: NDSI\n\n$$\\mathrm{NDSI} = \\frac{\\mathrm{green} - \\mathrm{SWIR}}{\\mathrm{green} + \\mathrm{SWIR}}$$"),
                nbformat.v4.new_code_cell("ndsi = ...")]
    return nb


def make_project(root: Path, notebooks: dict[str, nbformat.NotebookNode] | None = None) -> Path:
    """Write a fixture project under ``root`` (the repository's layout) and return ``root``."""
    notebooks = notebooks or {"01_first": lab_notebook(1, "First steps", 20),
                              "02_second": lab_notebook(2, "Second steps", 35)}
    (root / "notebooks").mkdir(parents=True)
    for stem, nb in notebooks.items():
        nbformat.write(nb, root / "notebooks" / f"{stem}.ipynb")
    (root / "exercises").mkdir()
    nbformat.write(exercise(), root / "exercises" / "ex1_ndsi.ipynb")
    (root / "docs" / "instructor-notes").mkdir(parents=True)
    (root / "docs" / "instructors.md").write_text("# For instructors\n\nRelease, grade, return.\n", encoding="utf-8")
    for stem in notebooks:
        (root / "docs" / "instructor-notes" / f"{stem}.md").write_text(
            f"# Notes: {stem}\n\n## Where students trip\n\n* {NOTES_ONLY} ({stem}).\n", encoding="utf-8")
    shutil.copytree(REPO / "book", root / "book", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "node_modules").mkdir()
    (root / "node_modules" / "mathjax").symlink_to(REPO / "node_modules" / "mathjax")
    return root
