"""pyproject.toml and environment.yml must list the same packages at the same versions."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"python-wget": "wget"}  # conda-forge name -> PyPI name


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    out = {}
    for req in reqs:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^;\s]+)", req.strip())
        assert m, f"pyproject requirement {req!r} is not pinned with =="
        out[_norm(m[1])] = m[3]
    return out


def _environment() -> dict[str, str]:
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    out = {}
    for dep in deps:
        if isinstance(dep, dict):
            for req in dep["pip"]:
                name, version = req.split("==")
                out[_norm(name)] = version
        elif "=" in dep:
            name, version = dep.split("=", 1)
            if name != "python":
                out[_norm(CONDA_NAMES.get(name, name))] = version
    return out


def test_environment_yml_matches_pyproject():
    py, env = _pyproject(), _environment()
    assert set(py) - set(env) == set(), "in pyproject.toml but not environment.yml"
    assert set(env) - set(py) == set(), "in environment.yml but not pyproject.toml"
    assert {k: (py[k], env[k]) for k in py if py[k] != env[k]} == {}


def test_constraints_pin_every_direct_dependency():
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().split() if "==" in line)
    pins = {_norm(k): v for k, v in pins.items()}
    py = _pyproject()
    assert {k: (v, pins.get(k)) for k, v in py.items() if pins.get(k) != v} == {}
