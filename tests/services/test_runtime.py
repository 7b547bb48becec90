"""The student runtime that unprivileged processes (hub servers, grading kernels) run in.

``make setup`` builds it with the system Python outside the checkout; it must work for an
account that can read neither the instructor's environment nor the checkout.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from importlib import resources

import pytest

from labhelpers_standin import runtime
from labhelpers_standin.errors import StandinError

PROBE = ("import hashlib, importlib.resources as r, labhelpers, labhelpers.stac, labhelpers.modis, otter, ipykernel; "
         "print(labhelpers.__file__); print(hashlib.sha256((r.files('labhelpers') / 'stac.py').read_bytes()).hexdigest())")


def test_an_unprivileged_account_can_run_the_runtime_and_it_holds_this_library():
    python = runtime.python()
    assert not str(python).startswith(os.getcwd())  # outside the checkout
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] if os.geteuid() == 0 else []
    run = subprocess.run([*as_nobody, str(python), "-c", PROBE], capture_output=True, text=True, timeout=300,
                         env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"}, cwd="/")
    assert run.returncode == 0, run.stderr[-2000:]
    where, digest = run.stdout.split()
    assert where.startswith(str(runtime.runtime_dir()))  # a copy, not a link into the checkout
    ours = hashlib.sha256((resources.files("labhelpers") / "stac.py").read_bytes()).hexdigest()
    assert digest == ours, "the runtime's labhelpers is stale: run `make setup`"


def test_a_missing_runtime_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("LABHELPERS_RUNTIME_DIR", str(tmp_path))
    with pytest.raises(StandinError, match="make setup"):
        runtime.python()
    with pytest.raises(StandinError, match="make setup"):
        runtime.executable("jupyter-lab")
