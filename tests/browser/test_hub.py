"""Two students in a real browser (Debian's chromium via Playwright) on a classroom hub over the stand-in.

Each student logs in with the credentials ``up`` wrote, opens notebook 01 as the lab ships it and
runs it: ``labhelpers.cluster.start_cluster`` gets a ``GatewayCluster()`` from the hub's Dask
Gateway with the student's own hub login. Each opens the dashboard link and sees a live
dashboard while the graph runs. Alice then adds a cell that searches the stand-in's STAC API and
reads Sentinel-2 pixels from its blob server on her cluster (the hub runs on the real stand-in,
end to end). With alice's own JupyterHub token the gateway's API shows her only her cluster and
refuses to show or stop bob's, or to start her a second one. Each shuts their cluster down.
Screenshots of every step go to ``conftest.SCREENSHOTS``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import psutil
import pytest
import requests
from conftest import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, STUDENTS

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.timeout(1200)]

NOTEBOOK = "01_dask_cluster.ipynb"
HTTP = 10  # seconds per API request
#: Notebook 01's code cells, in order (the last one closes the cluster).
IMPORTS, PARAMETERS, LAB_CLUSTER, FALLBACK, GRAPH, PERSIST, COMPUTE, CLOSE = range(8)
CODE_CELLS = 8
#: What alice types into a new cell: the lab's STAC search and a stack of pixels, on her cluster.
STAND_IN_CELL = """\
import labhelpers.sentinel2
import labhelpers.stac
bbox = (-122.8265, 53.8830, -122.8004, 53.9007)
items = labhelpers.stac.search(labhelpers.stac.open_catalog(), bbox, "2016-01-01/2021-12-31", max_cloud=25)
red = labhelpers.sentinel2.stack(items[:4], assets=("B04",), resolution=100, bbox=bbox)
print(f"stand-in check: {len(items)} scenes, mean red {float(red.mean().compute()):.4f}")"""


class Shots:
    """Numbered screenshots, so the folder reads as the story of the test."""

    def __init__(self, folder: Path):
        self.folder, self.n = folder, 0
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def __call__(self, page, name: str) -> None:
        self.n += 1
        # Generous: a live bokeh dashboard on a busy 2-core machine can take long to settle.
        page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), timeout=120_000)


def _pss_mib(folder: Path) -> float:
    """Proportional memory (MiB) of the processes running in ``folder`` (reported, never asserted)."""
    total = 0
    for proc in psutil.process_iter():
        try:
            if proc.cwd().startswith(str(folder)):
                total += proc.memory_full_info().pss
        except psutil.Error:
            continue
    return round(total / 2**20, 1)


def _wait_all(pages: dict, predicate, timeout: float) -> dict:
    """Poll ``predicate(page)`` for every student until each is true; seconds each took."""
    t0, done = time.monotonic(), {}
    while len(done) < len(pages):
        for name, page in pages.items():
            if name not in done and predicate(page):
                done[name] = round(time.monotonic() - t0, 1)
        if time.monotonic() - t0 > timeout:
            texts = {n: _all_outputs(p) for n, p in pages.items() if n not in done}
            raise AssertionError(f"timed out after {timeout} s; finished: {done}; outputs of the others: {texts}")
        pages[next(iter(pages))].wait_for_timeout(500)
    return done


def _code_cell(page, i: int):
    return page.locator(".jp-Notebook .jp-CodeCell").nth(i)


def _output_text(page, i: int) -> str:
    out = _code_cell(page, i).locator(".jp-OutputArea-output")
    return " ".join(out.all_inner_texts()) if out.count() else ""


def _all_outputs(page) -> str:
    return " | ".join(page.locator(".jp-Notebook .jp-OutputArea-output").all_inner_texts())[-2000:]


def _run_cell(page, i: int) -> None:
    _code_cell(page, i).locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")


def _user(page) -> str:
    """The student whose JupyterLab ``page`` shows."""
    return page.url.split("/user/", 1)[1].split("/", 1)[0]


def _api_token(context, hub_url: str, user: str) -> str:
    """A new API token for ``user``, asked for with the user's own browser session (cookie + xsrf)."""
    xsrf = next(c["value"] for c in context.cookies() if c["name"] == "_xsrf" and c["path"] == "/hub/")
    r = context.request.post(f"{hub_url}/hub/api/users/{user}/tokens", headers={"X-XSRFToken": xsrf},
                             data={"note": "isolation test", "expires_in": 900})
    assert r.ok, f"token request for {user}: {r.status} {r.text()}"
    return r.json()["token"]


def test_two_students_run_notebook_01_on_private_clusters_over_the_stand_in(hub):
    from dask_gateway import Gateway, JupyterHubAuth
    from playwright.sync_api import sync_playwright

    url, creds = hub["url"], hub["creds"]
    gateway_api = f"{url}/services/dask-gateway/api/v1"
    shot = Shots(SCREENSHOTS)
    print(f"\nscreenshots: {SCREENSHOTS}")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        contexts = {u: browser.new_context(viewport={"width": 1400, "height": 900}) for u in STUDENTS}
        pages = {u: contexts[u].new_page() for u in STUDENTS}
        for c in contexts.values():
            c.set_default_timeout(120_000)  # clicks and waits on a loaded machine

        # 1. Log in; a wrong password is refused.
        p = pages["alice"]
        p.goto(f"{url}/hub/login")
        p.fill("#username_input", "alice")
        p.fill("#password_input", "not-the-password")
        p.click("#login_submit")
        p.wait_for_selector("text=Invalid username or password")
        shot(p, "alice-wrong-password")
        for u, page in pages.items():
            page.goto(f"{url}/hub/login")
            page.fill("#username_input", u)
            page.fill("#password_input", creds[u])
            shot(page, f"{u}-login")
            page.click("#login_submit")
        spawn = _wait_all(pages, lambda pg: "/lab" in pg.url and pg.locator(".jp-LabShell").count() > 0, 300)
        print(f"login to JupyterLab: {spawn}")
        for u, page in pages.items():
            assert page.url.startswith(f"{url}/user/{u}/lab"), page.url
            page.wait_for_selector(f".jp-DirListing-item >> text={NOTEBOOK}", timeout=60_000)
            shot(page, f"{u}-lab-with-the-notebooks-copied")
        homes = hub["settings"].shared / "users"
        page.wait_for_timeout(5000)
        print(f"idle JupyterLab, MiB PSS: { {u: _pss_mib(homes / u) for u in STUDENTS} }")

        # 2. Open notebook 01 in each; wait for an idle kernel.
        for u, page in pages.items():
            page.goto(f"{url}/user/{u}/lab/tree/{NOTEBOOK}")
        _wait_all(pages, lambda pg: pg.locator(".jp-Notebook .jp-CodeCell").count() == CODE_CELLS
                  and pg.get_by_text("| Idle").count() > 0, 240)
        for u, page in pages.items():
            shot(page, f"{u}-notebook-01-open")

        # 3. Run the imports, the parameters and the lab's own cluster cell (a bare GatewayCluster(),
        #    then adapt(minimum=4, maximum=24)), both students at once.
        for u, page in pages.items():
            for i in (IMPORTS, PARAMETERS, LAB_CLUSTER):
                _run_cell(page, i)
        first = _wait_all(pages, lambda pg: "/services/dask-gateway/clusters/" in _output_text(pg, LAB_CLUSTER)
                          or "Error" in _output_text(pg, LAB_CLUSTER), 300)
        print(f"run to first cluster: {first}")
        names, links = {}, {}
        for u, page in pages.items():
            text = _output_text(page, LAB_CLUSTER)
            assert text.startswith(f"dask's gateway.address: http://127.0.0.1:{hub['settings'].port + 3}"
                                   "/services/dask-gateway"), text
            assert "Error" not in text, text
            # The hub's per-student limit stops the lab's adapt(4, 24) with the gateway's own words.
            assert "would exceed resource limit of 2 workers" in text, text
            _run_cell(page, FALLBACK)
        _wait_all(pages, lambda pg: f"GatewayCluster - dashboard: {url}/services/dask-gateway/clusters/"
                  in _output_text(pg, FALLBACK), 120)  # the hub's public link, not a stale committed output
        for u, page in pages.items():
            link = _code_cell(page, LAB_CLUSTER).locator("a[href*='/services/dask-gateway/clusters/']")
            links[u] = link.get_attribute("href")
            names[u] = re.fullmatch(rf"{re.escape(url)}/services/dask-gateway/clusters/([^/]+)/status", links[u]).group(1)
            shot(page, f"{u}-cluster-started-with-dashboard-link")
        assert names["alice"] != names["bob"]

        # 4. The dashboard link opens the dashboard through the hub, live while the graph runs.
        dashboards = {}
        for u, page in pages.items():
            with contexts[u].expect_page() as new:
                _code_cell(page, LAB_CLUSTER).locator("a[href*='/services/dask-gateway/clusters/']").click()
            dashboards[u] = dash = new.value
            dash.wait_for_load_state()
            assert "Dask" in dash.title(), dash.title()
            dash.wait_for_selector("canvas", timeout=120_000)  # bokeh drew its plots
        for u, page in pages.items():
            page.bring_to_front()
            _run_cell(page, GRAPH)
        _wait_all(pages, lambda pg: "tasks in the graph of y" in _output_text(pg, GRAPH), 120)
        for u, page in pages.items():
            _run_cell(page, PERSIST)
            _run_cell(page, COMPUTE)
        busy = {u: 0 for u in STUDENTS}

        def finished(pg) -> bool:
            u = _user(pg)
            counts = requests.get(f"{url}/services/dask-gateway/clusters/{names[u]}/json/counts.json", timeout=HTTP)
            tasks = counts.json().get("tasks", 0) if counts.ok else 0
            if tasks and not busy[u]:
                dashboards[u].wait_for_timeout(1500)
                shot(dashboards[u], f"{u}-dashboard-during-compute")
            busy[u] = max(busy[u], tasks)
            return "expected 1.0000" in _output_text(pg, COMPUTE)

        computed = _wait_all(pages, finished, 900)
        print(f"compute: {computed}")
        clusters = hub["settings"].shared / "clusters"
        print(f"after notebook 01, MiB PSS: server+kernel { {u: _pss_mib(homes / u) for u in STUDENTS} }, "
              f"cluster { {u: _pss_mib(clusters / names[u]) for u in STUDENTS} }")
        assert all(busy.values()), f"the dashboards never showed a task: {busy}"
        for u, page in pages.items():
            assert "mean of x + x.T = 1.0000" in _output_text(page, COMPUTE)
            shot(page, f"{u}-notebook-01-ran")
            info = dashboards[u].request.get(f"{url}/services/dask-gateway/clusters/{names[u]}/json/identity.json")
            assert info.ok and len(info.json()["workers"]) >= 1, info.text()
            shot(dashboards[u], f"{u}-dashboard-after-compute")
            dashboards[u].close()

        # 5. The hub runs on the stand-in: alice adds a cell that searches its STAC API and reads
        #    pixels from its blob server on her gateway cluster.
        alice = pages["alice"]
        _code_cell(alice, COMPUTE).locator(".jp-InputPrompt").click()
        alice.keyboard.press("Escape")
        alice.keyboard.press("b")  # a new cell below the compute cell
        alice.keyboard.press("Enter")
        alice.keyboard.insert_text(STAND_IN_CELL)
        alice.keyboard.press("Shift+Enter")
        _wait_all({"alice": alice}, lambda pg: "stand-in check:" in _output_text(pg, COMPUTE + 1)
                  or "Error" in _output_text(pg, COMPUTE + 1), 600)
        checked = _output_text(alice, COMPUTE + 1)
        match = re.search(r"stand-in check: (\d+) scenes, mean red (\d+\.\d+)", checked)
        assert match and int(match.group(1)) > 0 and 0 < float(match.group(2)) < 1, checked
        shot(alice, "alice-reads-the-stand-in-on-her-cluster")

        # 6. Clusters are private: alice's own token cannot list, see or stop bob's, nor start a second.
        token = {u: _api_token(contexts[u], url, u) for u in STUDENTS}
        auth = {u: {"Authorization": f"jupyterhub {token[u]}"} for u in STUDENTS}
        listed = requests.get(f"{gateway_api}/clusters/", headers=auth["alice"], timeout=HTTP)
        assert listed.status_code == 200 and set(listed.json()) == {names["alice"]}, listed.text
        seen = requests.get(f"{gateway_api}/clusters/{names['bob']}", headers=auth["alice"], timeout=HTTP)
        assert seen.status_code == 403, (seen.status_code, seen.text)
        stopped = requests.delete(f"{gateway_api}/clusters/{names['bob']}", headers=auth["alice"], timeout=HTTP)
        assert stopped.status_code == 403, (stopped.status_code, stopped.text)
        second = requests.post(f"{gateway_api}/clusters/", headers=auth["alice"], json={}, timeout=HTTP)
        assert second.status_code == 422 and "limit is 1 per student" in second.text, second.text
        assert requests.get(f"{gateway_api}/clusters/", timeout=HTTP).status_code == 401  # no token: nothing
        gw = Gateway(address=f"{url}/services/dask-gateway", auth=JupyterHubAuth(token["alice"]))
        try:
            assert [c.name for c in gw.list_clusters()] == [names["alice"]]
            with pytest.raises(Exception, match="403|lacks permissions"):
                gw.stop_cluster(names["bob"])
        finally:
            gw.close()
        bob = requests.get(f"{gateway_api}/clusters/{names['bob']}", headers=auth["bob"], timeout=HTTP)
        assert bob.status_code == 200 and bob.json()["status"] == "RUNNING", bob.text

        # 7. Each student shuts their cluster down from the notebook (its last cell; running it adds
        #    an empty one below).
        last = {u: page.locator(".jp-Notebook .jp-CodeCell").count() - 1 for u, page in pages.items()}
        assert last == {"alice": CODE_CELLS, "bob": CODE_CELLS - 1}
        for u, page in pages.items():
            _run_cell(page, last[u])
        _wait_all(pages, lambda pg: "cluster closed" in _output_text(pg, last[_user(pg)]), 180)
        for u, page in pages.items():
            shot(page, f"{u}-cluster-shut-down")
            left = requests.get(f"{gateway_api}/clusters/", headers=auth[u], timeout=HTTP)
            assert left.status_code == 200 and left.json() == {}, left.text
        browser.close()
