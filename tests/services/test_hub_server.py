"""The classroom hub's server side: its login, its gateway backend, and a real hub on the real stand-in.

The hub here lives in pytest's private temporary folder, which the students' account cannot
enter, so students' homes and clusters go to the shared folder under /var/tmp, as they do for a
checkout under /root. A student logs in (over HTTP, no browser: ``tests/browser`` has that), their
server runs as the students' account from the student runtime, cannot read the hub's secrets, and
the idle culler stops it; ``down`` leaves nothing running.
"""

from __future__ import annotations

import asyncio
import csv
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
import requests

from labhelpers_standin import runtime
from labhelpers_standin.errors import StandinError
from labhelpers_standin.hub import HubSettings, down, status, up
from labhelpers_standin.hub.classlist import ensure_credentials
from labhelpers_standin.hub.config import default_port
from labhelpers_standin.hub.folders import shared_folder

pytestmark = [pytest.mark.services, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "labhub" if os.geteuid() == 0 else ""
PORT = default_port() + 40  # the browser test's hub uses default_port() .. +39


def test_the_login_accepts_only_listed_students_with_their_password(tmp_path):
    from labhelpers_standin.hub.auth import ClassListAuthenticator

    creds, hashes = tmp_path / "c.csv", tmp_path / "p.json"
    pw = ensure_credentials(["alice"], creds, hashes)["alice"]
    auth = ClassListAuthenticator(passwords_file=str(hashes))

    def login(user, password):
        return asyncio.run(auth.authenticate(None, {"username": user, "password": password}))

    assert login("alice", pw) == "alice"
    assert login("Alice", pw) == "alice"  # JupyterHub lower-cases names
    assert login("alice", "wrong") is None and login("alice", "") is None
    assert login("mallory", pw) is None


def _fake_cluster(name: str):
    config = SimpleNamespace(worker_cmd=["dask", "worker"], worker_threads=1, worker_memory=2**30, environment={})
    return SimpleNamespace(name=name, tls_cert=b"CERT", tls_key=b"KEY", config=config,
                           scheduler_address="tls://127.0.0.1:1", state={})


def test_the_gateway_backend_runs_workers_on_loopback_and_gives_clusters_to_the_account(tmp_path):
    from labhelpers_standin.hub.backend import ClassroomBackend
    from labhelpers_standin.servers.gateway_backends import LoopbackBackend

    for backend in (ClassroomBackend(), LoopbackBackend()):
        cmd = backend.get_worker_command(_fake_cluster("c1"), "w1")
        assert cmd[:3] == ["dask", "worker", "tls://127.0.0.1:1"] and cmd[-2:] == ["--host", "127.0.0.1"]
    clusters = tmp_path / "clusters"
    clusters.mkdir()
    account = ACCOUNT or ""
    backend = ClassroomBackend(clusters_directory=str(clusters), account=account, api_url="http://127.0.0.1:1/api")
    root_before = os.stat("/")
    workdir = Path(backend.setup_working_directory(_fake_cluster("c1")))
    assert workdir == clusters / "c1"
    files = [workdir, workdir / ".certs", workdir / "logs", workdir / ".certs" / "dask.crt", workdir / ".certs" / "dask.pem"]
    want_uid = psutil.Process().uids().effective if not account else __import__("pwd").getpwnam(account).pw_uid
    assert {os.stat(p).st_uid for p in files} == {want_uid}
    assert {oct(os.stat(p).st_mode & 0o777) for p in files[3:]} == {"0o600"}
    assert (workdir / ".certs" / "dask.pem").read_bytes() == b"KEY"
    after = os.stat("/")
    assert (after.st_uid, after.st_gid) == (root_before.st_uid, root_before.st_gid)  # LocalBackend's chown("/")
    env = backend.get_env(SimpleNamespace(**{**vars(_fake_cluster("c1")), "state": {"workdir": str(workdir)},
                                             "token": "t", "username": "alice"}))
    assert env["HOME"] == str(workdir) and env["USER"] == "alice"


def _settings(folder: Path, users: tuple[str, ...], offline_pc: dict, **kw) -> HubSettings:
    return HubSettings(
        folder=folder, shared=shared_folder(folder, ACCOUNT), users=users, notebooks=ROOT / "notebooks",
        runtime=runtime.runtime_dir(), port=PORT, server_ports=(PORT + 10, PORT + 19), account=ACCOUNT,
        profile="offline", student_env={"LABHELPERS_STAC_URL": offline_pc["stac_url"],
                                        "LABHELPERS_BLOB_URL": offline_pc["blob_url"]},
        chp="configurable-http-proxy", **kw)


def test_a_taken_port_is_named_with_the_option_and_nothing_starts(tmp_path, offline_pc):
    s = _settings(tmp_path / "hub", ("alice",), offline_pc)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", PORT + 3))
        sock.listen()
        with pytest.raises(StandinError, match=rf"Port {PORT + 3} .*gateway API.*--port"):
            up(s)
    assert not (tmp_path / "hub" / "state.json").exists()
    assert status(tmp_path / "hub") == {"running": False, "leftover_processes": 0}


def _run_as_account(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(["setpriv", f"--reuid={ACCOUNT}", f"--regid={ACCOUNT}", "--clear-groups", "--", *cmd],
                          capture_output=True, text=True, timeout=60, cwd="/")


def _login(url: str, user: str, password: str) -> requests.Session:
    s = requests.Session()
    s.get(f"{url}/hub/login", timeout=30)
    r = s.post(f"{url}/hub/login", data={"username": user, "password": password, "_xsrf": s.cookies.get("_xsrf")},
               timeout=120)
    assert r.status_code == 200, r.status_code
    return s


def test_a_real_hub_on_the_stand_in_separates_secrets_culls_idle_servers_and_stops_everything(tmp_path, offline_pc):
    folder = tmp_path / "hub"  # pytest's folders are 0700: the students' account cannot enter this one
    s = _settings(folder, ("carol", "dave"), offline_pc, server_idle_timeout=60, cluster_idle_timeout=60)
    if ACCOUNT:
        assert s.shared != folder and str(s.shared).startswith("/var/tmp/labhelpers-hub-")
    state = up(s)
    try:
        print(f"\nhub start: {state['startup_seconds']}")
        with pytest.raises(StandinError, match="already running.*labhelpers hub down"):
            up(s)
        with open(state["credentials"], newline="") as f:
            creds = {row["username"]: row["password"] for row in csv.DictReader(f)}
        session = _login(state["url"], "carol", creds["carol"])
        deadline, lab = time.monotonic() + 240, f"{state['url']}/user/carol/lab"
        while not ((r := session.get(lab, timeout=60)).status_code == 200 and r.url == lab):
            assert time.monotonic() < deadline, f"carol's JupyterLab did not open through the hub: {state['log']}"
            time.sleep(2)
        # Signed in to her server (the hub's OAuth, as a browser does): its API answers her.
        assert session.get(f"{state['url']}/user/carol/api/status", timeout=60).status_code == 200
        st = status(folder)
        assert st["hub_healthy"] and st["gateway_healthy"] and st["servers"] == ["carol"]
        home = s.shared / "users" / "carol"
        assert (home / "01_dask_cluster.ipynb").exists()  # the lab's notebooks were copied in
        servers = [p for p in psutil.process_iter(["cwd", "uids", "cmdline"]) if p.info["cwd"] == str(home)]
        assert servers and all(str(runtime.runtime_dir()) in p.info["cmdline"][0] for p in servers)
        if ACCOUNT:
            uid = __import__("pwd").getpwnam(ACCOUNT).pw_uid
            assert {p.info["uids"].effective for p in servers} == {uid}
            # Students' code cannot read the hub's secrets, nor the instructor's stand-in state.
            for secret in (Path(state["credentials"]), folder / "secrets" / "passwords.json",
                           folder / "secrets" / "jupyterhub_cookie_secret", folder / "jupyterhub_config.py",
                           folder / "state.json"):
                r = _run_as_account("cat", str(secret))
                assert r.returncode != 0 and not r.stdout, secret
            r = _run_as_account(str(runtime.python()), "-c", f"import os; print(sorted(os.listdir({str(home)!r})))")
            assert r.returncode == 0 and "01_dask_cluster.ipynb" in r.stdout, r.stderr
        # Nobody uses it now: the idle culler stops it (timeout 60 s, checked every 30 s).
        started = time.monotonic()
        while "carol" in status(folder)["servers"]:
            assert time.monotonic() - started < 240, "the idle culler did not stop carol's server"
            time.sleep(3)
        print(f"idle server culled after {time.monotonic() - started:.0f} s")
        assert "Culling server carol" in Path(state["log"]).read_text()
        assert status(folder)["hub_healthy"]  # the hub itself stays up
    finally:
        stopped = down(folder)
        assert stopped and stopped[0].startswith("JupyterHub")
        assert status(folder) == {"running": False, "leftover_processes": 0}
        assert not (folder / "state.json").exists()
        assert (folder / "credentials.csv").exists()  # kept for the next up
        if s.shared != folder:
            shutil.rmtree(s.shared, ignore_errors=True)


def test_deploy_values_name_real_jupyterhub_options_and_the_gateway_config_is_python():
    """What the charts' schemas cannot check (free-form traitlets and Python), against the real packages."""
    import yaml
    from dask_gateway_server.backends.base import ClusterConfig
    from jupyterhub.app import JupyterHub
    from jupyterhub.auth import Authenticator
    from jupyterhub.spawner import Spawner

    values = yaml.safe_load((ROOT / "deploy" / "daskhub-values.yaml").read_text())
    classes = {"JupyterHub": JupyterHub, "Authenticator": Authenticator, "KubeSpawner": Spawner}
    for section, options in values["jupyterhub"]["hub"]["config"].items():
        assert set(options) <= set(classes[section].class_trait_names(config=True)), section
    traits = set(ClusterConfig.class_trait_names(config=True))
    for name, code in values["dask-gateway"]["gateway"]["extraConfig"].items():
        compile(code, name, "exec")
        for line in code.splitlines():
            line = line.strip()
            if line.startswith(("c.ClusterConfig.", "c.KubeClusterConfig.")):
                assert line.split(".")[2].split()[0] in traits, line
