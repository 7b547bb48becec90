"""Start, watch and stop the stand-in's server processes.

Every service of the offline Planetary Computer is a long-lived server that must outlive the
``labhelpers offline up`` command that started it, so each one is started in its **own session**
(``start_new_session=True``): closing the terminal or ending ``up`` does not send it SIGHUP, and
its process id is also its process-group id, so ``down`` can stop the server *and* any children
it forked (the Dask Gateway's proxy, for instance) with one signal to the group.

A started process is remembered as a :class:`Proc`: pid plus the kernel's start time. The start
time is what makes ``down`` safe: process ids are reused, and a pid whose start time differs is
somebody else's process, which ``down`` must never signal.

Waiting is always a *poll of a health check* with a deadline, never a fixed sleep: a server is
ready when it answers, and a server that exits while we wait is reported at once with the tail
of its log, which is almost always where the reason is.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import psutil

from labhelpers_standin.errors import StandinError

__all__ = ["HOST", "Proc", "log_tail", "port_owner", "check_port_free", "as_user", "spawn", "wait_until", "stop",
           "scan"]

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Proc:
    """A server process we started: enough to find it again and to be sure it is still ours."""

    name: str
    pid: int
    create_time: float
    log: str

    def to_dict(self) -> dict:
        """The fields as a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Proc:
        """A Proc from :meth:`to_dict`'s dict (extra keys such as ``port`` are ignored).

        Raises
        ------
        KeyError, TypeError, ValueError
            When ``d`` lacks a field or holds the wrong type.
        """
        return cls(d["name"], int(d["pid"]), float(d["create_time"]), d.get("log", ""))

    def process(self) -> psutil.Process | None:
        """The live process, or None when it has exited or the pid now belongs to another one."""
        try:
            p = psutil.Process(self.pid)
            if abs(p.create_time() - self.create_time) > 0.05 or p.status() == psutil.STATUS_ZOMBIE:
                return None
            return p
        except psutil.Error:
            return None

    def alive(self) -> bool:
        """Whether the process still runs and is the one we started (same start time)."""
        return self.process() is not None


def scan(match: Callable[[list[str], str], str | None]) -> list[Proc]:
    """Live processes that ``match(cmdline, cwd)`` names (returns a server name for), as :class:`Proc`.

    How the stand-in finds its own servers when its records are gone: by their command lines
    and working directories in its own folder, never by a program name alone. This process and
    its ancestors are never returned.

    Parameters
    ----------
    match : callable
        ``(cmdline: list of str, cwd: str) -> str or None``.

    Returns
    -------
    list of Proc
    """
    me = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found = []
    for p in psutil.process_iter(["pid", "cmdline", "cwd", "create_time", "status"]):
        info = p.info
        if info["pid"] in me or info["status"] == psutil.STATUS_ZOMBIE or info["create_time"] is None:
            continue
        name = match(info["cmdline"] or [], info["cwd"] or "")
        if name:
            found.append(Proc(name, info["pid"], info["create_time"], ""))
    return found


def log_tail(path: str | Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a log file, indented, for error messages.

    Parameters
    ----------
    path : str or path
    lines : int, default 25

    Returns
    -------
    str
        ``"    (no log)"`` when the file cannot be read.
    """
    try:
        text = Path(path).read_text(errors="replace").rstrip().splitlines()[-lines:]
    except OSError:
        return "    (no log)"
    return "\n".join("    " + line for line in text) or "    (log is empty)"


def port_owner(port: int) -> str:
    """Describe which process listens on ``port`` (best effort: other users' sockets may be hidden).

    Parameters
    ----------
    port : int

    Returns
    -------
    str
        ``"pid N (command)"`` or ``"another process"``.
    """
    try:
        for c in psutil.net_connections(kind="tcp"):
            if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid:
                p = psutil.Process(c.pid)
                return f"pid {c.pid} ({' '.join(p.cmdline()[:3])[:80]})"
    except psutil.Error:
        pass
    return "another process"


def check_port_free(port: int, what: str, option: str) -> None:
    """Raise a clear :class:`StandinError` when something already listens on 127.0.0.1:``port``.

    SO_REUSEADDR makes the test ignore connections lingering in TIME_WAIT (a server stopped a
    moment ago), which would not stop a real server from binding either.

    Parameters
    ----------
    port : int
    what : str
        The service, for the message (``"STAC API"``).
    option : str
        The command-line option that moves it (``"--stac-port"``).

    Raises
    ------
    StandinError
        When the port is taken; the message names its owner and the option.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            raise StandinError(
                f"Port {port} on {HOST}, wanted for the {what}, is already in use by {port_owner(port)}. "
                f"Stop that process, or choose another port with {option} PORT."
            ) from None


def as_user(user: str | None) -> dict:
    """``subprocess`` keyword arguments that run a child as ``user`` (uid, gid and no extra groups).

    Setting only ``user=`` would keep root's group ids; None means "as ourselves".

    Parameters
    ----------
    user : str or None

    Returns
    -------
    dict
    """
    if user is None:
        return {}
    import pwd

    pw = pwd.getpwnam(user)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def spawn(
    name: str,
    cmd: list[str],
    log: Path,
    *,
    env: dict | None = None,
    cwd: Path | None = None,
) -> Proc:
    """Start ``cmd`` detached in its own session, stdout+stderr to ``log`` (truncated first).

    Parameters
    ----------
    name : str
        The server's name in the records (``"stac"``).
    cmd : list of str
    log : pathlib.Path
    env : dict, optional
    cwd : pathlib.Path, optional

    Returns
    -------
    Proc

    Raises
    ------
    StandinError
        When the program is not found.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        try:
            p = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        except FileNotFoundError as e:
            raise StandinError(f"Cannot start the {name}: {e.filename} not found.") from None
    return Proc(name, p.pid, psutil.Process(p.pid).create_time(), str(log))


def wait_until(
    proc: Proc | None,
    check: Callable[[], bool],
    what: str,
    timeout: float,
    log: str | Path,
    interval: float = 0.1,
) -> None:
    """Poll ``check()`` until it is true; fail early if ``proc`` dies, or after ``timeout`` seconds.

    Exceptions from ``check`` count as "not yet" (a server not listening yet refuses connections).

    Parameters
    ----------
    proc : Proc or None
    check : callable
        ``() -> bool``.
    what : str
    timeout : float
        Seconds.
    log : str or path
    interval : float, default 0.1

    Raises
    ------
    StandinError
        When ``proc`` exits or ``timeout`` passes; the message has the log's last lines.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if proc is not None and not proc.alive():
            raise StandinError(f"The {what} exited during start-up. Last lines of {log}:\n{log_tail(log)}")
        if time.monotonic() > deadline:
            raise StandinError(
                f"The {what} did not become healthy within {timeout:.0f} s. Last lines of {log}:\n{log_tail(log)}"
            )
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


def stop(proc: Proc, grace: float = 10.0) -> bool:
    """Stop ``proc`` and its process group: SIGTERM, then SIGKILL after ``grace`` seconds.

    A stopped (SIGSTOP) process is sent SIGCONT after SIGTERM, so that it can act on it.

    Parameters
    ----------
    proc : Proc
    grace : float, default 10.0

    Returns
    -------
    bool
        False when the process was already gone (or the pid is no longer ours).
    """
    p = proc.process()
    if p is None:
        return False
    # Its group, plus descendants that started sessions of their own (the gateway's proxy, its
    # schedulers and workers): the server stops those itself on SIGTERM, and we wait for that.
    group = {*_group_members(proc.pid), *p.children(recursive=True), p}
    _signal_group(proc.pid, signal.SIGTERM, p)
    _signal_group(proc.pid, signal.SIGCONT, p)  # a frozen server cannot act on SIGTERM until it runs again
    if not _wait_gone(group, grace):
        _signal_group(proc.pid, signal.SIGKILL, p)
        for q in group:
            try:
                q.kill()
            except psutil.Error:
                pass
        _wait_gone(group, 5)
    return True


def _gone(p: psutil.Process) -> bool:
    try:
        return p.status() == psutil.STATUS_ZOMBIE  # exited; its new parent has not reaped it yet
    except psutil.Error:
        return True


def _wait_gone(procs: set[psutil.Process], timeout: float) -> bool:
    """Poll until every process has exited (a zombie counts: it is not ours to reap)."""
    deadline = time.monotonic() + timeout
    while not all(_gone(p) for p in procs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for q in psutil.process_iter():
        try:
            if os.getpgid(q.pid) == pgid:
                members.append(q)
        except (OSError, psutil.Error):
            continue
    return members


def _signal_group(pgid: int, sig: int, leader: psutil.Process | None = None) -> None:
    """Signal the process group ``pgid``; when ``leader`` does not lead a group of its own, only it."""
    try:
        if leader is not None and os.getpgid(leader.pid) != pgid:
            leader.send_signal(sig)
        else:
            os.killpg(pgid, sig)
    except (ProcessLookupError, psutil.Error):
        pass
