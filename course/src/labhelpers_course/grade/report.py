"""What grading writes: grades, gradebooks, feedback, written-answer pages and the marks round trip.

``--out`` after ``labhelpers grade``:

==================================  ========================================================
``results.json``                    every result, so ``--manual`` can merge marks later
``grades.csv``                      one row per submission file: status, score, reason, one
                                    column per question (answered / not answered / pending /
                                    marked) and per test (points earned)
``gradebook.csv``                   plain: one row per student, one column per exercise
``canvas.csv``                      Canvas's gradebook import: Student, ID, SIS User ID,
                                    SIS Login ID, Section, one column per exercise
``feedback/<student>/<ex>.md``      score, reason, every test: public ones with their message,
                                    hidden ones passed/failed with the master's hint only
``written/<ex>_<question>.html``    every student's answer to a written question + the rubric
``written/marks.csv``               for the marker to fill in; ``--manual`` merges it
``written/key.csv``                 with ``--anonymise`` only: answer key -> student
``executed/<student>/<ex>.ipynb``   the notebook as it ran (written by the grading loop)
==================================  ========================================================

A gradebook cell is the autograded score plus the written marks; it stays empty while the
submission is "not graded" or a written answer still waits for its marks. Every CSV cell goes
through :func:`.names.csv_cell`, every text through :func:`.names.clean`, HTML is escaped.
Nothing here holds a hidden test's source, message or expected value: results never carry them.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import json
from pathlib import Path

from labhelpers_course.grade.names import clean, csv_cell, safe_component

__all__ = ["write_all", "write_grades", "write_gradebooks", "feedback", "write_written", "load_results",
           "merge_marks"]

_CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def _f(x: float) -> str:
    return f"{x:g}"


def write_grades(results: list, path: Path) -> None:
    """``grades.csv``: one row per submission file (see the module docstring).

    Parameters
    ----------
    results : list of Result
    path : pathlib.Path
    """
    qcols: list[str] = []
    tcols: list[str] = []
    for r in results:
        for q in [*r.questions, *r.written]:
            if f"{r.exercise}:{q}" not in qcols:
                qcols.append(f"{r.exercise}:{q}")
        for t in r.tests:
            if f"{r.exercise}:{t['test']}" not in tcols:
                tcols.append(f"{r.exercise}:{t['test']}")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "exercise", "status", "score", "max", "written_marks", "written_max", "reason",
                    "seconds", "attempts", "file", *qcols, *tcols])
        for r in results:
            qs = {f"{r.exercise}:{q}": s for q, s in r.questions.items()}
            qs.update({f"{r.exercise}:{q}": wq["status"] for q, wq in r.written.items()})
            pts = {f"{r.exercise}:{t['test']}": (t["points"] if t["state"] == "passed" else 0) for t in r.tests}
            marks = [wq["marks"] for wq in r.written.values() if wq.get("marks") is not None]
            row = [r.student, r.exercise, r.status, r.score if r.status != "not graded" else "", r.possible,
                   sum(marks) if marks else "", sum(wq["points"] for wq in r.written.values()) or "", r.reason,
                   r.seconds, r.attempts, r.file]
            w.writerow([csv_cell(x) for x in row] + [csv_cell(qs.get(c, "")) for c in qcols]
                       + [csv_cell(pts[c]) if c in pts else "" for c in tcols])


def _total(r) -> str:
    """The gradebook cell of one result: empty until it is final."""
    if r.status == "not graded" or any(wq["status"] == "pending" for wq in r.written.values()):
        return ""
    return _f(r.score + sum(wq.get("marks") or 0 for wq in r.written.values()))


def _table(results: list) -> tuple[list[str], dict[str, dict[str, str]], dict[str, float]]:
    exercises: list[str] = []
    table: dict[str, dict[str, str]] = {}
    possible: dict[str, float] = {}
    for r in results:
        if r.exercise == "?":
            continue
        if r.exercise not in exercises:
            exercises.append(r.exercise)
        possible[r.exercise] = r.possible + sum(wq["points"] for wq in r.written.values())
        table.setdefault(r.student, {})[r.exercise] = _total(r)
    return exercises, table, possible


def _roster(path: Path) -> dict[str, dict]:
    people = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            for key in ("SIS Login ID", "SIS User ID", "ID"):
                if (row.get(key) or "").strip():
                    people[row[key].strip()] = row
    return people


def write_gradebooks(results: list, out: Path, roster: Path | None = None) -> None:
    """``gradebook.csv`` (plain) and ``canvas.csv`` (Canvas's gradebook import).

    Canvas matches rows by ``ID``, ``SIS User ID`` or ``SIS Login ID``: with ``roster`` (a
    gradebook exported from the Canvas course) each student id is looked up in those columns and
    the row gets the student's Canvas name and ids; without it the student id is put in
    ``SIS Login ID``. A column named like an existing assignment updates it; another name creates
    a new assignment on import.

    Parameters
    ----------
    results : list of Result
    out : pathlib.Path
    roster : pathlib.Path, optional
    """
    exercises, table, possible = _table(results)
    with open(out / "gradebook.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", *exercises])
        w.writerow(["max", *(_f(possible[e]) for e in exercises)])
        for student in sorted(table):
            w.writerow([csv_cell(student), *(table[student].get(e, "") for e in exercises)])
    people = _roster(roster) if roster is not None else {}
    with open(out / "canvas.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*_CANVAS_COLUMNS, *exercises])
        w.writerow(["Points Possible", "", "", "", "", *(_f(possible[e]) for e in exercises)])
        for student in sorted(table):
            p = people.get(student, {})
            w.writerow([csv_cell(p.get("Student", student)), csv_cell(p.get("ID", "")),
                        csv_cell(p.get("SIS User ID", "")), csv_cell(p.get("SIS Login ID", student)),
                        csv_cell(p.get("Section", "")), *(table[student].get(e, "") for e in exercises)])


def feedback(r) -> str:
    """The Markdown feedback of one submission: of a hidden test only pass/fail and its hint.

    Parameters
    ----------
    r : Result

    Returns
    -------
    str
    """
    lines = [f"# {clean(r.exercise)}: feedback for {clean(r.student)}", ""]
    if r.status == "not graded":
        return "\n".join(lines + [f"**Not graded yet:** {clean(r.reason)}", ""])
    lines.append(f"Autograded score: **{_f(r.score)} / {_f(r.possible)}** (file `{clean(r.file, 200)}`).")
    if r.status == "zero":
        lines += ["", f"**This submission scored zero:** {clean(r.reason)}"]
    if r.tests and r.status != "zero":
        lines += ["", "| question | test | points | result |", "|---|---|---|---|"]
        for t in r.tests:
            got = t["points"] if t["state"] == "passed" else 0
            kind = " (hidden)" if t["hidden"] else ""
            lines.append(f"| {t['question']} | {t['test']}{kind} | {_f(got)} / {_f(t['points'])} | {t['state']} |")
        failed = [t for t in r.tests if t["state"] == "failed"]
        if failed:
            lines += ["", "## What to look at", ""]
            for t in failed:
                text = clean(t["feedback"]).replace("\n", " ").replace("|", "\\|")
                lines += [f"**{t['question']} {t['test']}**{' (hidden test)' if t['hidden'] else ''}: {text}", ""]
        missing = [q for q, s in r.questions.items() if s == "not answered"]
        if missing:
            lines += ["", f"Not answered: {', '.join(missing)}."]
    for q, wq in r.written.items():
        head = f"Written question {q} ({_f(wq['points'])} points): "
        if wq["status"] == "not answered":
            lines += ["", head + "not answered."]
        elif wq.get("marks") is not None:
            lines += ["", (head + f"**{_f(wq['marks'])} / {_f(wq['points'])}**. {clean(wq.get('comment', ''))}").rstrip()]
        else:
            lines += ["", head + "marked by your instructor."]
    return "\n".join(lines).rstrip() + "\n"


def _page(ex_name: str, q: str, wq, items: list[str]) -> str:
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(ex_name)} {html.escape(q)}</title>"
            "<style>body{font-family:sans-serif;max-width:60rem;margin:auto;padding:1rem}.answer,.rubric{white-space:"
            "pre-wrap;border:1px solid #999;padding:.5rem}</style>"
            f"<h1>{html.escape(ex_name)}, question {html.escape(q)} ({_f(wq.points)} points)</h1>"
            f"<h2>Question</h2><div class=rubric>{html.escape(wq.prompt)}</div>"
            f"<h2>Model answer and rubric</h2><div class=rubric>{html.escape(wq.model)}</div>"
            f"<h2>Answers ({len(items)})</h2>" + "".join(items) + "</html>\n")


def write_written(results: list, known: dict, out: Path, anonymise: bool = False) -> None:
    """One HTML page per written question with every answer and the rubric, and ``marks.csv`` to fill in.

    Parameters
    ----------
    results : list of Result
    known : dict of int to Exercise
    out : pathlib.Path
    anonymise : bool, default False
        Pages and ``marks.csv`` show ``answer-001``...; ``key.csv`` maps them back.
    """
    folder = out / "written"
    folder.mkdir(parents=True, exist_ok=True)
    rows, keys = [], []
    for ex in known.values():
        for q, wq in ex.written.items():
            items = []
            answered = [r for r in results if r.exercise == ex.name and q in r.written]
            for n, r in enumerate(answered, 1):
                key = f"answer-{n:03d}" if anonymise else r.student
                w = r.written[q]
                rows.append([ex.name, q, key, "" if anonymise else r.student, w["status"], _f(w["points"]),
                             _f(w["marks"]) if w.get("marks") is not None else "", w.get("comment", "")])
                keys.append([ex.name, q, key, r.student])
                body = (html.escape(clean(w["answer"], 20000)) if w["status"] != "not answered"
                        else "<em>not answered</em>")
                items.append(f'<section id="{html.escape(key)}"><h3>{html.escape(key)}</h3>'
                             f'<div class="answer">{body}</div></section>')
            (folder / f"{safe_component(ex.name)}_{safe_component(q)}.html").write_text(_page(ex.name, q, wq, items))
    with open(folder / "marks.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["exercise", "question", "key", "student", "status", "max", "marks", "comment"])
        w.writerows([csv_cell(x) for x in row] for row in rows)
    if anonymise:
        with open(folder / "key.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["exercise", "question", "key", "student"])
            w.writerows([csv_cell(x) for x in row] for row in keys)


def load_results(out: Path) -> list:
    """The results a grading run saved in ``out/results.json``.

    Parameters
    ----------
    out : pathlib.Path

    Returns
    -------
    list of Result

    Raises
    ------
    FileNotFoundError
        ``out`` is not a grading run's output folder.
    """
    from labhelpers_course.grade.submission import Result

    path = out / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"No {path}: pass the --out folder of an earlier `labhelpers grade` run.")
    return [Result(**d) for d in json.loads(path.read_text())]


def _mark(text: str, n: int, where: Path) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{where} line {n}: marks {text!r} is not a number.") from None


def merge_marks(out: Path, marks_csv: Path, roster: Path | None = None) -> list:
    """Merge a filled-in ``marks.csv`` into ``out``'s results, CSVs and feedback.

    Parameters
    ----------
    out : pathlib.Path
        A grading run's ``--out``.
    marks_csv : pathlib.Path
        ``written/marks.csv`` with ``marks`` (and optionally ``comment``) filled in; empty marks
        are left pending.
    roster : pathlib.Path, optional
        See :func:`write_gradebooks`.

    Returns
    -------
    list of Result

    Raises
    ------
    ValueError
        A mark that is not a number in ``[0, max]``, a row naming no written answer, or marks
        for an answer that was not given. Nothing is written then.
    FileNotFoundError
        ``out`` holds no ``results.json``.
    """
    results = load_results(out)
    key_file = out / "written" / "key.csv"
    key_map = {}
    if key_file.exists():
        with open(key_file, newline="") as f:
            key_map = {(r["exercise"], r["question"], r["key"]): r["student"] for r in csv.DictReader(f)}
    by = {(r.exercise, r.student): r for r in results}
    with open(marks_csv, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    updates = []
    for n, row in enumerate(rows, 2):
        if not {"exercise", "question", "key", "marks"} <= set(row):
            raise ValueError(f"{marks_csv} needs the columns of written/marks.csv (exercise, question, key, marks).")
        marks = _mark(row.get("marks") or "", n, marks_csv)
        if marks is None:
            continue
        ex, q, key = row["exercise"].strip(), row["question"].strip(), row["key"].strip()
        student = key_map.get((ex, q, key), (row.get("student") or "").strip() or key)
        r = by.get((ex, student))
        if r is None or q not in r.written:
            raise ValueError(f"{marks_csv} line {n}: there is no written answer {ex} {q} of {key!r}.")
        if r.written[q]["status"] == "not answered" and marks:
            raise ValueError(f"{marks_csv} line {n}: {key!r} did not answer {ex} {q}; it can only get 0 marks.")
        if not 0 <= marks <= r.written[q]["points"]:
            raise ValueError(f"{marks_csv} line {n}: marks {marks:g} outside 0..{r.written[q]['points']:g}.")
        updates.append((r, q, marks, clean(row.get("comment") or "", 2000)))
    for r, q, marks, comment in updates:
        r.written[q].update(marks=marks, comment=comment, status="marked")
    write_all(results, None, out, roster=roster)
    return results


def write_all(results: list, known: dict | None, out: Path, anonymise: bool = False,
              roster: Path | None = None) -> None:
    """Write every output of the module docstring but ``executed/``.

    Parameters
    ----------
    results : list of Result
    known : dict of int to Exercise, or None
        None keeps the existing written pages (a ``--manual`` merge).
    out : pathlib.Path
    anonymise : bool, default False
    roster : pathlib.Path, optional
        See :func:`write_gradebooks`.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=1))
    write_grades(results, out / "grades.csv")
    write_gradebooks(results, out, roster)
    for r in results:
        stem = r.exercise if r.exercise != "?" else Path(r.file).stem
        path = out / "feedback" / safe_component(r.student) / f"{safe_component(stem)}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(feedback(r))
    if known is not None:
        write_written(results, known, out, anonymise)
