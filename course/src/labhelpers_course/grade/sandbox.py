"""Run one command in a bubblewrap sandbox as an unprivileged user, with limits, and kill all of it.

Why this shape (each point checked on Debian 12, bubblewrap 0.8.0, as root):

* **Drop to the unprivileged uid first, then bwrap.** ``setpriv --reuid=U ... -- bwrap
  --unshare-user``: bwrap then builds an unprivileged user namespace mapping U to U, so every file
  the sandbox creates on the host is owned by U and root's files (even one bound read-write by
  mistake) stay unwritable. The other way round, ``bwrap --unshare-user --uid U --cap-drop ALL``
  run *as root* only relabels the user: its namespace maps to host uid 0 and it can append to a
  root-owned file in a bind (``tests/services/test_grading_sandbox.py`` shows it).
* **A dedicated uid per concurrent sandbox** (not ``nobody``): ``RLIMIT_NPROC`` counts every
  process of the real uid, and a sweep of that uid after the run (:func:`kill_uid`) kills
  anything left without touching anyone else's processes.
* **New namespaces for everything** (``--unshare-all``: user, pid, net, ipc, uts, cgroup): its own
  ``/proc`` (no other process's environment or command line), only a loopback network,
  ``--die-with-parent``, ``--new-session`` (no TIOCSTI into our terminal). When the sandbox's PID 1
  ends, the kernel kills every process of the namespace.
* **Nothing writable but what is given**: read-only ``/usr``, a few ``/etc`` files, the binds
  listed; ``/`` and ``/dev`` remounted read-only (bwrap's ``/dev`` is otherwise a writable tmpfs
  the size of RAM); size-capped tmpfs for ``/tmp``, ``/dev/shm`` and the home folder.
* **Limits** with ``prlimit`` (hard = soft, so the sandbox cannot raise them): address space per
  process, processes of the uid, file size, open files, no core dumps. The wall time is enforced
  here by killing the sandbox; the writable work folder is a fixed-size tmpfs mounted by the
  grader (:func:`mounted_tmpfs`), so a full disk is impossible.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from labhelpers_course.errors import SandboxError

__all__ = ["MiB", "GiB", "Limits", "Bind", "Spec", "Outcome", "command", "run", "check_available",
           "processes_of", "kill_uid", "mounted_tmpfs"]

MiB = 1024 ** 2
GiB = 1024 ** 3

#: ``/etc`` entries a Python + GDAL kernel needs (linker cache, time zone, fonts), bound read-only
#: when they exist. Nothing else of ``/etc`` is visible.
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts", "mime.types", "nsswitch.conf")
#: Top-level links of a merged-/usr system (``/bin -> usr/bin`` ...), recreated inside.
_USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_SUDO_HINT = "run it with sudo, e.g. `sudo .venv/bin/labhelpers grade SUBMISSIONS_DIR`"


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox; each ends in a reason, never in a stopped grader.

    Attributes
    ----------
    wall_seconds : float
        The whole run; the sandbox is killed after it.
    address_space : int
        ``RLIMIT_AS`` per process, bytes (virtual memory: threads reserve a lot, keep it generous).
    processes : int
        ``RLIMIT_NPROC`` of the sandbox uid (threads count too).
    file_size : int
        ``RLIMIT_FSIZE``: the largest single file written, bytes.
    open_files : int
        ``RLIMIT_NOFILE``.
    tmp_size : int
        Size of each of the ``/tmp``, ``/dev/shm`` and home tmpfs, bytes.
    output_bytes : int
        Kept of the sandbox's own stdout and stderr, each.
    """

    wall_seconds: float = 900.0
    address_space: int = 8 * GiB
    processes: int = 256
    file_size: int = 1 * GiB
    open_files: int = 1024
    tmp_size: int = 256 * MiB
    output_bytes: int = 1 * MiB


@dataclass(frozen=True)
class Bind:
    """One host path made visible inside: ``src`` (host) at ``dest`` (sandbox), read-only unless ``writable``."""

    src: Path
    dest: str
    writable: bool = False


@dataclass
class Spec:
    """Everything that defines one sandboxed command.

    ``forbidden`` lists host paths no bind may overlap (the tests, the solutions, the outputs):
    a last check against a bind added by mistake.
    """

    argv: list[str]
    uid: int
    gid: int
    binds: list[Bind] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: str = "/"
    home: str = "/home/student"
    limits: Limits = field(default_factory=Limits)
    forbidden: list[Path] = field(default_factory=list)


@dataclass
class Outcome:
    """How a sandboxed command ended. ``returncode`` is None when it was killed at its wall time."""

    returncode: int | None
    timed_out: bool
    seconds: float
    stdout: bytes
    stderr: bytes
    leftover_killed: int = 0


def _overlaps(a: Path, b: Path) -> bool:
    return a == b or a in b.parents or b in a.parents


def _check_binds(spec: Spec) -> None:
    for bind in spec.binds:
        src = bind.src.resolve()
        if not src.exists():
            raise SandboxError(f"The sandbox's bind source {src} does not exist.")
        for bad in spec.forbidden:
            if _overlaps(src, bad.resolve()):
                raise SandboxError(f"Refusing to show {src} in a sandbox: it overlaps {bad}, which submissions must "
                                   "never see. Keep grading's run folders apart from solutions, tests and outputs.")
        if not bind.dest.startswith("/") or ".." in Path(bind.dest).parts:
            raise SandboxError(f"Bind destination {bind.dest!r} must be an absolute path without '..'.")


def command(spec: Spec) -> list[str]:
    """The full command line: ``prlimit ... -- setpriv ... -- bwrap ... -- argv``.

    Parameters
    ----------
    spec : Spec

    Returns
    -------
    list of str

    Raises
    ------
    SandboxError
        A bind source is missing, overlaps a forbidden path, or has a bad destination.
    """
    _check_binds(spec)
    lim = spec.limits
    cmd = ["prlimit", f"--as={lim.address_space}", f"--nproc={lim.processes}", f"--fsize={lim.file_size}",
           f"--nofile={lim.open_files}", "--core=0", "--",
           "setpriv", f"--reuid={spec.uid}", f"--regid={spec.gid}", "--clear-groups", "--inh-caps=-all",
           "--bounding-set=-all", "--no-new-privs", "--",
           "bwrap", "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent",
           "--new-session", "--hostname", "sandbox", "--clearenv"]
    for key, value in sorted(spec.env.items()):
        cmd += ["--setenv", key, value]
    cmd += ["--ro-bind", "/usr", "/usr"]
    for name in _USR_LINKS:
        link = Path("/") / name
        if link.is_symlink():
            cmd += ["--symlink", os.readlink(link), f"/{name}"]
        elif link.is_dir():
            cmd += ["--ro-bind", str(link), f"/{name}"]
    for name in _ETC:
        if (Path("/etc") / name).exists():
            cmd += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--size", str(lim.tmp_size), "--tmpfs", "/dev/shm",
            "--size", str(lim.tmp_size), "--tmpfs", "/tmp",
            "--size", str(lim.tmp_size), "--tmpfs", spec.home]
    for bind in spec.binds:
        cmd += ["--bind" if bind.writable else "--ro-bind", str(bind.src), bind.dest]
    cmd += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", spec.cwd, "--", *spec.argv]
    return cmd


def _drain(stream, limit: int, into: list[bytes]) -> None:
    """Read ``stream`` to its end, keeping its first ``limit`` bytes (the rest is read and dropped)."""
    kept = 0
    while chunk := stream.read(65536):
        if kept < limit:
            into.append(chunk[: limit - kept])
            kept += len(into[-1])
    stream.close()


def processes_of(uid: int) -> list[int]:
    """PIDs of every live process on the host whose real uid is ``uid`` (zombies left out).

    Parameters
    ----------
    uid : int

    Returns
    -------
    list of int
    """
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as f:
                for line in f:
                    if line.startswith("State:") and line.split()[1] in ("Z", "X"):
                        break
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(entry.name))
                        break
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return pids


def kill_uid(uid: int, rounds: int = 50) -> int:
    """SIGKILL every process of the sandbox ``uid`` until none is left.

    Parameters
    ----------
    uid : int
        A sandbox uid (ours by construction; never below 1000).
    rounds : int, default 50
        Sweeps, 50 ms apart (a process may fork while we sweep).

    Returns
    -------
    int
        How many processes were killed.

    Raises
    ------
    SandboxError
        ``uid`` is a system uid, or its processes keep coming back.
    """
    if uid < 1000:
        raise SandboxError(f"Refusing to kill the processes of system uid {uid}: sandbox uids start at 1000.")
    killed = 0
    for _ in range(rounds):
        pids = processes_of(uid)
        if not pids:
            return killed
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        time.sleep(0.05)
    raise SandboxError(f"Processes of sandbox uid {uid} keep reappearing ({processes_of(uid)[:5]}); stop them by hand "
                       f"(`pkill -KILL -u {uid}`) and grade again.")


def run(spec: Spec) -> Outcome:
    """Run ``spec`` to its end or its wall time; afterwards no process of ``spec.uid`` is left.

    Parameters
    ----------
    spec : Spec

    Returns
    -------
    Outcome

    Raises
    ------
    SandboxError
        ``spec.uid`` already has processes (another grading run, or a real account: pass another
        ``--sandbox-uid``), or the command line is invalid (see :func:`command`).
    """
    busy = processes_of(spec.uid)
    if busy:
        raise SandboxError(f"Sandbox uid {spec.uid} already has processes ({busy[:5]}): another grading run uses it, "
                           "or it is a real account. Pass another --sandbox-uid.")
    cmd = command(spec)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, start_new_session=True, cwd="/")
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [threading.Thread(target=_drain, args=(proc.stdout, spec.limits.output_bytes, out), daemon=True),
               threading.Thread(target=_drain, args=(proc.stderr, spec.limits.output_bytes, err), daemon=True)]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        proc.wait(timeout=spec.limits.wall_seconds)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        # bwrap first (its --die-with-parent child, PID 1 inside, follows and takes the namespace
        # with it), then anything of the uid that is somehow still alive.
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        leftover = kill_uid(spec.uid)
    for reader in readers:
        reader.join(timeout=5)
    return Outcome(None if timed_out else proc.returncode, timed_out, time.monotonic() - t0,
                   b"".join(out), b"".join(err), leftover)


@contextlib.contextmanager
def mounted_tmpfs(path: Path, size: int, uid: int, gid: int):
    """Mount a tmpfs of ``size`` bytes at ``path``, owned by ``uid`` (a sandbox's writable folder).

    A fixed-size tmpfs turns "fill the disk" into ENOSPC inside the sandbox. It is unmounted
    (lazily: nothing of the sandbox may hold it any more) and removed on exit.

    Parameters
    ----------
    path : pathlib.Path
    size : int
        Bytes.
    uid, gid : int

    Yields
    ------
    pathlib.Path
        ``path``.

    Raises
    ------
    SandboxError
        ``mount`` failed (no CAP_SYS_ADMIN, e.g. not root or an unprivileged container).
    """
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700,uid={uid},gid={gid},nosuid,nodev",
                        "labhelpers-grade", str(path)], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise SandboxError(f"Cannot mount the submission's work folder (tmpfs) at {path}: {r.stderr.strip()}. "
                           f"Grading needs root with CAP_SYS_ADMIN: {_SUDO_HINT}.")
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], capture_output=True, timeout=60)
        with contextlib.suppress(OSError):
            path.rmdir()


def check_available() -> None:
    """Check that this machine can sandbox submissions: root, bwrap, setpriv, prlimit, user namespaces.

    Grading never falls back to running a submission unsandboxed: without these it refuses.

    Raises
    ------
    SandboxError
        Saying what is missing and how to get it.
    """
    if os.geteuid() != 0:
        raise SandboxError("Grading needs root: it runs every submission as an unprivileged user of its own in a "
                           "bubblewrap sandbox (switching users needs root) and gives it a fixed-size tmpfs (mounting "
                           f"needs root). It never grades without that sandbox; {_SUDO_HINT}.")
    for tool, package in (("bwrap", "bubblewrap"), ("setpriv", "util-linux"), ("prlimit", "util-linux"),
                          ("mount", "mount")):
        if shutil.which(tool) is None:
            raise SandboxError(f"{tool} is not installed: `apt-get install {package}` (or `make setup`).")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--", "bwrap",
                        "--unshare-all", "--unshare-user", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib",
                        "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin", "--",
                        "/usr/bin/true"], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise SandboxError(f"bubblewrap cannot create an unprivileged user namespace here ({r.stderr.strip()}). "
                           "Enable them (sysctl user.max_user_namespaces > 0, kernel.unprivileged_userns_clone=1 "
                           "where it exists), or in a container allow clone(CLONE_NEWUSER) in its seccomp profile.")
