"""Tests in browser/ drive Debian's chromium (Playwright for Python) against a real classroom hub
that runs on top of the real offline stand-in: the session fixtures start the stand-in once (or
use the running one), and ``hub`` starts a hub for two students and stops it, checking that
nothing it started is left running."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import psutil
import pytest

from standin_session import offline_pc  # noqa: F401  (the session fixture)

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
