"""The dask configuration ``labhelpers offline up`` writes so a bare ``GatewayCluster()`` finds its gateway.

Every test writes into a private prefix (``prefix=tmp_path``), never into this environment.
"""

from __future__ import annotations

import stat

import pytest
import yaml

from labhelpers_standin import daskconfig
from labhelpers_standin.errors import StandinError

GATEWAY = {"address": "http://127.0.0.1:25003", "proxy_address": "gateway://127.0.0.1:25004",
           "auth": {"type": "basic", "username": "student", "password": "pw-123"}}


def _write(prefix, standin, password="pw-123"):
    return daskconfig.write_gateway_config(GATEWAY["address"], GATEWAY["proxy_address"], "student", password,
                                           standin, prefix=prefix)


def test_the_file_holds_what_dask_gateway_reads_and_only_its_owner_can_read_it(tmp_path):
    path = _write(tmp_path / "env", tmp_path / "off")
    assert path == tmp_path / "env" / "etc" / "dask" / "gateway.yaml" == daskconfig.config_path(tmp_path / "env")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert yaml.safe_load(path.read_text()) == {"gateway": {
        "address": "http://127.0.0.1:25003", "proxy-address": "gateway://127.0.0.1:25004",
        "auth": {"type": "basic", "kwargs": {"username": "student", "password": "pw-123"}}}}
    assert daskconfig.owner(path) == str(tmp_path / "off")
    assert [p.name for p in path.parent.iterdir()] == ["gateway.yaml"]  # no temporary file left


def test_dask_reads_it_from_the_prefix(tmp_path):
    import dask.config

    _write(tmp_path / "env", tmp_path / "off")
    collected = dask.config.collect(paths=[str(tmp_path / "env" / "etc" / "dask")], env={})
    assert collected["gateway"]["address"] == "http://127.0.0.1:25003"
    assert collected["gateway"]["proxy-address"] == "gateway://127.0.0.1:25004"


def test_down_removes_its_own_file_and_no_other(tmp_path):
    env, off = tmp_path / "env", tmp_path / "off"
    _write(env, off)
    assert daskconfig.remove_gateway_config(tmp_path / "another", prefix=env) is False
    assert daskconfig.config_path(env).exists()
    assert daskconfig.remove_gateway_config(off, prefix=env) is True
    assert not daskconfig.config_path(env).exists()
    assert daskconfig.remove_gateway_config(off, prefix=env) is False  # nothing left to remove
    theirs = daskconfig.config_path(env)
    theirs.write_text("gateway:\n  address: http://their-gateway\n")
    assert daskconfig.remove_gateway_config(off, prefix=env) is False
    assert theirs.read_text() == "gateway:\n  address: http://their-gateway\n"


def test_up_never_replaces_the_users_own_settings(tmp_path):
    env = tmp_path / "env"
    theirs = daskconfig.config_path(env)
    theirs.parent.mkdir(parents=True)
    theirs.write_text("gateway:\n  address: http://their-gateway\n")
    with pytest.raises(StandinError, match="did not write.*Move that file away"):
        _write(env, tmp_path / "off")
    assert theirs.read_text() == "gateway:\n  address: http://their-gateway\n"


def test_a_running_stand_ins_file_is_kept_and_a_stopped_ones_is_replaced(tmp_path):
    env, first, second = tmp_path / "env", tmp_path / "first", tmp_path / "second"
    first.mkdir()
    _write(env, first, password="first")
    (first / "state.json").write_text("{}")  # the first stand-in is running
    with pytest.raises(StandinError, match=f"stand-in in {first}, which is still running"):
        _write(env, second, password="second")
    assert daskconfig.owner(daskconfig.config_path(env)) == str(first)
    (first / "state.json").unlink()  # stopped (or crashed) without removing its file
    _write(env, second, password="second")
    assert daskconfig.owner(daskconfig.config_path(env)) == str(second)


def test_configure_reports_instead_of_failing_and_never_prints_the_password(tmp_path):
    env = tmp_path / "env"
    theirs = daskconfig.config_path(env)
    theirs.parent.mkdir(parents=True)
    theirs.write_text("gateway: {}\n")
    said = []
    assert daskconfig.configure(GATEWAY, tmp_path / "off", said.append, prefix=env) is None
    assert len(said) == 1 and said[0].startswith("warning: ") and "pw-123" not in said[0]
    theirs.unlink()
    assert daskconfig.configure(GATEWAY, tmp_path / "off", said.append, prefix=env) == theirs
    assert len(said) == 1
