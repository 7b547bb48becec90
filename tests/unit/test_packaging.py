"""The three distributions are honest about what they need, and the student wheel is thin.

* ``environment.yml`` (hub images) lists exactly the student library's requirements plus its
  ``[lab]`` extra, at the same versions; ``constraints.txt`` pins every direct requirement of
  all three packages at the version their pyproject.toml asks for.
* ``pip wheel --no-deps .`` builds a labhelpers wheel holding only ``labhelpers``: none of the
  stand-in's or course tools' modules, none of their packages among its requirements.
* ``labhelpers offline|run|...`` without the package behind it names what to install.
"""

import re
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONDA_NAMES = {"python-wget": "wget"}  # conda-forge name -> PyPI name
PYPROJECTS = {"labhelpers": ROOT / "pyproject.toml", "labhelpers-standin": ROOT / "standin" / "pyproject.toml",
              "labhelpers-course": ROOT / "course" / "pyproject.toml"}
#: Tooling that must never be a requirement of the student wheel (issue: the wheel pulled them in).
NOT_FOR_STUDENTS = {"jupyterlab", "nbval", "papermill", "nbconvert", "nbclient", "psutil", "shapely", "otter-grader",
                    "uvicorn", "stac-fastapi-pgstac", "pypgstac", "psycopg", "dask-gateway-server", "sqlalchemy",
                    "jupyterhub", "pytest"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(reqs) -> dict[str, str]:
    out = {}
    for req in reqs:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^;\s]+)", req.strip())
        assert m, f"requirement {req!r} is not pinned with =="
        out[_norm(m[1])] = m[3]
    return out


def _project(name: str) -> dict:
    return tomllib.loads(PYPROJECTS[name].read_text())["project"]


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


def test_environment_yml_is_the_student_library_plus_its_lab_extra():
    project = _project("labhelpers")
    want = _pins(project["dependencies"] + project["optional-dependencies"]["lab"])
    env = _environment()
    assert set(want) - set(env) == set(), "in pyproject.toml but not environment.yml"
    assert set(env) - set(want) == set(), "in environment.yml but not pyproject.toml"
    assert {k: (want[k], env[k]) for k in want if want[k] != env[k]} == {}


def test_constraints_pin_every_direct_dependency_of_all_three_packages():
    pins = {_norm(k): v for k, v in (line.split("==") for line in (ROOT / "constraints.txt").read_text().split()
                                     if "==" in line)}
    local = {_norm(n) for n in PYPROJECTS}
    for name in PYPROJECTS:
        project = _project(name)
        reqs = project["dependencies"] + [r for extra in project.get("optional-dependencies", {}).values() for r in extra]
        wanted = {k: v for k, v in _pins(reqs).items() if k not in local}
        assert {k: (v, pins.get(k)) for k, v in wanted.items() if pins.get(k) != v} == {}, name


def test_student_library_requires_no_tooling():
    base = set(_pins(_project("labhelpers")["dependencies"]))
    assert base & NOT_FOR_STUDENTS == set()


@pytest.fixture(scope="module")
def student_wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                          "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    (wheel,) = out.glob("labhelpers-*.whl")
    return wheel


def test_student_wheel_holds_only_the_student_library(student_wheel):
    names = zipfile.ZipFile(student_wheel).namelist()
    packages = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert packages == {"labhelpers"}
    assert "labhelpers/data/sn_bound_10deg.txt" in names
    assert not [n for n in names if re.search(r"offline|standin|grad|runner|exercise", n)]
    with zipfile.ZipFile(student_wheel) as z:
        code = sum(_code_lines(z.read(n).decode()) for n in names if n.endswith(".py"))
    assert code <= 2000, f"the student library grew to {code} lines of code: keep it thin"


def _code_lines(source: str) -> int:
    """Lines of code: not blank, not a comment, not inside a docstring."""
    import ast

    docs = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            docs.update(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(1 for i, line in enumerate(source.splitlines(), 1)
               if line.strip() and not line.strip().startswith("#") and i not in docs)


def test_student_wheel_metadata_requires_no_tooling(student_wheel):
    with zipfile.ZipFile(student_wheel) as z:
        (meta,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        msg = Parser().parsestr(z.read(meta).decode())
    base = {_norm(re.split(r"[=<>~! \[;]", r, maxsplit=1)[0]) for r in msg.get_all("Requires-Dist")
            if "extra ==" not in r}
    assert base & NOT_FOR_STUDENTS == set()
    assert {"pystac-client", "stackstac", "planetary-computer", "dask-gateway", "xarray-spatial"} <= base


@pytest.mark.parametrize("command, dist", [("offline", "labhelpers-standin"), ("run", "labhelpers-course"),
                                           ("grade", "labhelpers-course")])
def test_a_command_whose_package_is_missing_names_what_to_install(command, dist, tmp_path):
    # Hide the package from the import system, as in an environment with only the student wheel.
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('labhelpers_standin', 'labhelpers_course'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _Block())\n")
    run = subprocess.run([sys.executable, "-c", "import sitecustomize, sys; from labhelpers.cli import main; "
                          f"sys.exit(main([{command!r}, '--help']))"],
                         capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin"},
                         timeout=120)
    assert run.returncode != 0
    assert dist in run.stderr and "pip install" in run.stderr and "Traceback" not in run.stderr


SERVER_PACKAGES = ("psycopg", "psycopg_pool", "uvicorn", "stac_fastapi", "pypgstac", "dask_gateway_server",
                   "sqlalchemy", "jupyterhub", "otter", "papermill", "nbclient")


def test_unit_tests_import_no_server_package(tmp_path):
    """Collecting tests/unit (which imports every test module and what it imports) works with the
    stand-in's and course tools' server packages hidden: a unit run needs none of them."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        f"BLOCKED = {SERVER_PACKAGES!r}\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r} (hidden by the test)', name=name)\n"
        "sys.meta_path.insert(0, _Block())\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          str(ROOT / "tests" / "unit")], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "hidden by the test" not in run.stdout + run.stderr
