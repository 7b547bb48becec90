"""Every lab notebook is a lesson built the same way, faithful to the handout, and honest in its figures.

The book build parses the conventions checked here (see docs/notebooks.md):

* the first cell is markdown starting ``# N. Title`` with a ``### Learning objectives`` heading followed by a
  bullet list, a line ``**Time:** about NN minutes`` and a line ``**Prerequisites:** ...``;
* the last cell is markdown starting ``## Summary`` with a ``### Key points`` heading followed by a bullet list;
* imports sit in one early code cell (the first), and no other code cell imports anything;
* every figure's cell carries alt text as MyST-NB reads it: ``{"mystnb": {"image": {"alt": "..."}}}``.

The handout (``shared/seed`` in the project's notes) is the source of truth for values: each notebook must
contain the values it uses verbatim and none of the values invented before the handout was found.
These checks read the committed notebooks only; no service is needed.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.notebooks

#: The lab's area of interest exactly as the handout writes it: five positions, ring not closed, no outer list.
AOI = ("[-122.8226566, 53.9006842], [-122.826519, 53.8837441], [-122.8019714, 53.8829854], "
       "[-122.8004265, 53.9007348], [-122.8227425, 53.9006842]")
CLOUD_QUERY = '{"eo:cloud_cover": {"lt": 25}}'
ASSETS = '"B04", "B03", "B02", "B08"'

#: Handout values each notebook must contain verbatim (whitespace-normalised source).
HANDOUT_VALUES = {
    "01": ["cluster = GatewayCluster()", "cluster.get_client()", "cluster.adapt(minimum=4, maximum=24)",
           "min_workers = 4", "max_workers = 24"],
    "02": [AOI, CLOUD_QUERY, "limit=500", 'collections=["sentinel-2-l2a"]', "search.get_items()",
           "planetary_computer.sign(item).to_dict()", "rasterio.features.bounds(area_of_interest)"],
    "03": [AOI, CLOUD_QUERY, "limit=500", ASSETS, "resolution = 100", "chunksize=4096",
           ".where(lambda x: x > 0, other=np.nan)", 'x.common_name.rename("band")', "epsg=epsg",
           'data.median(dim="time")', 'data.groupby("time.month").median()', 'data.resample(time="1M").median()',
           'resample(time="MS")', "ms.true_color(r=median[0], g=median[1], b=median[2]"],
    "04": [AOI, CLOUD_QUERY, "limit=500", ASSETS, "resolution = 100",
           "(x[3, :, :] - x[0, :, :])/(x[3, :, :] + x[0, :, :])"],
    "05": ["41.881832", "-87.623177", "daynum_start = 2019135", "daynum_end = 2019160", 'product = "MCD43A4"',
           "modissa", "modis-006", "msft:storage_account", "msft:container", "def lat_lon_to_modis_tile(lat,lon):",
           "skip_footer = 3", "blob_name = filenames[0]", "rxr.open_rasterio(file[0])", "print([tmp_val, image[1]])",
           "print([tmp, image[1]])", "tmp = np.nanmean(band1)"],
    "06": ["TYPE_B = list(zip(TYPE_A))", "zip(*TYPE_A)"],
}

#: Values invented before the handout was found (the old AOI, Chicago and a box that missed the city).
INVENTED = ["53.8907286", "-122.8003758", "53.8830494", "-122.8052681", "-122.8124781", "-122.8264828",
            "53.8952614", "53.8907537", "41.8781", "-87.6298", "-88.3", "-87.9"]

#: Cells that show one of the lab's bugs fail on purpose, with this error, in the committed outputs.
EXPECTED_ERRORS = {
    "03": [("ValueError", "Cannot pick a common CRS")],
    "05": [("IndexError", "list index out of range"), ("RasterioIOError", "not recognized as being in a supported"),
           ("NameError", "name 'tmp_val' is not defined")],
}

IMPORT_LINE = re.compile(r"^\s*(import\s+\w|from\s+[\w.]+\s+import\s)", re.MULTILINE)


def _read(path):
    return nbformat.read(path, as_version=4)


def _number(path) -> str:
    return path.name[:2]


def _flat(text: str) -> str:
    return " ".join(text.split())


def _bullets_after(heading: str, text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == heading) + 1
    bullets = []
    for line in lines[start:]:
        if line.startswith("- ") or line.startswith("* "):
            bullets.append(line[2:].strip())
        elif line.startswith("  ") and bullets:  # a wrapped bullet
            continue
        elif not line.strip() and not bullets:
            continue
        else:
            break
    return bullets


def _sources(nb) -> str:
    return "\n".join(c.source for c in nb.cells)


def _outputs(nb) -> str:
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", "") or "")
            out.append(o.get("evalue", "") or "")
            out.append((o.get("data") or {}).get("text/plain", "") or "")
    return "\n".join(out)


def test_the_six_notebooks_are_there():
    assert [_number(p) for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_states_objectives_time_and_prerequisites(path):
    first = _read(path).cells[0]
    assert first.cell_type == "markdown"
    assert re.match(rf"# {int(_number(path))}\. \S", first.source), first.source[:60]
    objectives = _bullets_after("### Learning objectives", first.source)
    assert len(objectives) >= 3 and all(objectives), objectives
    assert re.search(r"^\*\*Time:\*\* about \d+ minutes$", first.source, re.MULTILINE)
    assert re.search(r"^\*\*Prerequisites:\*\* \S", first.source, re.MULTILINE)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_last_cell_sums_up_with_key_points(path):
    last = _read(path).cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## Summary")
    assert len(_bullets_after("### Key points", last.source)) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_imports_sit_in_one_early_cell(path):
    code = [c for c in _read(path).cells if c.cell_type == "code"]
    importing = [i for i, c in enumerate(code) if IMPORT_LINE.search(c.source)]
    assert importing == [0], f"code cells with imports: {importing} (want only the first)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_parameters_cell_holds_the_profile(path):
    cells = [c for c in _read(path).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1 and re.search(r"^profile = ", cells[0].source, re.MULTILINE)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_has_alt_text_for_the_book(path):
    nb = _read(path)
    figures = 0
    for i, cell in enumerate(nb.cells):
        images = [o for o in cell.get("outputs", []) if {"image/png", "image/svg+xml"} & set(o.get("data", {}))]
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
        if images:
            figures += 1
            assert len(alt.split()) >= 12, f"{path.name} cell {i}: a figure without (enough) alt text"
        else:
            assert not alt, f"{path.name} cell {i}: alt text on a cell that shows no figure"
    assert figures >= (0 if _number(path) in ("01", "02") else 1)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_handout_values_are_used_verbatim(path):
    text = _flat(_sources(_read(path)))
    missing = [v for v in HANDOUT_VALUES[_number(path)] if _flat(v) not in text]
    assert not missing, f"{path.name} lacks the handout's {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_invented_value_remains(path):
    nb = _read(path)
    found = [v for v in INVENTED if v in _sources(nb) or v in _outputs(nb)]
    assert not found, f"{path.name} still holds invented values {found}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_only_the_labs_own_bugs_fail_and_they_fail_as_taught(path):
    errors = []
    for cell in _read(path).cells:
        for o in cell.get("outputs", []):
            if o.output_type == "error":
                assert "raises-exception" in cell.metadata.get("tags", []), f"{path.name}: an untagged cell failed"
                errors.append((o.ename, o.evalue))
    expected = EXPECTED_ERRORS.get(_number(path), [])
    assert len(errors) == len(expected)
    for (ename, evalue), (want_name, want_text) in zip(errors, expected):
        assert ename == want_name and want_text in evalue, (ename, evalue)


def test_notebook_03_teaches_the_labs_resample_and_month_numbering():
    nb = _read(next(p for p in NOTEBOOKS if _number(p) == "03"))
    text, outputs = _sources(nb), _outputs(nb)
    assert "'M' is deprecated" in outputs and "2016-01-31" in outputs and "2016-01-01" in outputs
    assert "January is 0" in text and "**Months are numbered 1 (January) to 12 (December)**" in text
    assert "months: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]" in outputs
    assert re.search(r"no bounds \(the lab's\)\s+\d+ x \d+", outputs) and "bounds_latlon=bbox (the AOI)" in outputs


def test_notebook_02_shows_the_get_items_deprecation():
    outputs = _outputs(_read(next(p for p in NOTEBOOKS if _number(p) == "02")))
    assert "get_items() is deprecated" in outputs


def test_the_handout_map_in_the_docs_points_at_real_sections():
    """docs/notebooks.md lists each handout step with the notebook and the `##` section that teaches it."""
    rows = re.findall(r"^\| (.+?) \| (0[1-6]) \| (.+?) \|$", (ROOT / "docs" / "notebooks.md").read_text(), re.MULTILINE)
    assert len(rows) >= 30
    headings = {_number(p): {line[3:].strip() for c in _read(p).cells if c.cell_type == "markdown"
                             for line in c.source.splitlines() if line.startswith("## ")} for p in NOTEBOOKS}
    wrong = [(n, section) for _, n, section in rows if section not in headings[n]]
    assert not wrong, f"sections named in docs/notebooks.md that the notebooks lack: {wrong}"
    assert {n for _, n, _ in rows} == set(headings)
