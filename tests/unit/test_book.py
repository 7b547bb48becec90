"""The book's build (labhelpers_course.book) on a small fixture project: the offline check on built
pages, the inputs it refuses, and real builds of both editions. The real lab is built and opened in
a browser by tests/browser; the notebook conventions are tested in test_lesson.py."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from bookproject import NOTES_ONLY, REPO, make_project

from labhelpers_course import book


def _page(tmp_path, name, body):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")


def test_external_references_finds_every_kind_of_resource_and_ignores_links(tmp_path):
    _page(tmp_path, "index.html", '<a href="https://creativecommons.org/licenses/by/4.0/">CC BY</a>'
          '<script src="_static/mathjax/tex-chtml.js"></script><img src="data:image/png;base64,AAAA" alt="x">'
          '<link rel="stylesheet" href="_static/theme.css">')
    _page(tmp_path, "_static/theme.css", 'body { background: url("../images/x.png"); }')
    assert book.external_references(tmp_path) == []

    _page(tmp_path, "lab/04_ndvi.html", '<script src="https://cdn.jsdelivr.net/npm/mathjax@4/tex-mml-chtml.js"></script>'
          '<link rel="preload" href="//fonts.googleapis.com/css?family=Lato">'
          '<img srcset="a.png 1x, https://example.org/b.png 2x" alt="y"><div style="background:url(http://x.org/y.png)">')
    _page(tmp_path, "_static/fonts.css", "@import 'https://fonts.example.com/a.css'; a { src: url(https://cdn.x/f.woff2) }")
    assert book.external_references(tmp_path) == [
        "_static/fonts.css: https://cdn.x/f.woff2",
        "_static/fonts.css: https://fonts.example.com/a.css",
        "lab/04_ndvi.html: //fonts.googleapis.com/css?family=Lato",
        "lab/04_ndvi.html: http://x.org/y.png",
        "lab/04_ndvi.html: https://cdn.jsdelivr.net/npm/mathjax@4/tex-mml-chtml.js",
        "lab/04_ndvi.html: https://example.org/b.png",
    ]


def test_build_refuses_to_replace_a_folder_it_did_not_make(tmp_path):
    project = make_project(tmp_path / "lab")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(book.BookError, match="is not a book built by `labhelpers book`"):
        book.build_book(book.Project(project), out=precious)
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_missing_inputs_are_named_with_the_fix(tmp_path):
    project = book.Project(make_project(tmp_path / "lab"))
    executed = tmp_path / "executed"
    executed.mkdir()
    (executed / "01_first.ipynb").write_bytes((project.notebooks / "01_first.ipynb").read_bytes())
    with pytest.raises(book.BookError, match="has no executed 02_second: run `make lab`, or pass --notebooks"):
        book.build_book(project, notebooks=executed, out=tmp_path / "site")
    (project.notes / "02_second.md").unlink()
    with pytest.raises(book.BookError, match=r"needs notes for every notebook; write .*02_second\.md"):
        book.build_book(project, out=tmp_path / "site", instructor=True)
    assert not (tmp_path / "site").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no scratch left


def _texts(site: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in site.rglob("*")
                     if p.is_file() and p.suffix in {".html", ".js", ".txt", ".ipynb", ".md"})


@pytest.fixture(scope="module")
def editions(tmp_path_factory):
    """The fixture project with both editions built (the real lab's build is tested in tests/browser)."""
    project = book.Project(make_project(tmp_path_factory.mktemp("book") / "lab"))
    return project, book.build_book(project), book.build_book(project, instructor=True)


def test_student_edition_has_the_table_of_notebooks_and_loads_nothing_from_outside(editions):
    project, report, _ = editions
    site = project.out()
    assert report.out == site and (site / "index.html").is_file() and (site / book.MARKER).is_file()
    assert report.widgets == 4 and report.exercises == ["ex1_ndsi"] and [s.stem for s in report.lessons] == ["01_first", "02_second"]
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "about 0 h 55 min in all" in index
    rows = re.findall(r"<tr.*?</tr>", index, flags=re.S)
    row = next((r for r in rows if 'href="lab/02_second.html"' in r), "")
    assert "35\xa0min" in row and "• Explain the idea of notebook 2." in row and "<code" in row, rows
    keypoints = (site / "keypoints.html").read_text(encoding="utf-8")
    assert "Key point B of notebook 2." in keypoints and 'href="lab/01_first.html"' in keypoints
    page = (site / "lab" / "01_first.html").read_text(encoding="utf-8")
    assert "days: 100% 26/26" in page and "NameError" in page and 'alt="A grey gradient' in page
    assert ".../site-packages/stackstac/prepare.py" in page and "/home/someone" not in page  # tidy tracebacks
    assert 'src="../_static/mathjax/tex-chtml.js' in page and 'class="math notranslate' in page  # local MathJax
    assert 'profile = "offline"' not in page  # papermill's injected cell is hidden
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert book.external_references(site) == []
    assert NOTES_ONLY not in _texts(site) and not (site / "instructor").exists()


def test_instructor_edition_adds_the_notes_beside_each_notebook(editions):
    project, _, report = editions
    site = report.out
    assert site == project.out(instructor=True)
    assert sorted(p.name for p in (site / "instructor").glob("*.html")) == ["01_first.html", "02_second.html"]
    assert NOTES_ONLY in (site / "instructor" / "02_second.html").read_text(encoding="utf-8")
    assert 'href="../instructor/01_first.html"' in (site / "lab" / "01_first.html").read_text(encoding="utf-8")
    assert "instructor edition" in (site / "index.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in site.parent.iterdir()) == ["book", "book-instructor"]  # no scratch left


def test_a_broken_page_fails_the_build_and_keeps_the_previous_site(editions, tmp_path):
    project = book.Project(make_project(tmp_path / "lab"))
    site = project.out()
    shutil.copytree(editions[0].out(), site)  # a previous build
    before = (site / "lab" / "02_second.html").read_text(encoding="utf-8")
    nb = nbformat.read(project.notebooks / "02_second.ipynb", as_version=4)
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("See [the missing page](no_such_page.md)."))
    nbformat.write(nb, project.notebooks / "02_second.ipynb")
    with pytest.raises(book.BookError, match=r"sphinx-build failed(.|\n)*lab/02_second.ipynb.*no_such_page"):
        book.build_book(project)
    assert (site / "lab" / "02_second.html").read_text(encoding="utf-8") == before
    assert sorted(p.name for p in site.parent.iterdir()) == ["book"]


def test_every_lab_notebook_has_instructor_notes():
    notebooks = sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    notes = sorted(p.stem for p in (REPO / "docs" / "instructor-notes").glob("*.md"))
    assert notebooks and notes == notebooks, "docs/instructor-notes/ needs one NN_name.md per notebook, and no other"


def test_without_the_book_extra_the_error_says_what_to_install(tmp_path, monkeypatch):
    real = book.importlib.util.find_spec
    monkeypatch.setattr(book.importlib.util, "find_spec", lambda name, *a: None if name == "myst_nb" else real(name, *a))
    with pytest.raises(book.BookError, match=r"myst_nb not installed .*pip install './course\[book\]'"):
        book.build_book(book.Project(make_project(tmp_path / "lab")))


def test_the_command_names_the_notebook_that_breaks_the_convention(tmp_path, capsys):
    from labhelpers.cli import main

    project = make_project(tmp_path / "lab")
    nb = nbformat.read(project / "notebooks" / "02_second.ipynb", as_version=4)
    nb.cells[-1].source = "## Summary\n\nNo key points here."
    nbformat.write(nb, project / "notebooks" / "02_second.ipynb")
    assert main(["book", "--project", str(project)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"labhelpers book: {project / 'notebooks' / '02_second.ipynb'}: the last cell has no "
                          "'### Key points' heading"), err
    assert "Traceback" not in err and not (project / "build" / "book").exists()
