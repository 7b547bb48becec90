"""Open a static site in Debian's chromium (headless, Playwright) with the network closed except the
site's own local server, visit every page, and report what a reader would meet. The checks return
their problems as lists (empty: fine), so a test can also show that they catch a bad page.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from collections import deque
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium phones home at start, and the closed network refuses it.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGE_TIMEOUT_MS = 120_000  # a page loads in well under a second; this is for a machine under heavy load
RAW_TEX = re.compile(r"\$\$|\\frac|\\mathrm|\\text\{|\\\(|\\\[")
FILE_LIKE_ALT = re.compile(r"\.(png|jpe?g|svg|gif)$|^[0-9a-f]{32,}|^<Figure", re.IGNORECASE)

# What the browser reports about a page once MathJax has finished and every image has loaded.
_PAGE_FACTS = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const imgs = [...document.images];
  for (const img of imgs) {
    img.loading = 'eager';
    if (!img.complete) { await new Promise(r => { img.onload = img.onerror = r; setTimeout(r, 10000); }); }
  }
  const prose = document.body.cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, mjx-container, .highlight').forEach(e => e.remove());
  const math = [...document.querySelectorAll('.math')];
  return {
    images: imgs.map(i => ({src: i.currentSrc || i.src, alt: i.getAttribute('alt'), width: i.naturalWidth,
                            complete: i.complete, inContent: !!i.closest('article')})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    rows: [...document.querySelectorAll('article table tr')].map(tr => [...tr.cells].map(c => c.innerText.trim())),
    math: math.length,
    mathTypeset: math.filter(e => e.querySelector('mjx-container')).length,
    prose: prose.innerText,
    text: document.body.innerText,
  };
}"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the standard library's name)
        pass


@contextlib.contextmanager
def serve(site: Path, port: int = 0):
    """Serve ``site`` on 127.0.0.1 (``port`` 0: one the system picks); yields the base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, name="book-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def pages_on_disk(site: Path) -> set[str]:
    """The site's pages (``_static`` and ``_sources`` are not pages)."""
    return {p.relative_to(site).as_posix() for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_")}


def crawl(site: Path, server: str, screenshots: Path | None = None, search: str | None = None) -> dict:
    """Visit every page reachable from index.html, then any page no link reached.

    Returns ``pages`` (url -> what the page showed), ``linked`` (urls some link led to), ``blocked``
    (requests outside the site, aborted), ``failed`` (requests that failed or answered >= 400),
    ``errors`` (JavaScript errors), ``link_status`` (every internal link's HTTP status) and, with
    ``search``, ``search_hits`` (the result links of the site's search page for that word).
    """
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM} not found: install Debian's chromium (scripts/setup.sh does)"
    origin = urlsplit(server).netloc
    result = {"server": server, "pages": {}, "linked": set(), "blocked": [], "failed": [], "errors": [],
              "link_status": {}, "search_hits": []}
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
            queue, linked_done = deque([server + "index.html"]), False
            while queue or not linked_done:
                if not queue:  # every linked page seen: now the pages no link leads to
                    result["linked"], linked_done = set(pages), True
                    queue.extend(server + p for p in sorted(pages_on_disk(site)) if server + p not in pages)
                    continue
                url = queue.popleft()
                if url in pages:
                    continue
                response = page.goto(url, wait_until="load", timeout=PAGE_TIMEOUT_MS)
                if response is None or response.status != 200:
                    result["failed"].append(f"{url}: {response and response.status}")
                    continue
                page.wait_for_load_state("networkidle", timeout=PAGE_TIMEOUT_MS)
                pages[url] = facts = page.evaluate(_PAGE_FACTS)
                if screenshots is not None:
                    name = url.removeprefix(server).replace("/", "__")
                    page.screenshot(path=str(screenshots / f"{name}.jpeg"), full_page=True, type="jpeg", quality=70)
                queue.extend(t for t in (urldefrag(link).url for link in facts["links"])
                             if urlsplit(t).netloc == origin and t.endswith(".html") and t not in pages)
            if search:  # the search page works offline: its index is a script of the site
                page.goto(f"{server}search.html?q={search}", wait_until="load", timeout=PAGE_TIMEOUT_MS)
                page.wait_for_selector("#search-results li", timeout=PAGE_TIMEOUT_MS)
                hits = page.locator("#search-results li a")
                result["search_hits"] = [hits.nth(i).get_attribute("href") for i in range(hits.count())]
                if screenshots is not None:
                    page.screenshot(path=str(screenshots / f"search-{search}.jpeg"), type="jpeg", quality=70)
            for facts in list(pages.values()):
                for link in facts["links"]:
                    target = urldefrag(link).url
                    if urlsplit(target).netloc == origin and target not in result["link_status"]:
                        result["link_status"][target] = context.request.get(target, timeout=PAGE_TIMEOUT_MS).status
        finally:
            browser.close()
    return result


# --- checks: each returns the problems it found --------------------------------------------------


def math_problems(result: dict) -> list[str]:
    """Formulas MathJax did not typeset, and raw TeX left in the prose."""
    problems = []
    for url, facts in result["pages"].items():
        if facts["mathTypeset"] != facts["math"]:
            problems.append(f"{url}: {facts['math'] - facts['mathTypeset']} of {facts['math']} formulas not typeset")
        raw = RAW_TEX.search(facts["prose"])
        if raw:
            problems.append(f"{url}: raw TeX {raw.group(0)!r}: ...{facts['prose'][max(0, raw.start() - 60):raw.end() + 60]}...")
    return problems


def figure_problems(result: dict) -> list[str]:
    """Images that did not load, and images without real alt text (three words or more, not a file name)."""
    problems = []
    for url, facts in result["pages"].items():
        for img in facts["images"]:
            if not (img["complete"] and img["width"] > 0):
                problems.append(f"{url}: image {img['src']} did not load")
            alt = (img["alt"] or "").strip()
            if len(alt.split()) < 3 or FILE_LIKE_ALT.search(alt):
                problems.append(f"{url}: image {img['src']} has alt {img['alt']!r}")
    return problems


def link_problems(result: dict) -> list[str]:
    """Internal links that do not answer 200, or point at an anchor their page does not have."""
    server = result["server"]
    problems = [f"{url}: HTTP {status}" for url, status in sorted(result["link_status"].items()) if status != 200]
    for url, facts in result["pages"].items():
        for link in facts["links"]:
            target, _, fragment = link.partition("#")
            if fragment and target.startswith(server) and target in result["pages"] \
                    and fragment not in result["pages"][target]["ids"]:
                problems.append(f"{url}: link {link} points at no #{fragment}")
    return problems
