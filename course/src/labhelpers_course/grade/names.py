"""Submission files and student ids, and text made safe for CSV files, Markdown and terminals.

A submissions folder is untrusted too: file names carry ``../``, shell metacharacters, ANSI
escapes or spreadsheet formulas; entries are symlinks (to ``/etc/passwd``) or FIFOs. Here:

* :func:`collect` lists candidate files *without following symlinks*; a symlink or anything
  but a regular file becomes a rejected entry with its reason, never a read;
* :func:`student_id` gives each file a safe, readable id: the sub-folder name, or the file name
  minus the exercise's name (``alice.smith_ex1_ndsi.ipynb`` -> ``alice.smith``), reduced to
  ``[A-Za-z0-9._@-]``; two files of one exercise with one id are an error naming both;
* :func:`clean` strips control characters (ANSI escapes included) from any text we print
  or write; :func:`csv_cell` also neutralises cells a spreadsheet would run as a formula;
* :func:`read_submission` reads a file with ``O_NOFOLLOW`` and a size cap.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from labhelpers_course.errors import NameClash

__all__ = ["MAX_BYTES", "Entry", "collect", "student_id", "check_unique", "safe_component", "clean", "csv_cell",
           "read_submission"]

#: Editor and OS droppings that are not submissions.
IGNORED = re.compile(r"(^|/)(\.[^/]*|__MACOSX|.*\.ipynb_checkpoints)(/|$)")
MAX_BYTES = 50 * 1024 ** 2
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass
class Entry:
    """One file found in the submissions folder."""

    path: Path  # as found (never resolved through a symlink)
    rel: str  # relative to the submissions folder, cleaned for display
    problem: str = ""  # non-empty: rejected without reading (symlink, not a regular file, too large)


def clean(text: str, limit: int = 2000) -> str:
    """``text`` without ANSI escape sequences and control characters (newlines and tabs kept), capped.

    Parameters
    ----------
    text : str
    limit : int, default 2000
        Longer text is cut and ends with an ellipsis.

    Returns
    -------
    str
    """
    text = _CONTROL.sub("", unicodedata.normalize("NFC", str(text)))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def csv_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: cleaned, one line, ``= + - @`` starts neutralised.

    Parameters
    ----------
    value : object
        Numbers are written as numbers (``-1.5`` stays a number).

    Returns
    -------
    str
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    text = clean(str(value)).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    if text[:1] in ("=", "+", "-", "@"):
        text = "'" + text
    return text


def collect(root: Path) -> list[Entry]:
    """Every candidate file under ``root``, sorted; symlinks and special files come back rejected.

    Directories are walked without following symlinks; a symlinked directory is one rejected entry.

    Parameters
    ----------
    root : pathlib.Path

    Returns
    -------
    list of Entry
    """
    entries = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in list(dirnames):
            rel = (base / name).relative_to(root).as_posix()
            if IGNORED.search(rel):
                dirnames.remove(name)
            elif (base / name).is_symlink():
                dirnames.remove(name)
                entries.append(Entry(base / name, clean(rel), "a symbolic link, not a file: submit the notebook itself"))
        for name in filenames:
            path = base / name
            rel = path.relative_to(root).as_posix()
            if IGNORED.search(rel):
                continue
            st = os.lstat(path)
            problem = ""
            if stat.S_ISLNK(st.st_mode):
                problem = "a symbolic link, not a file: submit the notebook itself"
            elif not stat.S_ISREG(st.st_mode):
                problem = "not a regular file (a pipe, socket or device): submit the notebook itself"
            elif st.st_size > MAX_BYTES:
                problem = f"larger than {MAX_BYTES // 1024 ** 2} MB: submit the notebook without its outputs"
            entries.append(Entry(path, clean(rel), problem))
    return sorted(entries, key=lambda e: e.rel)


def safe_component(text: str) -> str:
    """``text`` as one safe path component and id: ``[A-Za-z0-9._@-]``, at most 64 characters, never empty.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    text = unicodedata.normalize("NFKD", clean(text, 200))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))  # Zoë -> Zoe
    text = re.sub(r"[^A-Za-z0-9._@-]+", "_", text).strip("._-")
    return text[:64] or "unnamed"


def student_id(rel: str, exercise_names: list[str]) -> str:
    """The student id of submission ``rel`` (``alice/ex1_ndsi.ipynb`` or ``alice_ex1_ndsi.ipynb``).

    Parameters
    ----------
    rel : str
        The path relative to the submissions folder.
    exercise_names : list of str
        Master stems, e.g. ``"ex1_ndsi"``: removed from a file name to leave the student's.

    Returns
    -------
    str
        Safe (:func:`safe_component`): ``alice.smith_ex1_ndsi.ipynb`` -> ``alice.smith``.
    """
    parts = [p for p in rel.split("/") if p not in ("", ".", "..")] or ["unnamed"]
    if len(parts) > 1:
        return safe_component(parts[0])
    stem = parts[0].rsplit(".", 1)[0] if "." in parts[0] else parts[0]
    for name in sorted(exercise_names, key=len, reverse=True):
        for sep in ("_", "-", " ", "."):
            if stem.lower().endswith(sep + name.lower()):
                return safe_component(stem[: -len(name) - 1])
    return safe_component(stem)


def check_unique(rows: list[tuple[str, str, str]]) -> None:
    """Refuse two files of one exercise with one student id.

    Parameters
    ----------
    rows : list of (str, str, str)
        (student id, exercise, file).

    Raises
    ------
    NameClash
        Naming both files and how to fix it.
    """
    seen: dict[tuple[str, str], str] = {}
    for sid, exercise, rel in rows:
        if (sid, exercise) in seen:
            raise NameClash(f"{seen[(sid, exercise)]!r} and {rel!r} both belong to student id {sid!r} for "
                            f"{exercise}: rename one (or put each in a folder named after the student)")
        seen[(sid, exercise)] = rel


def read_submission(path: Path, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file at ``path``, never through a symlink.

    Parameters
    ----------
    path : pathlib.Path
    limit : int, default MAX_BYTES

    Returns
    -------
    bytes

    Raises
    ------
    ValueError
        A symlink, a special file, or larger than ``limit``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise ValueError(f"cannot open the file safely ({err.strerror}): submit the notebook itself") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file: submit the notebook itself")
        if st.st_size > limit:
            raise ValueError(f"larger than {limit // 1024 ** 2} MB")
        chunks, total = [], 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > limit:
                raise ValueError(f"larger than {limit // 1024 ** 2} MB")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
