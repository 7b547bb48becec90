"""The classroom hub's parts that need no server: class list, credentials, folders, configuration, CLI.

Nothing here imports JupyterHub or dask-gateway-server (``tests/services/test_hub_server.py`` tests the
classes those load, and runs a real hub).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from labhelpers.cli import main as labhelpers
from labhelpers_standin.errors import StandinError
from labhelpers_standin.hub import folders
from labhelpers_standin.hub.classlist import check_password, ensure_credentials, hash_password, read_class_list
from labhelpers_standin.hub.config import (HubSettings, default_port, gateway_config, jupyterhub_config,
                                           student_environment)

ROOT = Path(__file__).resolve().parents[2]


def test_class_list_skips_comments_and_rejects_bad_names(tmp_path):
    f = tmp_path / "class.txt"
    f.write_text("# period 3\nalice\n\nbob  # late joiner\n")
    assert read_class_list(f) == ["alice", "bob"]
    f.write_text("alice\nBob Smith\n")
    with pytest.raises(StandinError, match=r"line 2: 'Bob Smith' is not a valid user name"):
        read_class_list(f)
    f.write_text("alice\nalice\n")
    with pytest.raises(StandinError, match="listed twice"):
        read_class_list(f)
    f.write_text("# nobody yet\n")
    with pytest.raises(StandinError, match="names no students"):
        read_class_list(f)
    with pytest.raises(StandinError, match="--class-list"):
        read_class_list(tmp_path / "missing.txt")


def test_the_example_class_list_is_valid():
    assert len(read_class_list(ROOT / "docs" / "class-list.example.txt")) >= 2


def test_credentials_are_private_kept_and_renewable(tmp_path):
    creds, hashes = tmp_path / "credentials.csv", tmp_path / "secrets" / "passwords.json"
    first = ensure_credentials(["alice", "bob"], creds, hashes)
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600 and stat.S_IMODE(hashes.stat().st_mode) == 0o600
    assert first["alice"] not in hashes.read_text()  # only hashes there
    again = ensure_credentials(["alice", "carol"], creds, hashes)
    assert again["alice"] == first["alice"] and "bob" not in again and again["carol"]
    renewed = ensure_credentials(["alice"], creds, hashes, renew=True)
    assert renewed["alice"] != first["alice"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_password_hash_checks():
    h = hash_password("s3cret")
    assert check_password("s3cret", h) and not check_password("s3cret ", h)
    assert not check_password("x", "garbage") and not check_password("x", "md5$a$b")


def test_copy_missing_never_overwrites_a_students_work(tmp_path):
    src, home = tmp_path / "nb", tmp_path / "home"
    (src / "sub").mkdir(parents=True)
    (src / ".ipynb_checkpoints").mkdir()
    home.mkdir()
    (src / "01.ipynb").write_text("lab v1")
    (src / "sub" / "02.ipynb").write_text("lab")
    (src / ".ipynb_checkpoints" / "x").write_text("no")
    assert folders.copy_missing(src, home) == ["01.ipynb", "sub/02.ipynb"]
    (home / "01.ipynb").write_text("my edits")
    (src / "01.ipynb").write_text("lab v2")
    (src / "03.ipynb").write_text("new")
    assert folders.copy_missing(src, home) == ["03.ipynb"]
    assert (home / "01.ipynb").read_text() == "my edits"
    assert not (home / ".ipynb_checkpoints").exists()
    assert not list(home.rglob(".copy-*"))


def _settings(tmp_path, **kw) -> HubSettings:
    return HubSettings(folder=tmp_path / "hub", shared=tmp_path / "shared", users=("alice", "bob"),
                       notebooks=ROOT / "notebooks", runtime=Path("/var/lib/labhelpers/runtime-x"), port=25010,
                       server_ports=(25030, 25049), **kw)


def test_configs_are_python_and_say_what_students_get(tmp_path):
    s = _settings(tmp_path, account="labhub", profile="offline",
                  student_env={"LABHELPERS_STAC_URL": "http://127.0.0.1:25001",
                               "LABHELPERS_BLOB_URL": "http://127.0.0.1:25002/{account}"})
    hub, gateway = jupyterhub_config(s), gateway_config(s)
    compile(hub, "jupyterhub_config.py", "exec")
    compile(gateway, "dask_gateway_config.py", "exec")
    assert "access:services!service=dask-gateway" in hub and "allow_existing_users = False" in hub
    assert "/var/lib/labhelpers/runtime-x/bin/jupyterhub-singleuser" in hub  # students' servers: the runtime
    assert f"{tmp_path}/shared/users/{{username}}" in hub
    assert "c.ClassroomBackend.account = 'labhub'" in gateway
    assert "'/var/lib/labhelpers/runtime-x/bin/dask', \"scheduler\"" in gateway
    assert f"{tmp_path}/shared/clusters" in gateway and "cluster_max_workers = 4" in gateway
    env = student_environment(s)
    assert env["PATH"].startswith("/var/lib/labhelpers/runtime-x/bin:")
    assert env["DASK_GATEWAY__AUTH__TYPE"] == "jupyterhub"
    assert env["DASK_GATEWAY__ADDRESS"] == "http://127.0.0.1:25013/services/dask-gateway"
    assert env["DASK_GATEWAY__PUBLIC_ADDRESS"] == "http://127.0.0.1:25010/services/dask-gateway"
    assert env["DASK_GATEWAY__PROXY_ADDRESS"] == "gateway://127.0.0.1:25014"
    assert env["LABHELPERS_PROFILE"] == "offline" and env["LABHELPERS_STAC_URL"] == "http://127.0.0.1:25001"
    assert "LABHELPERS_OFFLINE_DIR" not in env  # students cannot read the stand-in's folder
    assert "password" not in (hub + gateway).lower().replace("passwords_file", "").replace("passwords.json", "")


def test_public_url_is_what_students_and_dashboard_links_see(tmp_path):
    s = _settings(tmp_path, listen="0.0.0.0", public_url="https://lab.example.edu/")
    assert s.url == "https://lab.example.edu" and s.local_url == "http://127.0.0.1:25010"
    assert student_environment(s)["DASK_GATEWAY__PUBLIC_ADDRESS"] == "https://lab.example.edu/services/dask-gateway"
    assert "c.JupyterHub.ip = '0.0.0.0'" in jupyterhub_config(s)


def test_hub_ports_follow_the_stand_ins_port_base(monkeypatch):
    monkeypatch.delenv("LABHELPERS_OFFLINE_PORT_BASE", raising=False)
    assert default_port() == 8000
    monkeypatch.setenv("LABHELPERS_OFFLINE_PORT_BASE", "25000")
    assert default_port() == 25010
    monkeypatch.setenv("LABHELPERS_OFFLINE_PORT_BASE", "sixty")
    with pytest.raises(StandinError, match="LABHELPERS_OFFLINE_PORT_BASE"):
        default_port()


def test_default_folder_is_beside_the_stand_ins_files(monkeypatch, tmp_path):
    monkeypatch.setenv("LABHELPERS_OFFLINE_DIR", str(tmp_path / "off"))
    assert folders.default_folder() == tmp_path / "off" / "hub"


def test_an_account_that_cannot_enter_the_folder_gets_a_shared_folder_outside(tmp_path):
    import shutil
    import tempfile

    private = tmp_path / "private"  # pytest's tmp folders are 0700: "nobody" cannot enter them
    private.mkdir()
    shared = folders.shared_folder(private / "hub", "nobody")  # "nobody": on every Debian machine
    assert shared.parent == Path("/var/tmp") and shared.name.startswith("labhelpers-hub-")
    assert shared == folders.shared_folder(private / "hub", "nobody")  # the same one at every up and down
    assert folders.shared_folder(private / "other", "nobody") != shared  # two hubs never share students
    assert folders.shared_folder(private / "hub", "") == private / "hub"  # no account: ours
    open_ = Path(tempfile.mkdtemp(prefix="labhelpers-hub-test-", dir="/var/tmp"))
    try:
        open_.chmod(0o755)
        assert folders.shared_folder(open_ / "hub", "nobody") == open_ / "hub"
    finally:
        shutil.rmtree(open_)


def test_prepare_makes_private_folders_and_refuses_someone_elses(tmp_path):
    folder, shared = tmp_path / "hub", tmp_path / "shared"
    folders.prepare(folder, shared, None)
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in
             (folder, folder / "secrets", folder / "logs", folder / "gateway", shared / "users", shared / "clusters")}
    assert modes[folder] == 0o700 and modes[folder / "secrets"] == 0o700 and modes[folder / "logs"] == 0o700
    assert modes[shared / "users"] == 0o711 and modes[shared / "clusters"] == 0o711
    cookie = folder / "secrets" / "jupyterhub_cookie_secret"
    assert stat.S_IMODE(cookie.stat().st_mode) == 0o600 and len(cookie.read_text()) == 64
    before = cookie.read_text()
    folders.prepare(folder, shared, None)
    assert cookie.read_text() == before  # students stay logged in across down/up
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(StandinError, match="not a folder of yours"):
        folders.prepare(tmp_path / "linked", tmp_path / "linked", None)


def test_account_rules(monkeypatch):
    if os.geteuid() == 0:
        with pytest.raises(StandinError, match="--account NAME"):
            folders.account_ids("")
        with pytest.raises(StandinError, match="no such account.*useradd"):
            folders.account_ids("no-such-account-here")
        with pytest.raises(StandinError, match="is root"):
            folders.account_ids("root")
        assert folders.account_ids("nobody")[0] > 0
    else:
        assert folders.account_ids("") is None
        with pytest.raises(StandinError, match="only root"):
            folders.account_ids("nobody")


def test_cli_status_down_and_clear_errors(tmp_path, capsys):
    folder = str(tmp_path / "hub")
    assert labhelpers(["hub", "status", "--folder", folder]) == 1
    assert "not running" in capsys.readouterr().out
    assert labhelpers(["hub", "down", "--folder", folder]) == 0
    assert "not running" in capsys.readouterr().out
    assert labhelpers(["hub", "up", "--folder", folder, "--class-list", str(tmp_path / "none.txt")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("labhelpers hub up: ") and "--class-list FILE" in err and "Traceback" not in err
    (tmp_path / "class.txt").write_text("alice\n")
    # The stand-in is not running in this test's (empty) offline folder: the message says how to start it.
    assert labhelpers(["hub", "up", "--folder", folder, "--class-list", str(tmp_path / "class.txt"),
                       "--profile", "offline"]) == 1
    assert "labhelpers offline up" in capsys.readouterr().err
    assert not (tmp_path / "hub" / "state.json").exists()
