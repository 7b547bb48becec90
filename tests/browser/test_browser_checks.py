"""The browser checks can fail: a small hand-made site that breaks each rule (a script from a CDN, raw
TeX, a figure without alt text, an image that does not load, broken links) is caught by each check."""

from __future__ import annotations

import base64

import pytest
from bookcrawl import crawl, figure_problems, link_problems, math_problems, serve
from bookproject import png

pytestmark = pytest.mark.timeout(300)

CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"


def test_each_check_catches_a_page_that_breaks_it(tmp_path):
    (tmp_path / "fig.png").write_bytes(base64.b64decode(png()))
    (tmp_path / "index.html").write_text(f"""<!DOCTYPE html><html><head><script src="{CDN}"></script></head><body>
<article><p>The formula: $$\\frac{{a}}{{b}}$$</p>
<img src="fig.png" alt=""><img src="fig.png" alt="fig.png"><img src="missing.png" alt="A gradient from black to white">
<img src="fig.png" alt="A gradient from black to white">
<a href="other.html#nowhere">other</a> <a href="gone.html">gone</a></article></body></html>""", encoding="utf-8")
    (tmp_path / "other.html").write_text("<!DOCTYPE html><html><body><p id='here'>other</p></body></html>", encoding="utf-8")
    with serve(tmp_path) as server:
        result = crawl(tmp_path, server)
    assert result["blocked"] == [CDN]
    assert any("missing.png: HTTP 404" in f for f in result["failed"]), result["failed"]
    assert [p.split(": ", 1)[1][:9] for p in math_problems(result)] == ["raw TeX '"], math_problems(result)
    figures = figure_problems(result)
    assert len(figures) == 3, figures  # alt "", alt "fig.png", missing.png did not load
    assert any("missing.png did not load" in p for p in figures) and any("has alt ''" in p for p in figures)
    links = link_problems(result)
    assert any(p.endswith("gone.html: HTTP 404") for p in links), links
    assert any("points at no #nowhere" in p for p in links), links
