"""PostgreSQL + PostGIS for the local STAC API: create the cluster once, start it, stop it.

pgstac (the database schema behind MPC's STAC API) lives in PostgreSQL with PostGIS, so the
stand-in runs a real server from the Debian packages. Three things make that less obvious
than ``pg_ctl start``:

* **PostgreSQL refuses to run as root.** When we are root (containers, CI) every server
  command runs as the unprivileged ``postgres`` account that Debian's package creates, and
  the data directory ``offline_dir()/pgdata`` is owned by it (mode 0700, as PostgreSQL
  demands). That account must also be able to *traverse* every parent folder, which a home
  directory with mode 0700 forbids; we check that up front and say which folder is in the way.
* **Only TCP on 127.0.0.1.** Unix sockets are switched off (no dependency on
  ``/var/run/postgresql``, no socket-path length limits) and the server listens on loopback
  only, with password (SCRAM) authentication. The password is generated at ``initdb`` and kept
  in ``offline_dir()/postgres.secret`` (mode 0600); it is never printed.
* **Durability is traded for speed where it is safe**: ``synchronous_commit=off`` can lose the
  last commits after a crash but never corrupts the cluster, and the database is only a cache
  of the archive that ``catalog.load`` re-creates whenever it differs.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import stat
import subprocess
from pathlib import Path
from urllib.parse import quote

import psutil

from labhelpers_standin.errors import StandinError
from labhelpers_standin.processes import HOST, Proc, as_user, log_tail, wait_until
from labhelpers_standin.state import offline_dir

__all__ = ["home", "pgdata", "bindir", "password", "dsn", "start", "healthy", "stop_server"]

SUPERUSER = "labhelpers"
DATABASE = "pgstac"
SETUP_HINT = "Install them with `make setup` (or `bash scripts/setup.sh`), which installs Debian's postgresql and postgis packages."

# Written into the data directory and included from postgresql.conf: what this server is for.
CONF = """\
# Written by labhelpers_standin.servers.postgres: a loopback-only server for the local STAC API.
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 40
shared_buffers = 128MB
synchronous_commit = off
log_min_messages = warning
"""


def home() -> Path:
    """Where PostgreSQL's own files live: its data directory, its log, the one-time password file.

    Normally the offline folder. But the server runs as the unprivileged ``postgres`` account
    when we are root, and that account cannot enter a checkout under, say, ``/root``; then its
    files go to ``/var/tmp/labhelpers-postgres-<key>`` (``/var/tmp`` is open to every account and
    survives reboots), keyed by the offline folder so two checkouts never share a database.

    Returns
    -------
    pathlib.Path
    """
    folder = offline_dir()
    user = run_as()
    if user is None or _reachable(folder, user):
        return folder
    key = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    fallback = Path("/var/tmp") / f"labhelpers-postgres-{key}"
    fallback.mkdir(mode=0o755, exist_ok=True)
    return fallback


def pgdata() -> Path:
    """The data directory, ``home() / "pgdata"``.

    Returns
    -------
    pathlib.Path
    """
    return home() / "pgdata"


def bindir() -> Path:
    """The newest PostgreSQL server bin folder (Debian: /usr/lib/postgresql/<major>/bin), or PATH.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    StandinError
        When no ``initdb`` is found; the message says how to install it.
    """
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if candidates:
        return candidates[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise StandinError(f"PostgreSQL server programs (initdb, pg_ctl) were not found. {SETUP_HINT}")


def check_postgis(bin_: Path) -> None:
    """Fail early, with the fix, when PostGIS is not installed for this PostgreSQL (pgstac needs it).

    Parameters
    ----------
    bin_ : pathlib.Path
        From :func:`bindir`.

    Raises
    ------
    StandinError
    """
    sharedir = subprocess.run([bin_ / "pg_config", "--sharedir"], capture_output=True, text=True).stdout.strip()
    candidates = [Path(sharedir)] if sharedir else []
    candidates.append(Path("/usr/share/postgresql") / bin_.parent.name)
    if not any((d / "extension" / "postgis.control").exists() for d in candidates):
        raise StandinError(f"PostGIS is not installed for PostgreSQL {bin_.parent.name}. {SETUP_HINT}")


def run_as() -> str | None:
    """The account server commands run as: ``postgres`` when we are root, else ourselves (None).

    Returns
    -------
    str or None

    Raises
    ------
    StandinError
        When we are root and there is no ``postgres`` account.
    """
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise StandinError(
            "Running as root, and PostgreSQL refuses to run as root, but there is no unprivileged "
            f"'postgres' account to run it as. {SETUP_HINT}"
        ) from None
    return "postgres"


def _traversable(path: Path, uid: int, gids: set[int]) -> bool:
    st = path.stat()
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in gids:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _reachable(path: Path, user: str) -> bool:
    """Whether ``user`` can enter every existing folder on the way to ``path`` (and ``path`` itself)."""
    pw = pwd.getpwnam(user)
    gids = {pw.pw_gid, *os.getgrouplist(user, pw.pw_gid)}
    return all(_traversable(p, pw.pw_uid, gids) for p in [*reversed(path.parents), path] if p.exists())


def _run(cmd: list, user: str | None, what: str, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, cwd="/", **as_user(user), **kw
    )
    if r.returncode != 0:
        raise StandinError(f"{what} failed (exit {r.returncode}):\n{(r.stdout + r.stderr).strip()}")
    return r


def _secret_file() -> Path:
    return offline_dir() / "postgres.secret"


def password() -> str:
    """The superuser's password, generated at ``initdb`` (never print it).

    Returns
    -------
    str
    """
    return _secret_file().read_text().strip()


def dsn(port: int, database: str = DATABASE) -> str:
    """The connection string (with the password: keep it out of logs and messages).

    Parameters
    ----------
    port : int
    database : str, default "pgstac"

    Returns
    -------
    str
    """
    return f"postgresql://{SUPERUSER}:{quote(password())}@{HOST}:{port}/{database}"


def initdb(bin_: Path, user: str | None) -> None:
    """Create the cluster in ``pgdata()`` once: superuser ``labhelpers`` with a generated password.

    Parameters
    ----------
    bin_ : pathlib.Path
        From :func:`bindir`.
    user : str or None
        From :func:`run_as`.

    Raises
    ------
    StandinError
        When ``initdb`` fails (nothing half-made is left).
    """
    data = pgdata()
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    secret = _secret_file()
    pwfile = home() / "postgres.pwfile"  # read by initdb (as `user`), removed right after
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(24))
    try:
        shutil.copyfile(secret, pwfile)
        os.chmod(pwfile, 0o600)
        if user is not None:
            pw = pwd.getpwnam(user)
            os.chown(data, pw.pw_uid, pw.pw_gid)
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        os.chmod(data, 0o700)
        _run(
            [bin_ / "initdb", "-D", data, "-U", SUPERUSER, f"--pwfile={pwfile}", "-E", "UTF8",
             "--no-locale", "--auth-local=scram-sha-256", "--auth-host=scram-sha-256"],
            user, "initdb",
        )
    except BaseException:
        shutil.rmtree(data, ignore_errors=True)
        raise
    finally:
        pwfile.unlink(missing_ok=True)
    with open(data / "postgresql.conf", "a") as f:
        f.write("\ninclude_if_exists = 'labhelpers.conf'\n")


def postmaster_pid() -> int | None:
    """The pid recorded in ``postmaster.pid`` when that process is alive.

    Returns
    -------
    int or None
    """
    try:
        pid = int((pgdata() / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    return pid if psutil.pid_exists(pid) else None


def start(port: int, log: Path) -> Proc:
    """initdb if needed, then start the server on 127.0.0.1:``port`` and wait until it accepts connections.

    A server still running on our data directory (the leftover of an ``up`` whose state was lost)
    is stopped first.

    Parameters
    ----------
    port : int
    log : pathlib.Path

    Returns
    -------
    Proc
        The postmaster.

    Raises
    ------
    StandinError
        When it does not start; the message has the log's last lines.
    """
    bin_ = bindir()
    check_postgis(bin_)
    user = run_as()
    initdb(bin_, user)
    data = pgdata()
    conf = data / "labhelpers.conf"
    conf.write_text(CONF)
    if home() != offline_dir():  # the server's account could not write the usual log either
        log = home() / log.name
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    if user is not None:
        pw = pwd.getpwnam(user)
        os.chown(conf, pw.pw_uid, pw.pw_gid)
        os.chown(log, pw.pw_uid, pw.pw_gid)
    if postmaster_pid() is not None:
        # Our own data directory is already served: the leftover of an `up` whose state was lost.
        stop_server()
    # pg_ctl forks the postmaster and returns once it is ready; start_new_session puts the
    # postmaster in a session of its own so it outlives this command.
    r = subprocess.run(
        [str(bin_ / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", f"-p {port}", "-w", "-t", "60", "start"],
        capture_output=True, text=True, cwd="/", start_new_session=True, **as_user(user),
    )
    pid = postmaster_pid()
    if r.returncode != 0 or pid is None:
        stop_server()
        raise StandinError(
            f"PostgreSQL did not start ({(r.stdout + r.stderr).strip()}). Last lines of {log}:\n{log_tail(log)}"
        )
    proc = Proc("postgres", pid, psutil.Process(pid).create_time(), str(log))
    try:
        wait_until(proc, lambda: _can_query(port, "postgres"), "PostgreSQL server", 30, log)
        _ensure_database(port)
    except BaseException:
        stop_server()
        raise
    return proc


def _can_query(port: int, database: str = DATABASE) -> bool:
    import psycopg

    with psycopg.connect(dsn(port, database), connect_timeout=2) as conn:
        return conn.execute("SELECT 1").fetchone() == (1,)


def healthy(port: int) -> bool:
    """The server answers ``SELECT 1`` on the pgstac database within 2 s.

    Parameters
    ----------
    port : int

    Returns
    -------
    bool
    """
    try:
        return _can_query(port)
    except Exception:
        return False


def _ensure_database(port: int) -> None:
    import psycopg

    with psycopg.connect(dsn(port, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone() is None:
            conn.execute(f"CREATE DATABASE {DATABASE}")


def stop_server() -> None:
    """``pg_ctl stop -m fast``: disconnect clients, checkpoint, exit (the clean way to stop PostgreSQL)."""
    if not (pgdata() / "postmaster.pid").exists():
        return
    subprocess.run(
        [str(bindir() / "pg_ctl"), "-D", str(pgdata()), "stop", "-m", "fast", "-w", "-t", "30"],
        capture_output=True, text=True, cwd="/", **as_user(run_as()),
    )
