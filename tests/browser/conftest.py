"""Tests in browser/ drive Debian's chromium (headless, Playwright for Python; no browser download).

Two subjects, each with its own session fixtures here:

* **the classroom hub** on top of the real offline stand-in: the session fixtures start the stand-in
  once (or use the running one), and ``hub`` starts a hub for two students and stops it, checking
  that nothing it started is left running (test_hub.py);
* **the lab's book**, built from the real lab notebooks, with every request outside the book's own
  local server aborted and recorded (bookcrawl.py). The session builds the student edition once
  (``labhelpers_course.book.build_book``, from ``build/notebooks`` when ``make lab`` wrote current
  copies, else the committed ``notebooks/``), serves it on 127.0.0.1 (port ``LABHELPERS_BOOK_PORT``,
  default: one the system picks) and visits every page once, saving a full-page screenshot of each
  to :data:`BOOK_SCREENSHOTS`. ``LABHELPERS_BOOK_NOTEBOOKS`` builds from another folder of executed
  notebooks instead.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import psutil
import pytest
from bookcrawl import crawl as crawl_site
from bookcrawl import serve

from standin_session import offline_pc  # noqa: F401  (the session fixture)

from labhelpers_course import book

ROOT = Path(__file__).resolve().parents[2]
#: The chromium Debian packages (scripts/setup.sh installs it); Playwright downloads no browser.
CHROMIUM = "/usr/bin/chromium"
#: Without the background-networking flags chromium's own connections are refused by a closed network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Where the screenshots go (not committed): one PNG per step and student, numbered in order.
SCREENSHOTS = Path(os.environ.get("LABHELPERS_SCREENSHOTS", ROOT / "build" / "screenshots" / "hub"))
STUDENTS = ("alice", "bob")


def processes_in(*folders: Path) -> list[int]:
    """Pids of live processes whose working directory is inside one of ``folders``."""
    roots = [str(f) for f in folders]
    found = []
    for p in psutil.process_iter():
        try:
            cwd = p.cwd()
            if p.status() != psutil.STATUS_ZOMBIE and any(cwd == r or cwd.startswith(r + "/") for r in roots):
                found.append(p.pid)
        except psutil.Error:
            continue
    return found


@pytest.fixture(scope="session")
def hub(offline_pc):
    """A running hub for alice and bob on the stand-in; yields its state, ``settings`` and ``creds``.

    The hub's folder is ``hub-browser-test`` beside the stand-in's files (like the default
    ``.offline/hub``, so a private checkout moves homes to /var/tmp exactly as for a real class).
    """
    from labhelpers_standin import runtime
    from labhelpers_standin.hub import HubSettings, down, up
    from labhelpers_standin.hub.config import default_port
    from labhelpers_standin.hub.folders import shared_folder
    from labhelpers.settings import offline_dir

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium with `make setup`.")
    folder = offline_dir() / "hub-browser-test"
    down(folder)  # a previous run killed half-way
    account = "labhub" if os.geteuid() == 0 else ""
    port = default_port()
    settings = HubSettings(
        folder=folder, shared=shared_folder(folder, account), users=STUDENTS, notebooks=ROOT / "notebooks",
        runtime=runtime.runtime_dir(), port=port, server_ports=(port + 20, port + 39), account=account,
        profile="offline", student_env={"LABHELPERS_STAC_URL": offline_pc["stac_url"],
                                        "LABHELPERS_BLOB_URL": offline_pc["blob_url"]},
        max_workers=2, chp="configurable-http-proxy")
    for sub in ("users", "clusters"):  # fresh homes: every run starts from the lab's notebooks
        shutil.rmtree(settings.shared / sub, ignore_errors=True)
    state = up(settings)
    print(f"\nhub start: {state['startup_seconds']}")
    with open(state["credentials"], newline="") as f:
        creds = {row["username"]: row["password"] for row in csv.DictReader(f)}
    try:
        yield {**state, "creds": creds, "settings": settings}
    finally:
        stopped = down(folder)
        assert stopped, "down found nothing to stop"
        assert processes_in(settings.shared / "users", settings.shared / "clusters", folder) == []
        assert not (folder / "state.json").exists()


#: Where the screenshots go (build/ is not committed); emptied at the start of each session.
BOOK_SCREENSHOTS = ROOT / "build" / "book-screenshots"


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> book.BookReport:
    """The student edition of the real lab, freshly built."""
    given = os.environ.get("LABHELPERS_BOOK_NOTEBOOKS")
    report = book.build_book(book.Project(ROOT), notebooks=Path(given) if given else None,
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
    if BOOK_SCREENSHOTS.exists():
        shutil.rmtree(BOOK_SCREENSHOTS)
    BOOK_SCREENSHOTS.mkdir(parents=True)
    print(f"\nbook screenshots: {BOOK_SCREENSHOTS}")
    with serve(site, int(os.environ.get("LABHELPERS_BOOK_PORT", "0"))) as server:
        return crawl_site(site, server, BOOK_SCREENSHOTS, search="NDVI")
