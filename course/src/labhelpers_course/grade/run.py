"""The two sandboxed steps of grading one submission: run the notebook, then run the tests.

:func:`run_notebook`: the submission runs in its sandbox (:mod:`.sandbox`) as the student uid U,
with the network filter (``programs/netfilter.py``, as uid U+1) as its only way out. It sees
read-only ``/usr``, the student runtime, the grader's programs, a made-up ``/etc/passwd``, the
stand-in's two URLs (a state file holding nothing else), the filter's sockets, and its own work
folder: a fixed-size tmpfs holding only its copy of the notebook. It does *not* see other
submissions, the tests, the solutions, the truth, the grader's outputs, the instructor's home,
the stand-in's keys or processes. Afterwards the grader copies what it needs out of the work
folder without following links and within size caps, and unmounts it.

:func:`run_tests`: the tests run in a second sandbox as uid U+2, without network and without any
student process, on private copies of the tests, the truth and the export, each checked against
the checksum taken when grading started; the report is its stdout.

One run folder (``run_dir``, root's, mode 0711: the sandbox uids traverse it, nobody lists it)::

    sys/      passwd, group, hosts, config.json, standin/state.json    (read-only in the sandbox)
    net/      stac.sock, blob.sock                                      (the filter's sockets)
    work/     tmpfs: the submission's only writable folder
    out/      executed.ipynb, export/                                   (copied out, root's)
    private/  tests/, truth.json, export/, testrun.json                 (uid U+2; never in the student sandbox)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from labhelpers_course.errors import GradingError, SandboxError
from labhelpers_course.grade import sandbox as sb
from labhelpers_course.grade.exercise import checksums
from labhelpers_course.grade.programs import netfilter

__all__ = ["Machine", "Standin", "NotebookRun", "FilterStats", "run_notebook", "run_tests"]

HOME = "/home/student"
WORK = f"{HOME}/work"
#: The grader's programs inside both sandboxes.
PROGRAMS = "/opt/labhelpers-grade"
_OUT = ".grading"
_EXPORT_FILE = re.compile(r"manifest\.json|v[0-9]{1,6}\.npy")


@dataclass
class Machine:
    """How this grading run sandboxes: the runtime, the programs, the uids, the limits.

    ``uid`` runs the submission, ``uid + 1`` the network filter, ``uid + 2`` the tests; one
    triple per concurrent grading run.
    """

    runtime: Path  # the student runtime (a venv readable by every account)
    programs: Path  # the copied ``programs/`` folder, readable by every account
    uid: int = 64000
    limits: sb.Limits = field(default_factory=sb.Limits)
    test_limits: sb.Limits = field(default_factory=lambda: sb.Limits(wall_seconds=300, processes=64))
    work_bytes: int = 2 * sb.GiB
    output_cap: int = 5_000_000  # bytes of cell outputs kept in the executed notebook
    executed_max: int = 20_000_000  # a larger executed notebook is refused
    forbidden: list[Path] = field(default_factory=list)

    @property
    def python(self) -> str:
        return str(self.runtime / "bin" / "python")


@dataclass
class Standin:
    """The stand-in as grading needs it: two URLs, its truth, a health check, a restart."""

    stac_url: str
    blob_url: str  # with "{account}"
    truth: Path  # the served archive's manifest.json
    healthy: Callable[[], bool] = lambda: True
    restart: Callable[[], None] | None = None


@dataclass
class FilterStats(netfilter.Stats):
    """The network filter's statistics of one run: the fields its program reports (``programs/netfilter.py``)."""

    @property
    def failed(self) -> bool:
        """The stand-in failed this run (refused, timed out or answered 5xx)."""
        return bool(self.upstream_failures or self.upstream_5xx)


@dataclass
class NotebookRun:
    """What came out of one sandboxed run; everything but ``sandbox`` and ``net`` is untrusted."""

    sandbox: sb.Outcome
    net: FilterStats
    status: dict | None  # the driver's status.json; None when missing or unreadable
    executed: bytes | None
    executed_size: int
    export: Path
    problems: list[str] = field(default_factory=list)  # what the copy-out refused


def _write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def _port(url: str) -> int:
    parts = urlsplit(url.replace("{account}", "account"))
    if parts.hostname not in ("127.0.0.1", "localhost"):
        raise GradingError(f"The stand-in URL {url} is not on 127.0.0.1: grading uses the local stand-in "
                           "(`labhelpers offline up`).")
    return parts.port or 80


def _env(extra: dict) -> dict[str, str]:
    return {"HOME": HOME, "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "TMPDIR": "/tmp", "MPLBACKEND": "agg", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "MALLOC_ARENA_MAX": "2", "JUPYTER_PLATFORM_DIRS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1", **extra}


def _read_at(dir_fd: int, name: str, cap: int) -> tuple[bytes | None, int, str]:
    """(bytes, size, problem) of the regular file ``name`` in ``dir_fd``; never follows a link."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except FileNotFoundError:
        return None, 0, ""
    except OSError as err:
        return None, 0, f"{name}: {err.strerror}"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, 0, f"{name} is not a regular file"
        if st.st_size > cap:
            return None, st.st_size, f"{name} is {st.st_size} bytes (limit {cap})"
        data = os.read(fd, cap + 1)
        while len(data) <= cap and (more := os.read(fd, cap + 1 - len(data))):
            data += more
        return (None, len(data), f"{name} grew past {cap} bytes") if len(data) > cap else (data, len(data), "")
    finally:
        os.close(fd)


def _open_dir(name: str, dir_fd: int | None = None) -> int | None:
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None


def _copy_out(work: Path, out: Path, machine: Machine) -> tuple[dict | None, bytes | None, int, list[str]]:
    """Copy the status, the executed notebook and the export out of the work folder, safely."""
    problems: list[str] = []
    export = out / "export"
    export.mkdir(parents=True)
    status, executed, size = None, None, 0
    wfd = _open_dir(str(work))
    gfd = _open_dir(_OUT, wfd) if wfd is not None else None
    try:
        if gfd is None:
            return None, None, 0, [f"no {_OUT} folder"]
        raw, _, problem = _read_at(gfd, "status.json", 65536)
        problems += [problem] if problem else []
        try:
            status = json.loads(raw) if raw else None
            status = status if isinstance(status, dict) else None
        except ValueError:
            problems.append("status.json is not JSON")
        executed, size, problem = _read_at(gfd, "executed.ipynb", machine.executed_max)
        problems += [problem] if problem else []
        efd = _open_dir("export", gfd)
        if efd is not None:
            try:
                budget = 2 * sb.GiB
                for name in sorted(os.listdir(efd))[:10000]:
                    if not _EXPORT_FILE.fullmatch(name):
                        continue
                    data, n, problem = _read_at(efd, name, budget)
                    if data is None:
                        problems += [problem] if problem else []
                        continue
                    budget -= n
                    (export / name).write_bytes(data)
            finally:
                os.close(efd)
    finally:
        for fd in (gfd, wfd):
            if fd is not None:
                os.close(fd)
    return status, executed, size, problems


class _Filter:
    """The network filter as a child process running as its own unprivileged uid."""

    def __init__(self, routes: list[dict], folder: Path, machine: Machine):
        self.routes, self.folder, self.machine = routes, folder, machine
        self.uid = machine.uid + 1
        self.stats = FilterStats()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "_Filter":
        if sb.processes_of(self.uid):
            raise SandboxError(f"The network filter's uid {self.uid} already has processes: another grading run uses "
                               "it. Pass another --sandbox-uid.")
        config = _write(self.folder / "netfilter.json", json.dumps({"routes": self.routes}))
        os.chown(self.folder, self.uid, self.uid)
        cmd = ["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--inh-caps=-all",
               "--bounding-set=-all", "--no-new-privs", "--", self.machine.python,
               str(self.machine.programs / "netfilter.py"), str(config)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, cwd="/", start_new_session=True,
                                     env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"})
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            self.proc.kill()
            err = self.proc.stderr.read()[-2000:]
            self.proc.wait()
            sb.kill_uid(self.uid)
            raise SandboxError(f"The grading network filter did not start ({line or 'no output'}): {err}")
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=20)
            self.stats = FilterStats(**json.loads(out.strip().splitlines()[-1]))
        except (subprocess.TimeoutExpired, ValueError, IndexError, TypeError):
            self.proc.kill()
            self.proc.wait()
            self.stats = FilterStats(upstream_failures=1, failure_samples=["the network filter did not report"])
        sb.kill_uid(self.uid)


def run_notebook(nb_text: str, notebook_name: str, export_names: list[str], machine: Machine, standin: Standin,
                 run_dir: Path) -> NotebookRun:
    """Run one submission's (parameterised) notebook in its sandbox; see the module docstring.

    Parameters
    ----------
    nb_text : str
        The notebook, parameters already injected.
    notebook_name : str
        Its file name in the work folder (``grader = otter.Notebook("ex1_ndsi.ipynb")`` reads it).
    export_names : list of str
        The variables the tests take.
    machine : Machine
    standin : Standin
    run_dir : pathlib.Path
        A new folder (created here, mode 0711).

    Returns
    -------
    NotebookRun

    Raises
    ------
    SandboxError
        The sandbox or the filter could not be set up (the grader's problem).
    """
    run_dir.mkdir(parents=True, mode=0o711)
    run_dir.chmod(0o711)
    uid = machine.uid
    sysd = run_dir / "sys"
    _write(sysd / "passwd", f"student:x:{uid}:{uid}:student:{HOME}:/usr/sbin/nologin\n")
    _write(sysd / "group", f"student:x:{uid}:\n")
    _write(sysd / "hosts", "127.0.0.1 localhost sandbox\n::1 localhost\n")
    # Until labhelpers.settings works from LABHELPERS_STAC_URL / LABHELPERS_BLOB_URL alone, a state
    # file holding only the URLs (no keys, no ports of PostgreSQL or the gateway).
    _write(sysd / "standin" / "state.json", json.dumps({
        "version": 1, "stac_url": standin.stac_url, "blob_url": standin.blob_url, "gateway": None}))
    stac_port, blob_port = _port(standin.stac_url), _port(standin.blob_url)
    _write(sysd / "config.json", json.dumps({
        "work": WORK, "notebook": notebook_name, "export": export_names,
        "cell_budget": max(5, machine.limits.wall_seconds - 15), "output_cap": machine.output_cap,
        "forward": {str(stac_port): "/run/net/stac.sock", str(blob_port): "/run/net/blob.sock"}}))
    net = run_dir / "net"
    net.mkdir(mode=0o711)
    blob_root = urlsplit(standin.blob_url.replace("{account}", "")).netloc
    routes = [{"name": "stac", "socket": str(net / "stac.sock"), "upstream": standin.stac_url},
              {"name": "blob", "socket": str(net / "blob.sock"), "upstream": f"http://{blob_root}"}]
    out = run_dir / "out"
    out.mkdir(mode=0o700)
    with sb.mounted_tmpfs(run_dir / "work", machine.work_bytes, uid, uid) as work:
        (work / notebook_name).write_text(nb_text)
        os.chown(work / notebook_name, uid, uid)
        spec = sb.Spec(
            argv=[machine.python, f"{PROGRAMS}/driver.py", "/run/grading/config.json"],
            uid=uid, gid=uid, cwd=WORK, home=HOME, limits=machine.limits, forbidden=machine.forbidden,
            env=_env({"PATH": f"{machine.runtime}/bin:/usr/bin:/bin", "LABHELPERS_PROFILE": "offline",
                      "LABHELPERS_OFFLINE_DIR": "/run/standin", "LABHELPERS_STAC_URL": standin.stac_url,
                      "LABHELPERS_BLOB_URL": standin.blob_url, "LABHELPERS_GATEWAY_ADDRESS": ""}),
            binds=[sb.Bind(machine.runtime, str(machine.runtime)), sb.Bind(machine.programs, PROGRAMS),
                   sb.Bind(sysd / "passwd", "/etc/passwd"), sb.Bind(sysd / "group", "/etc/group"),
                   sb.Bind(sysd / "hosts", "/etc/hosts"), sb.Bind(sysd / "config.json", "/run/grading/config.json"),
                   sb.Bind(sysd / "standin", "/run/standin"), sb.Bind(net, "/run/net"),
                   sb.Bind(work, WORK, writable=True)])
        with _Filter(routes, net, machine) as filt:
            outcome = sb.run(spec)
        status, executed, size, problems = _copy_out(work, out, machine)
    return NotebookRun(outcome, filt.stats, status, executed, size, out / "export", problems)


def run_tests(tests_dir: Path, truth: Path, export: Path, names: list[str], machine: Machine, run_dir: Path,
              truth_hooks: list[list[str]], expected: dict[str, str]) -> tuple[dict | None, sb.Outcome]:
    """Run ``tests_dir``'s otter tests on the copied ``export`` in the tests sandbox.

    Parameters
    ----------
    tests_dir : pathlib.Path
        The exercise's private tests.
    truth : pathlib.Path
        The served archive's ``manifest.json``.
    export : pathlib.Path
        The values copied out of the submission's sandbox.
    names : list of str
        The variables to load.
    machine : Machine
    run_dir : pathlib.Path
        A new folder for this step.
    truth_hooks : list of [module, function]
        What hidden tests call for the truth (see ``programs/testrun.py``).
    expected : dict of str to str
        ``{"tests/<file>" | "truth.json": sha256}`` taken when grading started.

    Returns
    -------
    (dict or None, sandbox.Outcome)
        The report (None when unreadable) and how the sandbox ended.

    Raises
    ------
    GradingError
        A private copy does not match its checksum.
    """
    tests_uid = machine.uid + 2
    run_dir.mkdir(parents=True, mode=0o711)
    run_dir.chmod(0o711)
    private = run_dir / "private"
    private.mkdir(mode=0o700)
    shutil.copytree(tests_dir, private / "tests")
    shutil.copyfile(truth, private / "truth.json")
    got = {f"tests/{k}": v for k, v in checksums(private / "tests").items()}
    got["truth.json"] = checksums(private)["truth.json"]
    if got != expected:
        raise GradingError(f"The private copy of the tests or the truth in {private} does not match its checksum "
                           "taken when grading started (changed under the grader): grading stopped. Grade again.")
    shutil.copytree(export, private / "export")
    _write(private / "testrun.json", json.dumps({
        "tests": "/run/tests", "export": "/run/export", "truth": "/run/truth.json", "names": names,
        "truth_hooks": truth_hooks, "case_timeout": 60}))
    for path in [private, *private.rglob("*")]:
        os.chown(path, tests_uid, tests_uid, follow_symlinks=False)
    spec = sb.Spec(
        argv=[machine.python, f"{PROGRAMS}/testrun.py", "/run/testrun.json"],
        uid=tests_uid, gid=tests_uid, cwd="/tmp", home=HOME, limits=machine.test_limits,
        forbidden=machine.forbidden,
        env=_env({"PATH": f"{machine.runtime}/bin:/usr/bin:/bin"}),
        binds=[sb.Bind(machine.runtime, str(machine.runtime)), sb.Bind(machine.programs, PROGRAMS),
               sb.Bind(private / "tests", "/run/tests"), sb.Bind(private / "truth.json", "/run/truth.json"),
               sb.Bind(private / "testrun.json", "/run/testrun.json"), sb.Bind(private / "export", "/run/export")])
    outcome = sb.run(spec)
    try:
        report = json.loads(outcome.stdout)
    except ValueError:
        report = None
    return report if isinstance(report, dict) else None, outcome
