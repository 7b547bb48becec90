"""Every attack of issue 12 as a submission: each leaves the honest score and nothing else changed.

One folder of submissions of a mini exercise is graded once (module fixture), against the real
stand-in of the session, so the whole attack suite costs one grading run. Attack cells print
``ATTACK {json}`` so a test can read what the attack saw from the executed notebook.

The mini exercise: q1 asks for the id of the stand-in's MODIS collection, read from its STAC API
through the sandbox's network filter; it is worth 3 points (1 public: a string; 2 hidden: the
right id, from the archive's truth). A wrong answer (a string, but the Sentinel-2 id) is worth 1.
q2 is a written answer (2 points, marked by hand).

Grading needs root (each submission runs as uid 64000 in a bubblewrap sandbox on a tmpfs).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from labhelpers_course import exercises
from labhelpers_course.grade import report, run
from labhelpers_course.grade import sandbox as sb
from labhelpers_course.grade.folder import grade_folder
from labhelpers_course.grade.names import clean
from labhelpers_standin import runtime

pytestmark = pytest.mark.services

UID = 64000  # 64000 runs submissions, 64001 the network filter, 64002 the tests
WRONG = ('startswith("modis")', 'startswith("sentinel")')
SOLUTION = ('import requests\nids = [c["id"] for c in requests.get(f"{stac}/collections", timeout=30).json()'
            '["collections"]]\nanswer = next(i for i in ids if i.startswith("modis"))\nanswer')
SECRET_ENV = "LABHELPERS_GRADING_TEST_SECRET"


def _cell(kind: str, source: str, **meta):
    make = {"raw": nbformat.v4.new_raw_cell, "md": nbformat.v4.new_markdown_cell, "code": nbformat.v4.new_code_cell}
    cell = make[kind](source)
    cell.metadata.update(meta)
    return cell


def _mini_master() -> nbformat.NotebookNode:
    """An otter master like the lab's: a read from the stand-in, public and hidden tests (with a hint),
    a written question."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("raw", "# ASSIGNMENT CONFIG\nname: ex9\ninit_cell: true\nexport_cell: false\ncheck_all_cell: false\n"
                     "run_tests: false\ntests:\n  ok_format: false"),
        _cell("md", "# Exercise 9: a mini exercise"),
        _cell("code", 'profile = "offline"', tags=["parameters"]),
        _cell("code", "from labhelpers.settings import get_settings\n\nstac = get_settings(profile).stac_url"),
        _cell("raw", "# BEGIN QUESTION\nname: q1\npoints: [1, 2]"),
        _cell("md", "## Question 1\n\nSet `answer` to the id of the catalog's MODIS collection."),
        _cell("raw", "# BEGIN SOLUTION"),
        _cell("code", f"# BEGIN SOLUTION NO PROMPT\n{SOLUTION}\n# END SOLUTION\n"
                      '""" # BEGIN PROMPT\nanswer = ...\n""" # END PROMPT\nanswer'),
        _cell("raw", "# END SOLUTION"),
        _cell("raw", "# BEGIN TESTS"),
        _cell("code", 'def test_is_str(answer):\n    assert isinstance(answer, str), f"answer should be a str, '
                      'not {type(answer).__name__}"\n\ntest_is_str(answer)  # IGNORE'),
        _cell("code", '""" # BEGIN TEST CONFIG\nhidden: true\nfailure_message: Look for the collection whose id '
                      'starts with modis.\n""" # END TEST CONFIG\ndef test_value(answer):\n'
                      '    from labhelpers_course.truth import archive_truth\n'
                      '    expected = archive_truth("modis")["collection"]\n'
                      '    assert answer == expected, f"SECRET-EXPECTED {expected} got {answer}"\n\n'
                      'test_value(answer)  # IGNORE'),
        _cell("raw", "# END TESTS"),
        _cell("raw", "# END QUESTION"),
        _cell("raw", "# BEGIN QUESTION\nname: q2\nmanual: true\npoints: 2"),
        _cell("md", "## Question 2\n\nWhy are range requests useful for COGs?"),
        _cell("raw", "# BEGIN SOLUTION"),
        _cell("md", "**Model answer.** Only the needed tiles are read.\n\n**Rubric.** 2: tiles/partial reads."),
        _cell("raw", "# END SOLUTION"),
        _cell("raw", "# END QUESTION"),
    ]
    return nb


ATTACKS = {
    "forge_json": ("wrong", """
import json
_dump, _dumps = json.dump, json.dumps
def _fix(o):
    if isinstance(o, dict):
        return {k: (True if k == "passed" else _fix(v)) for k, v in o.items()}
    return [_fix(x) for x in o] if isinstance(o, list) else o
json.dump = lambda obj, f, *a, **k: _dump(_fix(obj), f, *a, **k)
json.dumps = lambda obj, *a, **k: _dumps(_fix(obj), *a, **k)
print("ATTACK", _dumps({"json": "patched"}))
"""),
    "forge_otter": ("blank", """
import json
from otter.execute import Checker
from otter.test_files import exception_test
def _all_pass(self, env):
    from otter.test_files.abstract_test import TestCaseResult
    self.test_case_results = [TestCaseResult(test_case=tc, message="ok", passed=True) for tc in self.test_cases]
exception_test.ExceptionTestFile.run = _all_pass
Checker.get_results = classmethod(lambda cls: [])
print("ATTACK", json.dumps({"otter": "patched"}))
"""),
    "forge_builtins": ("wrong", """
import builtins, json
builtins.abs = lambda x: 0
builtins.float = lambda *a: 42.0
print("ATTACK", json.dumps({"builtins": "patched"}))
"""),
    "forge_export": ("wrong", """
import json, os, sys, types
import numpy as np
class _Boom:
    def __reduce__(self):
        return (os.system, ("touch /run/export/PWNED /tmp/PWNED",))
def export(names, folder, ns):
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "v0.npy"), np.array([_Boom()], dtype=object), allow_pickle=True)
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump({"format": "labhelpers-grade-export/1", "passed": True, "score": 3,
                   "values": {"answer": {"t": "ndarray", "file": "v0.npy"}}}, f)
for name in ("grading_export", "lg_export"):
    _mod = types.ModuleType(name); _mod.export = export; sys.modules[name] = _mod
import __main__
for k in list(vars(__main__)):
    if "export" in k.lower() and callable(vars(__main__)[k]):
        setattr(__main__, k, export)
print("ATTACK", json.dumps({"export": "replaced"}))
"""),
    "rewrite_tests": ("wrong", """
import glob, json, os
import otter
found = []
for root in ["/tmp", "/home", "/run", "/opt", "/work", "/srv", "/var", "/root", "/mnt"]:
    found += glob.glob(root + "/**/q1.py", recursive=True)
if getattr(otter.Notebook, "_tests_dir_override", None):
    found.append(str(otter.Notebook._tests_dir_override))
os.makedirs("tests", exist_ok=True)
with open("tests/q1.py", "w") as f:  # tests that pass anything, where otter would look for them
    f.write("from otter.test_files import test_case\\nOK_FORMAT = False\\nname = 'q1'\\npoints = [1, 2]\\n"
            "@test_case(points=None, hidden=False)\\ndef t1(answer):\\n    pass\\n"
            "@test_case(points=None, hidden=True)\\ndef t2(answer):\\n    pass\\n")
print("ATTACK", json.dumps({"found": found}))
"""),
    "run_solutions": ("blank", """
import glob, json, os
paths = ["__SOLUTIONS__/ex9_mini.ipynb", "__REPO__/solutions/ex1_ndsi.ipynb", "/work/main/solutions/ex1_ndsi.ipynb"]
res = {p: os.path.exists(p) for p in paths}
res["glob"] = [p for root in ["/tmp", "/home", "/run", "/opt", "/srv", "/var", "/root", "/mnt", "/work"]
               for p in glob.glob(root + "/**/*.ipynb", recursive=True) if "ex9_mini.ipynb" not in p]
try:
    import labhelpers.exercises
    res["SOLUTIONS"] = bool(getattr(labhelpers.exercises, "SOLUTIONS", None))
except ImportError:
    res["SOLUTIONS"] = False
print("ATTACK", json.dumps(res))
"""),
    "write_outside": ("solution", """
import json
res = {}
for p in ["__SUBS__/victim/ex9_mini.ipynb", "__OUT__/grades.csv", "/root/PWNED", "__RUNTIME__/PWNED.py",
          "__SOLUTIONS__/PWNED", "__REPO__/PWNED", "/tmp/PWNED_host_tmp"]:
    try:
        with open(p, "w") as f:
            f.write("PWNED")
        res[p] = "WROTE"
    except OSError as e:
        res[p] = e.strerror
print("ATTACK", json.dumps(res))
"""),
    "read_others": ("solution", """
import json, os
procs = []
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            procs.append(open(f"/proc/{p}/cmdline", "rb").read().replace(b"\\0", b" ").decode()[:300])
            procs.append(open(f"/proc/{p}/environ", "rb").read().replace(b"\\0", b" ").decode()[:3000])
        except OSError:
            pass
seen = {p: os.path.exists(p) for p in ["__SUBS__", "__OUT__", "__SUBS__/victim/ex9_mini.ipynb", "__OFFLINE__"]}
print("ATTACK", json.dumps({"procs": procs, "seen": seen, "env": dict(os.environ)}))
"""),
    "detached": ("solution", """
import os, time, json
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(4)
        for p in ["__OUT__/grades.csv", "/home/student/work/ex9_mini.ipynb"]:
            try:
                open(p, "w").write("PWNED")
            except OSError:
                pass
        os._exit(0)
    os._exit(0)
print("ATTACK", json.dumps({"detached": True}))
"""),
    "memory": ("solution", """
import json
try:
    hog = bytearray(8 * 1024 ** 3)
    r = "ALLOCATED"
except MemoryError:
    r = "MemoryError"
print("ATTACK", json.dumps({"memory": r}))
"""),
    "memory_uncaught": ("solution", "hog = bytearray(8 * 1024 ** 3)"),
    "children": ("solution", """
import json, subprocess
kids = [subprocess.Popen(["sleep", "600"], start_new_session=True) for _ in range(50)]
print("ATTACK", json.dumps({"children": len(kids)}))
"""),
    "fork_bomb": ("solution", """
import json, os, signal, time
pids = []
try:
    while len(pids) < 5000:
        pid = os.fork()
        if pid == 0:
            time.sleep(600)
            os._exit(0)
        pids.append(pid)
except OSError:
    pass
for pid in pids:
    os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
print("ATTACK", json.dumps({"forked": len(pids)}))
"""),
    "big_output": ("solution", """
for _ in range(100):
    print("x" * 1_000_000)
"""),
    "disk_fill": ("solution", """
import json, os
res = {}
for d in ["/home/student/work", "/tmp"]:
    n = 0
    try:
        with open(d + "/fill", "wb") as f:
            while n < 100000:
                f.write(b"x" * 1024 ** 2); f.flush(); n += 1
    except OSError as e:
        res[d] = [n, e.strerror]
    os.remove(d + "/fill")
print("ATTACK", json.dumps(res))
"""),
    "network": ("solution", """
import json, socket, requests
from labhelpers.settings import get_settings
blob = get_settings(profile).blob_account_url("__ACCOUNT__")
res = {}
for m in ["PUT", "DELETE", "POST"]:
    res[m] = requests.request(m, f"{blob}/__CONTAINER__/PWNED.bin", data=b"x",
                              headers={"x-ms-blob-type": "BlockBlob"}, timeout=10).status_code
res["stac_delete"] = requests.delete(f"{stac}/collections/modis-43A4-061", timeout=10).status_code
res["stac_post_items"] = requests.post(f"{stac}/collections/modis-43A4-061/items", json={}, timeout=10).status_code
for port in __CLOSED_PORTS__:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2)
        res[str(port)] = "CONNECTED"
    except OSError as e:
        res[str(port)] = type(e).__name__
print("ATTACK", json.dumps(res))
"""),
    "exit_kernel": ("solution", "import os\nos._exit(1)"),
    "kill_driver": ("solution", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"),
    "loop": ("solution", "while True:\n    pass"),
}
HONEST = {"honest": "solution", "victim": "solution", "blank": "blank", "wrong": "wrong", "written": "written",
          '=HYPERLINK("http:x")': "solution", "\x1b[31mred\x1b[0m": "solution", "$(touch pwned); rm -rf ~": "solution"}


def _variant(student: nbformat.NotebookNode, kind: str) -> nbformat.NotebookNode:
    """The student notebook as a student would submit it: blank, solved, solved wrongly, or with a written answer."""
    nb = nbformat.from_dict(json.loads(json.dumps(student)))
    for c in nb.cells:
        if "otter_answer_cell" not in c.metadata.get("tags", []) or kind == "blank":
            continue
        if c.cell_type == "code":
            c.source = SOLUTION.replace(*WRONG) if kind == "wrong" else SOLUTION
        elif kind == "written":
            c.source = "Range requests read only the tiles needed."
    return nb


def _with_attack(nb, code: str, paths: dict) -> nbformat.NotebookNode:
    for key, value in paths.items():
        code = code.replace(key, str(value))
    i = next(i for i, c in enumerate(nb.cells) if "otter_answer_cell" in c.metadata.get("tags", []))
    nb.cells.insert(i, nbformat.v4.new_code_cell(code.strip()))
    return nb


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file's bytes under ``folder`` (to show a run changed nothing)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()}


@pytest.fixture(scope="module")
def graded(offline_pc, tmp_path_factory):
    """Grade one folder of honest and attacking submissions once."""
    if os.geteuid() != 0:
        raise RuntimeError("grading sandboxes submissions and must run as root (sudo make test)")
    repo = Path(__file__).resolve().parents[2]
    base = tmp_path_factory.mktemp("attacks")
    solutions, subs, out = base / "solutions", base / "subs", base / "out"
    solutions.mkdir()
    subs.mkdir()
    nbformat.write(_mini_master(), solutions / "ex9_mini.ipynb")
    student = nbformat.read(exercises.assign(solutions / "ex9_mini.ipynb", base / "dist") / "student" /
                            "ex9_mini.ipynb", as_version=4)
    truth = json.loads((Path(offline_pc["archive"]) / "manifest.json").read_text())["modis"]
    svc = offline_pc["services"]
    closed = [svc["postgres"]["port"], svc.get("gateway", {}).get("port", 1), 22]
    rt = runtime.runtime_dir()
    paths = {"__SUBS__": subs, "__OUT__": out, "__SOLUTIONS__": solutions, "__REPO__": repo,
             "__RUNTIME__": next((rt / "lib").glob("python3*/site-packages")), "__OFFLINE__": offline_pc["archive"],
             "__ACCOUNT__": truth["account"], "__CONTAINER__": truth["hdf_container"],
             "__CLOSED_PORTS__": json.dumps(closed)}
    for name, kind in HONEST.items():
        target = subs / "victim" / "ex9_mini.ipynb" if name == "victim" else subs / f"{name}_ex9_mini.ipynb"
        target.parent.mkdir(exist_ok=True)
        nbformat.write(_variant(student, kind), target)
    for name, (kind, code) in ATTACKS.items():
        nbformat.write(_with_attack(_variant(student, kind), code, paths), subs / f"{name}_ex9_mini.ipynb")
    os.symlink("/etc/passwd", subs / "linked_ex9_mini.ipynb")
    os.mkfifo(subs / "fifo_ex9_mini.ipynb")
    (subs / "junk_ex9_mini.pdf").write_bytes(b"%PDF-1.4")
    before = _tree(subs)
    repo_before = {p: p.stat().st_mtime_ns for p in (repo / "solutions").iterdir()}
    from labhelpers_course.grade.cli import standin_from_state

    standin = standin_from_state(offline_pc, say=lambda m: None)
    os.environ[SECRET_ENV] = "hunter2"
    t0 = time.monotonic()
    try:
        results = grade_folder(subs, out, solutions, standin, runtime=rt, uid=UID, work_bytes=256 * sb.MiB,
                               limits=sb.Limits(wall_seconds=90, address_space=4 * sb.GiB, processes=128),
                               say=lambda m: None)
    finally:
        del os.environ[SECRET_ENV]
    seconds = time.monotonic() - t0
    csv_hash = hashlib.sha256((out / "grades.csv").read_bytes()).hexdigest()
    time.sleep(6)  # the detached process would wake after 4 s
    return {"results": {r.file: r for r in results}, "out": out, "subs": subs, "before": before,
            "csv_hash": csv_hash, "solutions": solutions, "repo": repo, "repo_before": repo_before,
            "runtime": rt, "truth": truth, "seconds": seconds, "offline": offline_pc}


def _r(graded, student):
    return graded["results"][clean(f"{student}_ex9_mini.ipynb") if student != "victim" else "victim/ex9_mini.ipynb"]


def _attack_output(graded, student) -> dict:
    r = _r(graded, student)
    nb = nbformat.read(graded["out"] / "executed" / r.student / "ex9_mini.ipynb", as_version=4)
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            for line in o.get("text", "").splitlines():
                if line.startswith("ATTACK "):
                    return json.loads(line[7:])
    raise AssertionError(f"no ATTACK line in {student}'s executed notebook")


@pytest.mark.parametrize("student, score", [
    ("honest", 3), ("victim", 3), ("wrong", 1), ("blank", 0), ("written", 3),
    ("forge_json", 1), ("forge_otter", 0), ("forge_builtins", 1), ("forge_export", 0), ("rewrite_tests", 1),
    ("run_solutions", 0), ("write_outside", 3), ("read_others", 3), ("detached", 3), ("memory", 3),
    ("children", 3), ("fork_bomb", 3), ("big_output", 3), ("disk_fill", 3), ("network", 3),
    ('=HYPERLINK("http:x")', 3), ("\x1b[31mred\x1b[0m", 3), ("$(touch pwned); rm -rf ~", 3),
])
def test_each_submission_gets_its_honest_score(graded, student, score):
    r = _r(graded, student)
    assert (r.status, r.score, r.possible) == ("graded", score, 3), (r.status, r.score, r.reason, r.tests)


@pytest.mark.parametrize("student, reason", [
    ("memory_uncaught", "MemoryError"), ("exit_kernel", "kernel died"), ("kill_driver", "ended without a result"),
    ("loop", "time limit"),
])
def test_runs_that_break_score_zero_with_a_reason(graded, student, reason):
    r = _r(graded, student)
    assert r.status == "zero" and reason in r.reason, (r.status, r.reason)


def test_unanswered_questions_say_so(graded):
    r = _r(graded, "blank")
    assert r.questions == {"q1": "not answered"} and {t["state"] for t in r.tests} == {"not answered"}
    assert r.written["q2"]["status"] == "not answered"
    assert _r(graded, "written").written["q2"]["status"] == "pending"
    with open(graded["out"] / "grades.csv", newline="") as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert rows["blank"]["ex9_mini:q1"] == "not answered" and rows["blank"]["ex9_mini:q2"] == "not answered"
    assert rows["written"]["ex9_mini:q2"] == "pending" and rows["honest"]["ex9_mini:q2"] == "not answered"
    assert "Not answered: q1." in (graded["out"] / "feedback" / "blank" / "ex9_mini.md").read_text()


def test_feedback_never_shows_hidden_tests(graded):
    text = "".join(p.read_text() for p in (graded["out"] / "feedback").rglob("*.md"))
    text += (graded["out"] / "grades.csv").read_text() + (graded["out"] / "results.json").read_text()
    assert "SECRET-EXPECTED" not in text and "archive_truth" not in text and "def test_" not in text
    wrong = (graded["out"] / "feedback" / "wrong" / "ex9_mini.md").read_text()
    assert "Look for the collection whose id starts with modis." in wrong  # the hidden test's hint
    assert graded["truth"]["collection"] not in wrong  # never the expected value


def test_nothing_outside_the_sandbox_changed(graded):
    assert _tree(graded["subs"]) == graded["before"], "a submission file changed"
    assert hashlib.sha256((graded["out"] / "grades.csv").read_bytes()).hexdigest() == graded["csv_hash"]
    site = next((graded["runtime"] / "lib").glob("python3*/site-packages"))
    assert not (site / "PWNED.py").exists() and not (graded["repo"] / "PWNED").exists()
    assert not Path("/root/PWNED").exists() and not Path("/tmp/PWNED_host_tmp").exists()
    assert not (graded["solutions"] / "PWNED").exists() and not Path("/tmp/PWNED").exists()
    assert {p: p.stat().st_mtime_ns for p in (graded["repo"] / "solutions").iterdir()} == graded["repo_before"]
    assert [sb.processes_of(UID + i) for i in range(3)] == [[], [], []], "a sandbox process outlived grading"
    seen = _attack_output(graded, "write_outside")
    assert [p for p, v in seen.items() if v == "WROTE"] == ["/tmp/PWNED_host_tmp"], seen  # its own tmpfs only


def test_no_view_of_tests_solutions_others_or_secrets(graded):
    assert _attack_output(graded, "rewrite_tests")["found"] == []
    sol = _attack_output(graded, "run_solutions")
    public = str(graded["runtime"])  # the runtime's packages ship example notebooks: public, read-only
    assert not any(v for k, v in sol.items() if k.startswith("/")), sol
    assert [p for p in sol["glob"] if not p.startswith(public)] == [], sol["glob"]
    assert sol["SOLUTIONS"] is False, sol
    others = _attack_output(graded, "read_others")
    assert not any(others["seen"].values()), others["seen"]
    blob = " ".join(others["procs"]) + json.dumps(others["env"])
    assert "hunter2" not in blob and "victim" not in blob and str(graded["subs"]) not in blob
    assert SECRET_ENV not in others["env"] and "LABHELPERS_OFFLINE_PORT_BASE" not in others["env"]
    gateway = graded["offline"].get("gateway") or {}
    secret = (gateway.get("auth") or {}).get("password")
    assert not secret or secret not in blob, "the gateway's password reached the sandbox"


def test_forged_export_was_never_unpickled(graded):
    r = _r(graded, "forge_export")
    assert all(t["state"] == "failed" for t in r.tests), r.tests
    assert not Path("/tmp/PWNED").exists()


def test_limits_held(graded):
    assert _attack_output(graded, "memory") == {"memory": "MemoryError"}
    assert 0 < _attack_output(graded, "fork_bomb")["forked"] < 128
    fill = _attack_output(graded, "disk_fill")
    assert fill["/home/student/work"][0] <= 256 and fill["/tmp"][0] <= 256, fill
    assert _attack_output(graded, "children") == {"children": 50}
    executed = graded["out"] / "executed" / _r(graded, "big_output").student / "ex9_mini.ipynb"
    assert executed.stat().st_size < 6_000_000
    assert "output truncated by the grader" in executed.read_text()


def test_network_reaches_only_reads(graded):
    seen = _attack_output(graded, "network")
    assert {seen[k] for k in ("PUT", "DELETE", "POST", "stac_delete", "stac_post_items")} == {403}, seen
    assert not any(v == "CONNECTED" for k, v in seen.items() if k.isdigit()), seen
    net = _r(graded, "network").net
    assert net["denied"] >= 5 and net["allowed"] >= 1, net


def test_files_that_are_not_notebooks_are_refused_safely(graded):
    res = graded["results"]
    assert res["linked_ex9_mini.ipynb"].status == "zero" and "symbolic link" in res["linked_ex9_mini.ipynb"].reason
    assert res["fifo_ex9_mini.ipynb"].status == "zero" and "regular file" in res["fifo_ex9_mini.ipynb"].reason
    assert res["junk_ex9_mini.pdf"].status == "zero" and "not a notebook" in res["junk_ex9_mini.pdf"].reason
    text = "".join(p.read_text() for p in (graded["out"] / "feedback").rglob("*.md"))
    assert "root:x:0:0" not in text


def test_names_are_safe_in_every_output(graded):
    raw = (graded["out"] / "grades.csv").read_text()
    rows = list(csv.reader(raw.splitlines()))
    assert not any(cell[:1] in "=+-@" and cell[:1] for row in rows for cell in row), "a formula cell"
    assert "\x1b" not in raw
    folders = sorted(p.name for p in (graded["out"] / "feedback").iterdir())
    assert all(set(f) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-") for f in folders)
    assert "HYPERLINK_http_x" in folders and "red" in folders and "touch_pwned_rm_-rf" in folders
    assert not (graded["subs"] / "pwned").exists() and not Path("pwned").exists()


def _write_marks(rows: list[dict], path: Path) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_written_pages_and_manual_marks_merge(graded, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(graded["out"], out)
    page = (out / "written" / "ex9_mini_q2.html").read_text()
    assert "Range requests read only the tiles needed." in page and "Rubric" in page
    with open(out / "written" / "marks.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if row["student"] == "written":
            row["marks"], row["comment"] = "1.5", "=good, but name the tiles"
    report.merge_marks(out, _write_marks(rows, tmp_path / "marks.csv"))
    with pytest.raises(ValueError, match="did not answer ex9_mini q2; it can only get 0 marks"):
        report.merge_marks(out, _write_marks([{**rows[0], "student": "blank", "key": "blank", "marks": "1"}],
                                             tmp_path / "unanswered.csv"))
    fb = (out / "feedback" / "written" / "ex9_mini.md").read_text()
    assert "**1.5 / 2**" in fb
    with open(out / "grades.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["student"] == "written")
    assert row["written_marks"] == "1.5" and row["ex9_mini:q2"] != "pending"
    with open(out / "gradebook.csv", newline="") as f:
        book = {r["student"]: r for r in csv.DictReader(f)}
    assert book["written"]["ex9_mini"] == "4.5"
    with open(out / "canvas.csv", newline="") as f:
        canvas = list(csv.reader(f))
    assert canvas[0][:6] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ex9_mini"]
    assert canvas[1][0] == "Points Possible" and canvas[1][5] == "5"
    next(row for row in rows if row["student"] == "written")["marks"] = "9"
    with pytest.raises(ValueError, match="outside 0..2"):
        report.merge_marks(out, _write_marks(rows, tmp_path / "bad.csv"))


def test_manual_marks_through_the_command_line(graded, tmp_path):
    """``labhelpers grade --manual`` merges without grading (and without a stand-in or root)."""
    import subprocess
    import sys

    out = tmp_path / "out"
    shutil.copytree(graded["out"], out)
    with open(out / "written" / "marks.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if row["student"] == "written":
            row["marks"] = "2"
    marks = _write_marks(rows, tmp_path / "marks.csv")
    cli = subprocess.run([sys.executable, "-m", "labhelpers.cli", "grade", "--manual", str(marks), "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    with open(out / "gradebook.csv", newline="") as f:
        assert {r["student"]: r for r in csv.DictReader(f)}["written"]["ex9_mini"] == "5"
