"""Browser tests: the lab's book, built from the real lab notebooks, opened in Debian's chromium
(headless, driven by Playwright for Python) with every request outside the book's own local server
aborted and recorded.

The session builds the student edition once (``labhelpers_course.book.build_book``, from
``build/notebooks`` when ``make lab`` wrote current copies, else the committed ``notebooks/``),
serves it on 127.0.0.1 (port ``LABHELPERS_BOOK_PORT``, default: one the system picks) and visits
every page once (``crawl``), saving a full-page screenshot of each to :data:`SCREENSHOTS`.
``LABHELPERS_BOOK_NOTEBOOKS`` builds from another folder of executed notebooks instead.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections import deque
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest

from labhelpers_course import book

REPO = Path(__file__).resolve().parents[2]
#: Where the screenshots go (build/ is not committed); emptied at the start of each session.
SCREENSHOTS = REPO / "build" / "book-screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium phones home at start, and the closed network refuses it.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGE_TIMEOUT_MS = 30_000

# What the browser reports about a page once MathJax has finished and every image has loaded.
_PAGE_FACTS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const imgs = [...document.images];
  for (const img of imgs) {
    img.loading = 'eager';
    if (!img.complete) { await new Promise(r => { img.onload = img.onerror = r; setTimeout(r, 10000); }); }
  }
  const text = document.body.cloneNode(true);
  text.querySelectorAll('pre, code, script, style, mjx-container, .highlight').forEach(e => e.remove());
  const math = [...document.querySelectorAll('.math')];
  return {
    images: imgs.map(i => ({src: i.currentSrc || i.src, alt: i.getAttribute('alt'), width: i.naturalWidth,
                            complete: i.complete, inContent: !!i.closest('article')})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    rows: [...document.querySelectorAll('article table tr')].map(tr => [...tr.cells].map(c => c.innerText.trim())),
    math: math.length,
    mathTypeset: math.filter(e => e.querySelector('mjx-container')).length,
    prose: text.innerText,
    text: document.body.innerText,
  };
}"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the standard library's name)
        pass


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
def server(site):
    """The site on 127.0.0.1; yields its base URL, stops the server afterwards."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("LABHELPERS_BOOK_PORT", "0"))), handler)
    thread = threading.Thread(target=httpd.serve_forever, name="book-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def _pages_on_disk(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_"))


@pytest.fixture(scope="session")
def crawl(server, site):
    """Visit every page reachable from index.html, then any page no link reached; return what each page
    showed, every request that left the site, failed or errored, and the status of every internal link."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM} not found: install Debian's chromium (scripts/setup.sh does)"
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)
    print(f"\nbook screenshots: {SCREENSHOTS}")
    origin = urlsplit(server).netloc
    result = {"server": server, "pages": {}, "linked": set(), "blocked": [], "failed": [], "errors": [], "link_status": {}}
    pages = result["pages"]

    def route(r):
        if urlsplit(r.request.url).netloc == origin:
            r.continue_()
        else:
            result["blocked"].append(r.request.url)
            r.abort("blockedbyclient")

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(service_workers="block", viewport={"width": 1280, "height": 900})
            context.route("**/*", route)
            page = context.new_page()
            page.on("requestfailed", lambda req: result["failed"].append(f"{req.url}: {req.failure}"))
            page.on("response", lambda res: res.status >= 400 and result["failed"].append(f"{res.url}: HTTP {res.status}"))
            page.on("pageerror", lambda exc: result["errors"].append(f"{page.url}: {exc}"))
            page.on("console", lambda msg: msg.type == "error" and result["errors"].append(f"{page.url}: {msg.text}"))
            queue = deque([server + "index.html"])
            while queue or not result["linked"]:
                if not queue:  # every linked page seen: now the pages no link leads to
                    result["linked"] = set(pages)
                    queue.extend(server + p for p in _pages_on_disk(site) if server + p not in pages)
                    continue
                url = queue.popleft()
                if url in pages:
                    continue
                response = page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)
                assert response is not None and response.status == 200, f"{url}: {response and response.status}"
                page.wait_for_load_state("networkidle", timeout=PAGE_TIMEOUT_MS)
                pages[url] = facts = page.evaluate(_PAGE_FACTS)
                name = url.removeprefix(server).replace("/", "__")
                page.screenshot(path=str(SCREENSHOTS / f"{name}.jpeg"), full_page=True, type="jpeg", quality=70)
                queue.extend(t for t in (urldefrag(link).url for link in facts["links"])
                             if urlsplit(t).netloc == origin and t.endswith(".html") and t not in pages)
            # the search page works offline: its index is a script of the site
            page.goto(server + "search.html?q=NDVI", wait_until="load", timeout=PAGE_TIMEOUT_MS)
            page.wait_for_selector("#search-results li", timeout=PAGE_TIMEOUT_MS)
            hits = page.locator("#search-results li a")
            result["search_hits"] = [hits.nth(i).get_attribute("href") for i in range(hits.count())]
            page.screenshot(path=str(SCREENSHOTS / "search-NDVI.jpeg"), type="jpeg", quality=70)
            for facts in list(pages.values()):
                for link in facts["links"]:
                    target = urldefrag(link).url
                    if urlsplit(target).netloc == origin and target not in result["link_status"]:
                        result["link_status"][target] = context.request.get(target, timeout=PAGE_TIMEOUT_MS).status
        finally:
            browser.close()
    return result
