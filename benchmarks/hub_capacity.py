"""How many students does this machine hold? A classroom hub on the running stand-in, N students at once.

Starts its own hub (folder ``hub-capacity`` beside the stand-in's files, port
``default_port() + 60``), logs N students in at the same time, gives each an idle kernel, then an
idle one-worker Dask cluster, then has every cluster read Sentinel-2 pixels from the stand-in at
once, and measures memory (PSS) and times. Prints JSON; asserts nothing. Needs the stand-in
(``labhelpers offline up``) and root (students run as ``labhub``)::

    .venv/bin/python benchmarks/hub_capacity.py 12
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

from labhelpers.settings import offline_dir
from labhelpers_standin import runtime, services
from labhelpers_standin.hub import HubSettings, down, up
from labhelpers_standin.hub.config import default_port
from labhelpers_standin.hub.folders import shared_folder

ROOT = Path(__file__).resolve().parents[1]
def pss(*folders: Path) -> float:
    """MiB of proportional memory of the processes running in ``folders``."""
    total = 0
    for p in psutil.process_iter():
        try:
            if any(p.cwd().startswith(str(f)) for f in folders):
                total += p.memory_full_info().pss
        except psutil.Error:
            pass
    return round(total / 2**20, 1)


def login(url: str, user: str, password: str) -> tuple[requests.Session, float]:
    """Log ``user`` in and wait until their JupyterLab answers; the session and the seconds it took."""
    s = requests.Session()
    s.get(f"{url}/hub/login", timeout=60)
    t0 = time.monotonic()
    s.post(f"{url}/hub/login", data={"username": user, "password": password, "_xsrf": s.cookies.get("_xsrf")},
           timeout=600)
    lab = f"{url}/user/{user}/lab"
    while not ((r := s.get(lab, timeout=120)).status_code == 200 and r.url == lab):
        time.sleep(1)
    return s, round(time.monotonic() - t0, 1)


def main(n: int) -> dict:
    state = services.read_state()
    if not services.is_healthy(state):
        sys.exit("Start the stand-in first: labhelpers offline up")
    folder = offline_dir() / "hub-capacity"
    down(folder)
    account = "labhub" if os.geteuid() == 0 else ""
    port = default_port() + 60
    users = tuple(f"s{i:02d}" for i in range(n))
    settings = HubSettings(folder=folder, shared=shared_folder(folder, account), users=users,
                           notebooks=ROOT / "notebooks", runtime=runtime.runtime_dir(), port=port,
                           server_ports=(port + 20, port + 99), account=account, profile="offline",
                           student_env={"LABHELPERS_STAC_URL": state["stac_url"], "LABHELPERS_BLOB_URL": state["blob_url"]},
                           max_workers=2)
    homes, clusters = settings.shared / "users", settings.shared / "clusters"
    out: dict = {"students": n, "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    started = up(settings)
    out["hub_start_s"] = started["startup_seconds"]
    try:
        url = started["url"]
        with open(started["credentials"], newline="") as f:
            creds = {r["username"]: r["password"] for r in csv.DictReader(f)}
        time.sleep(5)
        out["hub_alone_pss_mib"] = pss(folder, settings.shared)
        t0 = time.monotonic()
        with ThreadPoolExecutor(n) as pool:
            logged = dict(zip(users, pool.map(lambda u: login(url, u, creds[u]), users)))
        out["all_servers_ready_s"] = round(time.monotonic() - t0, 1)
        out["server_ready_s_min_max"] = [min(v[1] for v in logged.values()), max(v[1] for v in logged.values())]
        time.sleep(10)
        out["idle_servers_pss_mib_each"] = round(pss(homes) / n, 1)
        tokens = {}
        for u, (s, _) in logged.items():
            xsrf = next(c.value for c in s.cookies if c.name == "_xsrf" and c.path == "/hub/")
            tokens[u] = s.post(f"{url}/hub/api/users/{u}/tokens", json={"note": "capacity"}, timeout=60,
                               headers={"X-XSRFToken": xsrf}).json()["token"]
            r = s.post(f"{url}/user/{u}/api/kernels", json={"name": "python3"}, timeout=120,
                       headers={"Authorization": f"token {tokens[u]}"})
            assert r.status_code == 201, (r.status_code, r.text)
        time.sleep(30)
        out["servers_with_idle_kernel_pss_mib_each"] = round(pss(homes) / n, 1)

        from dask_gateway import Gateway, JupyterHubAuth

        t0 = time.monotonic()
        made = []
        for u in users:
            gw = Gateway(address=f"{url}/services/dask-gateway", proxy_address=settings.proxy_address,
                         auth=JupyterHubAuth(tokens[u]))
            cluster = gw.new_cluster()
            cluster.scale(1)
            made.append((gw, cluster, cluster.get_client()))
        for _, _, client in made:
            client.wait_for_workers(1, timeout=900)
        out["all_clusters_with_1_worker_s"] = round(time.monotonic() - t0, 1)
        time.sleep(10)
        out["idle_clusters_pss_mib_each"] = round(pss(clusters) / n, 1)
        out["everything_pss_mib"] = pss(folder, settings.shared)

        t0 = time.monotonic()
        with ThreadPoolExecutor(n) as pool:
            times = list(pool.map(lambda c: c[2].submit(_read_stand_in, pure=False).result(timeout=900), made))
        out["all_read_the_stand_in_at_once_s"] = round(time.monotonic() - t0, 1)
        out["read_s_min_max"] = [min(times), max(times)]
        t0 = time.monotonic()
        requests.get(f"{url}/hub/login", timeout=60)
        out["login_page_ms_while_loaded"] = round((time.monotonic() - t0) * 1000)
        out["machine_available_gib"] = round(psutil.virtual_memory().available / 2**30, 1)
        for gw, cluster, client in made:
            client.close()
            cluster.shutdown()
            gw.close()
    finally:
        t0 = time.monotonic()
        down(folder)
        out["down_s"] = round(time.monotonic() - t0, 1)
        shutil.rmtree(settings.shared / "users", ignore_errors=True)
    return out


def _read_stand_in() -> float:
    """On a student's worker: the lab's search and a one-band 100 m stack over the AOI, computed."""
    import time as _time

    import labhelpers.sentinel2
    import labhelpers.stac

    t = _time.monotonic()
    bbox = (-122.8265, 53.8830, -122.8004, 53.9007)
    items = labhelpers.stac.search(labhelpers.stac.open_catalog("offline"), bbox, "2021-01-01/2021-12-31", max_cloud=25)
    labhelpers.sentinel2.stack(items, assets=("B04",), resolution=100, bbox=bbox).mean().compute(scheduler="threads")
    return round(_time.monotonic() - t, 1)


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 12), indent=1), flush=True)
