"""The hub's folders: a private one for the hub, a shared one the students' account can enter.

The hub folder (``--folder``, default ``<offline dir>/hub``, i.e. ``.offline/hub`` beside the
stand-in's own files) is the instructor's (root's when root runs the hub)::

    state.json            what runs: URL, ports, the hub's pid and start time (0600)
    credentials.csv       username,password for the instructor to hand out (0600)
    jupyterhub_config.py  written at each up (0600: it holds the class list)
    secrets/              0700: password hashes, cookie secret, JupyterHub's database
    logs/                 0700: jupyterhub.log (the hub, proxy, services and students' servers)
    gateway/              0700: dask-gateway-server's configuration and working folder

Students' homes and the Dask clusters' folders must be entered by the students' account, which
cannot enter a checkout under a private home (``/root``, mode 0700). They go to the *shared*
folder: the hub folder itself when the account can enter it, otherwise
``/var/tmp/labhelpers-hub-<key>`` (open to every account, kept across reboots, keyed by the hub
folder so two checkouts never share students), as the stand-in does for PostgreSQL::

    users/<name>/         each student's home (0700, the students' account)
    clusters/<name>/      each Dask cluster's working folder (0700, the students' account)
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import stat
import tempfile
from pathlib import Path

from labhelpers_standin.errors import StandinError

__all__ = ["default_folder", "account_ids", "reachable", "shared_folder", "prepare", "write_private", "makedirs",
           "copy_missing"]


def default_folder() -> Path:
    """The hub's folder when ``--folder`` is not given: ``hub`` inside the stand-in's folder.

    Returns
    -------
    pathlib.Path
        ``<offline dir>/hub``; the offline dir is ``LABHELPERS_OFFLINE_DIR``, else the nearest
        ``.offline`` folder from the current one upwards, else ``./.offline``.
    """
    from labhelpers_standin.state import offline_dir

    return offline_dir() / "hub"


def account_ids(account: str) -> tuple[int, int] | None:
    """The students' account's (uid, gid) when we are root; None when the hub runs as ourselves.

    Parameters
    ----------
    account : str
        The ``--account`` option ("" when not given).

    Returns
    -------
    (int, int) or None

    Raises
    ------
    StandinError
        Root without an account, an account that does not exist or is root, or an account
        given when we are not root (we could not switch to it).
    """
    create = f"`useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin {account or 'labhub'}` (make setup creates labhub)"
    if os.geteuid() != 0:
        if account:
            raise StandinError(
                f"--account {account}: only root can run students' servers as another account. Run "
                "`labhelpers hub up` as root (sudo), or leave --account out to run them as yourself "
                "(then students can read your files: see docs/hub.md)."
            )
        return None
    if not account:
        raise StandinError(
            "Running as root, students' servers must not run as root: pass --account NAME, an "
            f"unprivileged account for all students; create one with {create}."
        )
    try:
        pw = pwd.getpwnam(account)
    except KeyError:
        raise StandinError(f"--account {account}: no such account. Create it with {create}, or pass another.") from None
    if pw.pw_uid == 0:
        raise StandinError(f"--account {account} is root; pass an unprivileged account.")
    return pw.pw_uid, pw.pw_gid


def _traversable(path: Path, uid: int, gids: set[int]) -> bool:
    st = path.stat()
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in gids:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def reachable(path: Path, account: str) -> bool:
    """Whether ``account`` can enter every existing folder on the way to ``path`` (and ``path``).

    Parameters
    ----------
    path : Path
        An absolute path.
    account : str
        A system account.

    Returns
    -------
    bool
    """
    pw = pwd.getpwnam(account)
    gids = {pw.pw_gid, *os.getgrouplist(account, pw.pw_gid)}
    return all(_traversable(p, pw.pw_uid, gids) for p in [*reversed(path.parents), path] if p.exists())


def shared_folder(folder: Path, account: str) -> Path:
    """Where students' homes and clusters go for the hub folder ``folder``.

    Parameters
    ----------
    folder : Path
        The hub's (absolute) folder.
    account : str
        The students' account ("" when the hub runs as ourselves: then ``folder``).

    Returns
    -------
    pathlib.Path
        ``folder`` when ``account`` can enter it (or when there is no account), else
        ``/var/tmp/labhelpers-hub-<key>``. The folder is not created here.
    """
    if not account or reachable(folder, account):
        return folder
    key = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    return Path("/var/tmp") / f"labhelpers-hub-{key}"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600 (a temporary file renamed into place).

    Parameters
    ----------
    path : Path
    text : str
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _own_folder(path: Path, mode: int) -> None:
    """Create ``path`` (mode ``mode``) or check an existing one is ours and not a link; set its mode."""
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.geteuid():
        raise StandinError(
            f"{path} exists but is not a folder of yours (a link, or another account's). Remove it, or "
            "pass another --folder."
        )
    os.chmod(path, mode)


def prepare(folder: Path, shared: Path, ids: tuple[int, int] | None) -> None:
    """Create the folders with their modes and the cookie secret; nothing here is for students.

    Parameters
    ----------
    folder : Path
        The hub's private folder.
    shared : Path
        The shared folder (may be ``folder``).
    ids : (int, int) or None
        The students' account, which gets ``users/`` and ``clusters/`` entries but owns neither.

    Raises
    ------
    StandinError
        When a folder on the way belongs to someone else.
    """
    # The hub folder is entered by the students' account only when it is also the shared one.
    _own_folder(folder, 0o711 if shared == folder else 0o700)
    for sub in ("secrets", "logs", "gateway"):
        _own_folder(folder / sub, 0o700)
    if shared != folder:
        _own_folder(shared, 0o711)
    for sub in ("users", "clusters"):
        _own_folder(shared / sub, 0o711)
    cookie = folder / "secrets" / "jupyterhub_cookie_secret"
    if not cookie.exists():
        write_private(cookie, secrets.token_hex(32))
    db = folder / "secrets" / "jupyterhub.sqlite"
    if not db.exists():
        os.close(os.open(db, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def makedirs(folder: Path, home: Path, uid: int | None, gid: int | None) -> None:
    """Create ``folder`` and its missing parents below ``home``, mode 0700, owned by uid:gid.

    Parameters
    ----------
    folder : Path
        A folder inside ``home``.
    home : Path
        A student's home (exists already).
    uid, gid : int or None
        The owner to give new folders (None: leave them ours).
    """
    for p in [*reversed(folder.parents), folder]:
        if home in p.parents and not p.exists():
            p.mkdir(mode=0o700)
            if uid is not None:
                os.chown(p, uid, gid)


def copy_missing(source: Path, home: Path, uid: int | None = None, gid: int | None = None) -> list[str]:
    """Copy every file under ``source`` into ``home`` where ``home`` does not have it yet.

    Each file is written to a temporary name and linked into place with ``os.link``, which
    fails when the target exists: a file the student made or edited in the meantime is never
    replaced, and a half-copied notebook never appears under its real name.

    Parameters
    ----------
    source : Path
        The lab's notebooks folder (read only).
    home : Path
        The student's home folder.
    uid, gid : int, optional
        Owner to give the new files and folders (the students' account when the hub is root).

    Returns
    -------
    list of str
        The paths (relative to ``home``) that were copied.
    """
    copied = []
    for src in sorted(source.rglob("*")):
        rel = src.relative_to(source)
        if any(part.startswith(".") for part in rel.parts) or not src.is_file():
            continue  # .ipynb_checkpoints and other hidden files are not lab material
        dst = home / rel
        if dst.exists():
            continue
        makedirs(dst.parent, home, uid, gid)
        fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=".copy-")
        os.close(fd)
        try:
            shutil.copyfile(src, tmp)
            os.chmod(tmp, 0o600)
            if uid is not None:
                os.chown(tmp, uid, gid)
            os.link(tmp, dst)
            copied.append(str(rel))
        except FileExistsError:
            pass  # the student made it a moment ago: theirs wins
        finally:
            os.unlink(tmp)
    return copied
