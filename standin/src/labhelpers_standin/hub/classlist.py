"""The class list and the credentials the instructor hands out.

The instructor gives ``labhelpers hub up --class-list FILE``: one user name per line (blank lines
and ``#`` comments are ignored). Each student gets a random password the first time they appear
in a class list; it is kept across ``down``/``up`` so handed-out credentials stay valid, and
``--new-passwords`` replaces them all.

Two files come out of it, both mode 0600 and owned by whoever ran ``up``:

``credentials.csv``
    ``username,password`` in plain text, for the instructor to hand out. Students never run as
    this file's owner (their servers run as the hub's unprivileged account), so they cannot read it.
``secrets/passwords.json``
    ``{username: "scrypt$<salt>$<hash>"}``: what the hub checks a login against. It never holds a
    password, so a leaked copy does not give logins away.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import hmac
import io
import json
import re
import secrets
from pathlib import Path

from labhelpers_standin.errors import StandinError
from labhelpers_standin.hub.folders import write_private

__all__ = ["USERNAME_RE", "read_class_list", "hash_password", "check_password", "ensure_credentials"]

#: What a student's user name may look like: JupyterHub lower-cases names and puts them in URLs
#: (``/user/<name>/``) and folder names, so only these characters are accepted.
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def read_class_list(path: str | Path) -> list[str]:
    """Read a class list: one user name per line; blank lines and ``#`` comments are skipped.

    Parameters
    ----------
    path : str or Path
        The instructor's class list file.

    Returns
    -------
    list of str
        The user names, in file order.

    Raises
    ------
    StandinError
        When the file is missing or empty, a name is invalid, or a name appears twice; the message
        names the file and line and what to change.
    """
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        raise StandinError(f"The class list {path} does not exist. Pass --class-list FILE (one user name per line).") from None
    names: list[str] = []
    for number, line in enumerate(lines, 1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if not USERNAME_RE.match(name):
            raise StandinError(
                f"{path}, line {number}: {name!r} is not a valid user name. Use 1-32 lower-case letters, "
                "digits, '.', '_' or '-', starting with a letter or digit."
            )
        if name in names:
            raise StandinError(f"{path}, line {number}: {name!r} is listed twice; remove one of the lines.")
        names.append(name)
    if not names:
        raise StandinError(f"The class list {path} names no students. Add one user name per line.")
    return names


def hash_password(password: str) -> str:
    """Salted scrypt hash of ``password``, as ``scrypt$<salt>$<hash>`` (base64).

    Parameters
    ----------
    password : str
        The plain-text password.

    Returns
    -------
    str
        The encoded hash, safe to store.
    """
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return "scrypt${}${}".format(base64.b64encode(salt).decode(), base64.b64encode(digest).decode())


def check_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches ``encoded`` (from :func:`hash_password`), in constant time.

    Parameters
    ----------
    password : str
        What the student typed.
    encoded : str
        The stored hash.

    Returns
    -------
    bool
        True when they match; False also for a malformed ``encoded``.
    """
    try:
        kind, salt, digest = encoded.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), **_SCRYPT)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def _read_credentials(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {row["username"]: row["password"] for row in csv.DictReader(f)}


def ensure_credentials(
    names: list[str], credentials: Path, hashes: Path, *, renew: bool = False
) -> dict[str, str]:
    """Give every name a password (keeping existing ones unless ``renew``) and write both files.

    Parameters
    ----------
    names : list of str
        The class list.
    credentials : Path
        The plain-text ``username,password`` CSV for the instructor (written 0600).
    hashes : Path
        The JSON of password hashes the hub checks (written 0600).
    renew : bool
        Give everybody a new password (``--new-passwords``).

    Returns
    -------
    dict
        ``{username: password}`` for the names given (students no longer listed are dropped).
    """
    old = {} if renew else _read_credentials(credentials)
    passwords = {name: old.get(name) or secrets.token_urlsafe(9) for name in names}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["username", "password"])
    writer.writerows(passwords.items())
    write_private(credentials, out.getvalue())
    write_private(hashes, json.dumps({n: hash_password(p) for n, p in passwords.items()}, indent=1))
    return passwords
