"""Every lab notebook executes against the offline stand-in and reproduces its committed outputs.

nbval re-runs each committed notebook cell by cell and compares the new outputs with the committed
ones (tests/nbval_sanitize.cfg masks paths and ports; cells tagged ``nbval-ignore-output`` hold
volatile things such as dashboard links and progress bars). It runs as a child pytest so that
this session's stand-in fixture is up while it runs.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = [pytest.mark.services, pytest.mark.notebooks]


def _outputs_text(nb) -> str:
    return "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "")
                     for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def test_every_notebook_reads_like_a_handout_and_was_executed():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
        assert tags.count("parameters") == 1, path.name
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), path.name
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                assert nb.cells[i - 1].cell_type == "markdown", f"{path.name}: code cell {i} has no prose before it"
                assert cell.execution_count is not None, f"{path.name}: cell {i} was not executed before committing"
        assert not re.search(r"sig=[A-Za-z0-9%/+]{10,}|AccountKey=|SharedAccessSignature", _outputs_text(nb)), path.name


def test_nbval_reproduces_every_notebook(offline_pc):
    env = {**os.environ, "LABHELPERS_PROFILE": "offline"}
    cmd = [sys.executable, "-m", "pytest", "--nbval", *map(str, NOTEBOOKS), "-p", "no:cacheprovider",
           "--nbval-sanitize-with", str(ROOT / "tests" / "nbval_sanitize.cfg"), "--nbval-cell-timeout", "900",
           "-o", "testpaths=", "-q"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3000)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, f"nbval failed:\n{tail}"
    assert re.search(r"\d+ passed", proc.stdout), tail
