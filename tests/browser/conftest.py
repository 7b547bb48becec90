"""Browser tests: the lab's book, built from the real lab notebooks, opened in Debian's chromium
(headless, driven by Playwright for Python) with every request outside the book's own local server
aborted and recorded (bookcrawl.py).

The session builds the student edition once (``labhelpers_course.book.build_book``, from
``build/notebooks`` when ``make lab`` wrote current copies, else the committed ``notebooks/``),
serves it on 127.0.0.1 (port ``LABHELPERS_BOOK_PORT``, default: one the system picks) and visits
every page once, saving a full-page screenshot of each to :data:`SCREENSHOTS`.
``LABHELPERS_BOOK_NOTEBOOKS`` builds from another folder of executed notebooks instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from bookcrawl import crawl as crawl_site
from bookcrawl import serve

from labhelpers_course import book

REPO = Path(__file__).resolve().parents[2]
#: Where the screenshots go (build/ is not committed); emptied at the start of each session.
SCREENSHOTS = REPO / "build" / "book-screenshots"


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> book.BookReport:
    """The student edition of the real lab, freshly built."""
    given = os.environ.get("LABHELPERS_BOOK_NOTEBOOKS")
    report = book.build_book(book.Project(REPO), notebooks=Path(given) if given else None,
                             out=tmp_path_factory.mktemp("book") / "site")
    print(f"\nbook built from {report.notebooks} in {report.seconds:.1f} s: {report.pages} pages, {report.bytes / 1e6:.1f} MB")
    return report


@pytest.fixture(scope="session")
def site(built) -> Path:
    """The built site's folder."""
    return built.out


@pytest.fixture(scope="session")
def lab(built) -> list[Path]:
    """The executed lab notebooks the site was built from, in order."""
    return [built.notebooks / f"{lesson.stem}.ipynb" for lesson in built.lessons]


@pytest.fixture(scope="session")
def crawl(site):
    """Every page of the site as chromium showed it (bookcrawl.crawl), with screenshots."""
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    print(f"\nbook screenshots: {SCREENSHOTS}")
    with serve(site, int(os.environ.get("LABHELPERS_BOOK_PORT", "0"))) as server:
        return crawl_site(site, server, SCREENSHOTS, search="NDVI")
