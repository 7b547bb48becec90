"""The lab's book in a real browser, offline: nothing requested outside the site, nothing failed,
every formula typeset, every figure loaded with real alt text, every page reachable and every
internal link resolving; no instructor notes and nothing from solutions/ in the student edition.
What is expected (figures, formulas, widget texts) is read from the notebooks themselves."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import pytest
from bookcrawl import figure_problems, link_problems, math_problems, pages_on_disk

from labhelpers_course import book
from labhelpers_course.lesson import IMAGE_MIMES, WIDGET_VIEW, degrade_widgets, read_lesson

pytestmark = pytest.mark.timeout(900)

REPO = Path(__file__).resolve().parents[2]
EXERCISES = sorted((REPO / "exercises").glob("*.ipynb"))


def _read(path):
    return nbformat.read(path, as_version=4)


def _plain(text: str) -> str:
    """Words only: markdown links, emphasis, code marks and (smart) quotes removed."""
    text = re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", text)
    return " ".join(re.sub("[`*_\"'\u201c\u201d\u2018\u2019\u2022]", "", text).split())


def _page(crawl, path: str) -> dict:
    return crawl["pages"][crawl["server"] + path]


def test_no_request_leaves_the_site(crawl):
    assert crawl["pages"], "no page visited"
    assert crawl["blocked"] == [], f"requests outside the site: {sorted(set(crawl['blocked']))}"


def test_nothing_failed_to_load(crawl):
    assert crawl["failed"] == [], f"failed requests: {crawl['failed']}"
    assert crawl["errors"] == [], f"JavaScript errors: {crawl['errors']}"


def test_every_page_is_reachable_from_the_navigation(crawl, site, lab):
    on_disk = pages_on_disk(site)
    visited = {url.removeprefix(crawl["server"]) for url in crawl["pages"]}
    linked = {url.removeprefix(crawl["server"]) for url in crawl["linked"]}
    assert on_disk == visited, f"pages not visited: {sorted(on_disk - visited)}"
    assert on_disk - linked == {"search.html"}, f"pages no link leads to: {sorted(on_disk - linked - {'search.html'})}"
    assert sorted(p for p in visited if p.startswith("lab/")) == [f"lab/{p.stem}.html" for p in lab]
    assert sorted(p for p in visited if p.startswith("exercises/")) == [f"exercises/{p.stem}.html" for p in EXERCISES]


def test_internal_links_resolve(crawl):
    assert len(crawl["link_status"]) > 20, crawl["link_status"]
    assert link_problems(crawl) == []


def test_the_landing_page_lists_each_notebook_with_its_time_and_objectives(crawl, lab):
    rows = {row[0]: row[1:] for row in _page(crawl, "index.html")["rows"] if row}
    for path in lab:
        lesson = read_lesson(_read(path), path)
        cells = rows.get(f"{lesson.number}. {lesson.title}")
        assert cells is not None, f"no row for {path.name} in the landing page's table: {sorted(rows)}"
        assert cells[0].replace("\xa0", " ") == f"{lesson.minutes} min", cells
        objectives = cells[1].splitlines()
        assert len(objectives) == len(lesson.objectives), (objectives, lesson.objectives)
        for shown, written in zip(objectives, lesson.objectives):
            assert _plain(shown) == _plain(written), (shown, written)


def test_math_is_typeset(crawl, lab):
    sources = {f"lab/{p.stem}.html": p for p in lab} | {f"exercises/{p.stem}.html": p for p in EXERCISES}
    expected = {page for page, path in sources.items()
                if any(c.cell_type == "markdown" and "$" in c.source for c in _read(path).cells)}
    assert expected, "no notebook has math: the NDVI formula should be in notebook 4"
    assert math_problems(crawl) == []
    for page in expected:
        assert _page(crawl, page)["math"] > 0, f"{page}: its notebook has math and the page shows none"


def test_every_figure_loaded_with_alt_text(crawl, lab):
    assert figure_problems(crawl) == []
    for path in lab:
        outputs = sum(1 for c in _read(path).cells if c.cell_type == "code" for o in c.get("outputs", [])
                      if any(m in o.get("data", {}) for m in IMAGE_MIMES))
        shown = sum(img["inContent"] for img in _page(crawl, f"lab/{path.stem}.html")["images"])
        assert shown == outputs, f"{path.name} has {outputs} figures, its page shows {shown}"


def test_widgets_show_their_text_and_no_widget_code(crawl, lab):
    for path in lab:
        original = _read(path)
        degraded = copy.deepcopy(original)
        degrade_widgets(degraded)
        text = _page(crawl, f"lab/{path.stem}.html")["text"]
        for before, after in zip(original.cells, degraded.cells):
            for output, shown in zip(before.get("outputs", []), after.get("outputs", [])):
                if WIDGET_VIEW in output.get("data", {}):
                    assert shown.text.strip()[:40] in text, f"{path.name}: widget text {shown.text.strip()!r} not shown"
    for url, facts in crawl["pages"].items():
        assert not re.search(r"\b[VH]Box\(|widget-view\+json", facts["text"]), f"{url}: a widget's bare repr is shown"


def test_search_finds_pages_offline(crawl):
    assert any((hit or "").startswith("lab/") for hit in crawl["search_hits"]), crawl["search_hits"]


def _files_text(site):
    return {p: p.read_text(encoding="utf-8", errors="replace") for p in site.rglob("*")
            if p.is_file() and p.suffix in {".html", ".js", ".txt", ".ipynb", ".md", ".json"}}


def _solutions_snippets() -> list[str]:
    """Lines of the model answers, rubrics and hidden tests in solutions/ (never in any build)."""
    snippets = []
    for master in sorted((REPO / "solutions").glob("*.ipynb")):
        inside = False
        for cell in _read(master).cells:
            if cell.cell_type == "raw":
                inside = cell.source.startswith("# BEGIN SOLUTION") or (inside and not cell.source.startswith("# END SOLUTION"))
            elif (inside and cell.cell_type == "markdown") or "hidden: true" in cell.source:
                snippets += [line.strip()[:50] for line in cell.source.splitlines()
                             if len(line.strip()) > 40 and "END TEST CONFIG" not in line][:3]
    assert len(snippets) >= 6, snippets
    return snippets


def _leaks(site, snippets) -> list[str]:
    files = _files_text(site)
    return sorted({f"{p.relative_to(site)}: {s!r}" for s in snippets for p, text in files.items() if s in text})


def test_student_edition_has_no_instructor_notes_and_nothing_from_solutions(crawl, site):
    assert not any("/instructor/" in url for url in crawl["pages"])
    notes = [line.strip()[2:50] for note in sorted((REPO / "docs" / "instructor-notes").glob("*.md"))
             for line in note.read_text(encoding="utf-8").splitlines() if line.startswith("* ") and len(line) > 40]
    assert len(notes) >= 12, notes
    assert _leaks(site, notes + _solutions_snippets()) == []


def test_instructor_edition_adds_every_note_and_nothing_from_solutions(built, tmp_path):
    site = book.build_book(book.Project(REPO), notebooks=built.notebooks, out=tmp_path / "instructor", instructor=True).out
    for lesson in built.lessons:
        assert (site / "instructor" / f"{lesson.stem}.html").is_file(), lesson.stem
        page = (site / "lab" / f"{lesson.stem}.html").read_text(encoding="utf-8")
        assert f'href="../instructor/{lesson.stem}.html"' in page, f"lab/{lesson.stem}.html does not link its notes"
    assert book.external_references(site) == []
    assert _leaks(site, _solutions_snippets()) == []
