"""The lab notebooks' conventions, as the book (``labhelpers book``) reads and enforces them.

* The **first** cell is markdown and starts ``# N. Title`` (N = the file's number); it holds a
  ``### Learning objectives`` heading followed by a bullet list, a line ``**Time:** about NN
  minutes`` and a line ``**Prerequisites:** ...``.
* The **last** cell is markdown and starts ``## Summary``, with a ``### Key points`` heading
  followed by a bullet list.
* Every image output has alt text in its cell's metadata, MyST-NB's own key:
  ``{"mystnb": {"image": {"alt": "what the figure shows"}}}``.
* An error output is allowed only in a cell tagged ``raises-exception`` (a lesson that shows an
  error on purpose; nbval and MyST-NB honour the same tag).

Objectives and time are in the notebook's text, not its metadata, so students read them where
they start. Jupyter widgets (``tqdm.auto`` bars, ``distributed.progress``) need JavaScript from a
CDN to show anything; :func:`degrade_widgets` replaces them by the text they last showed.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

__all__ = ["LessonError", "Lesson", "read_lesson", "check_outputs", "degrade_widgets", "WIDGET_VIEW", "IMAGE_MIMES"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
_CONVENTION = (
    "The lab's notebook convention: the first cell is markdown starting '# N. Title' and holds a "
    "'### Learning objectives' heading with a bullet list, a line '**Time:** about NN minutes' and a line "
    "'**Prerequisites:** ...'; the last cell is markdown starting '## Summary' with a '### Key points' "
    "heading and a bullet list (labhelpers_course.lesson; book/README.md)."
)
_TITLE = re.compile(r"\A#[ \t]+(?P<number>\d+)\.[ \t]+(?P<title>\S[^\n]*?)[ \t]*$", re.MULTILINE)
_OBJECTIVES = re.compile(r"^###[ \t]+Learning objectives[ \t]*$", re.MULTILINE | re.IGNORECASE)
_TIME = re.compile(r"^\*\*Time:\*\*[ \t]+about[ \t]+(?P<minutes>\d+)[ \t]+minutes\b", re.MULTILINE)
_PREREQUISITES = re.compile(r"^\*\*Prerequisites:\*\*[ \t]+(?P<text>\S[^\n]*?)[ \t]*$", re.MULTILINE)
_SUMMARY = re.compile(r"\A##[ \t]+Summary[ \t]*$", re.MULTILINE)
_KEY_POINTS = re.compile(r"^###[ \t]+Key points[ \t]*$", re.MULTILINE | re.IGNORECASE)
_BULLET = re.compile(r"^[-*+][ \t]+(?P<text>\S.*)$")


class LessonError(ValueError):
    """A notebook breaks the lab's notebook conventions; the message names the notebook and the fix."""


@dataclass(frozen=True)
class Lesson:
    """What the first and last cells of a lab notebook say about it.

    Attributes
    ----------
    stem : str
        File name without ``.ipynb`` (``03_composites``).
    number : int
        N of the ``# N. Title`` heading.
    title : str
        The title after ``N.``.
    minutes : int
        From ``**Time:** about NN minutes``.
    objectives : list of str
        The bullets under ``### Learning objectives`` (markdown, one line each).
    prerequisites : str
        The text after ``**Prerequisites:**``.
    key_points : list of str
        The bullets under ``### Key points`` in the last cell.
    """

    stem: str
    number: int
    title: str
    minutes: int
    objectives: list[str]
    prerequisites: str
    key_points: list[str]


def _bullets_after(source: str, heading: re.Match) -> list[str]:
    """The bullet list right under a heading (blank lines and indented continuations allowed)."""
    items: list[str] = []
    for line in source[heading.end():].splitlines():
        if not line.strip():
            continue
        bullet = _BULLET.match(line)
        if bullet:
            items.append(bullet.group("text").strip())
        elif items and line[:1] in (" ", "\t"):
            items[-1] += " " + line.strip()
        else:
            break
    return items


def read_lesson(nb: nbformat.NotebookNode, path: Path) -> Lesson:
    """Read a lab notebook's objectives, time, prerequisites and key points.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook.
    path : Path
        Its file (for the stem, the expected number and the error messages).

    Returns
    -------
    Lesson

    Raises
    ------
    LessonError
        The first or last cell does not follow the convention (see the module's docstring); the
        message names the notebook and what is missing.
    """

    def fail(problem: str) -> LessonError:
        return LessonError(f"{path}: {problem}. {_CONVENTION}")

    cells = nb.cells
    if not cells or cells[0].cell_type != "markdown":
        raise fail("the first cell is not a markdown cell")
    first = cells[0].source
    title = _TITLE.match(first)
    if not title:
        raise fail(f"the first cell does not start with '# N. Title' (it starts {first.splitlines()[0][:60]!r})"
                   if first.strip() else "the first cell is empty")
    expected = re.match(r"(\d+)_", path.name)
    if expected and int(expected.group(1)) != int(title.group("number")):
        raise fail(f"the title's number {title.group('number')} is not the file's {int(expected.group(1))}")
    heading = _OBJECTIVES.search(first)
    objectives = _bullets_after(first, heading) if heading else []
    if not objectives:
        raise fail("the first cell has no '### Learning objectives' heading followed by a bullet list")
    minutes = _TIME.search(first)
    if not minutes or int(minutes.group("minutes")) <= 0:
        raise fail("the first cell has no line '**Time:** about NN minutes'")
    prerequisites = _PREREQUISITES.search(first)
    if not prerequisites:
        raise fail("the first cell has no line '**Prerequisites:** ...'")
    last = cells[-1]
    if last.cell_type != "markdown" or not _SUMMARY.match(last.source):
        raise fail("the last cell is not a markdown cell starting '## Summary'")
    heading = _KEY_POINTS.search(last.source)
    key_points = _bullets_after(last.source, heading) if heading else []
    if not key_points:
        raise fail("the last cell has no '### Key points' heading followed by a bullet list")
    return Lesson(stem=path.stem, number=int(title.group("number")), title=title.group("title"),
                  minutes=int(minutes.group("minutes")), objectives=objectives,
                  prerequisites=prerequisites.group("text"), key_points=key_points)


def check_outputs(nb: nbformat.NotebookNode, path: Path, executed: bool = True) -> None:
    """Check a notebook's outputs are fit to publish.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook.
    path : Path
        Its file, for the messages.
    executed : bool, default True
        Require every non-empty code cell to have run (a lab notebook; exercises are not run).

    Raises
    ------
    LessonError
        A cell has an error output without the ``raises-exception`` tag, an image output without alt
        text in ``{"mystnb": {"image": {"alt": ...}}}``, or (``executed``) was never run.
    """
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{path}: cell {index} (id {cell.get('id')})"
        if executed and cell.source.strip() and cell.get("execution_count") is None:
            raise LessonError(f"{where} was not executed: the book shows executed notebooks; run `make lab`, "
                            "or pass --notebooks with executed copies")
        tags = cell.metadata.get("tags", [])
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and "raises-exception" not in tags:
                raise LessonError(f"{where} has an error output ({output.get('ename')}: {output.get('evalue')}): "
                                "re-run the notebook, or tag the cell 'raises-exception' if the error is the lesson")
            if any(mime in output.get("data", {}) for mime in IMAGE_MIMES):
                alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
                if not str(alt).strip():
                    raise LessonError(f"{where} outputs an image without alt text: add "
                                    '{"mystnb": {"image": {"alt": "what the figure shows"}}} to the cell\'s metadata')


def _widget_text(model_id: str, state: dict, seen: set[str]) -> str:
    """The text a saved widget last showed: its HTML/Label/Text values and its children's, in order."""
    if model_id in seen or model_id not in state:
        return ""
    seen.add(model_id)
    model = state[model_id]
    values = model.get("state", {})
    parts = []
    if model.get("model_name") in ("HTMLModel", "LabelModel", "TextModel", "HTMLMathModel") and values.get("value"):
        text = re.sub(r"<[^>]+>", "", html.unescape(str(values["value"])))
        parts.append(text.replace("\u2007", " ").strip())
    for child in values.get("children", []):
        parts.append(_widget_text(str(child).removeprefix("IPY_MODEL_"), state, seen))
    return " ".join(p for p in parts if p)


def degrade_widgets(nb: nbformat.NotebookNode) -> int:
    """Replace every widget view by a text output of what it last showed, in place.

    A widget view needs the widget manager's JavaScript (from a CDN) to show anything; its saved state
    still holds the last text (a finished tqdm bar: ``days: 100% 26/26 [...]``). Views with no text
    (``distributed.progress`` saves none) say that the output is interactive. The notebook's saved
    widget state is dropped.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook, changed in place.

    Returns
    -------
    int
        How many widget views were replaced.
    """
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    replaced = 0
    for cell in nb.cells:
        if "outputs" not in cell:
            continue
        outputs = []
        for output in cell.outputs:
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                outputs.append(output)
                continue
            text = _widget_text(str(view.get("model_id", "")), state, set()) or (
                "[interactive output (a progress bar): shown only while the notebook runs in Jupyter]")
            outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text + "\n"))
            replaced += 1
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return replaced
