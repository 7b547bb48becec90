"""Inside the student sandbox: run the submission top to bottom, then export what the tests need.

``python driver.py CONFIG``. It starts the loopback forwarders, runs every cell of the
(already parameterised) notebook with nbclient in a fresh kernel, with one time budget for the
whole notebook and a cap on the outputs kept, then one more cell that exports the variables the
tests take (``grading_export.py``). The student's own ``grader.check`` cells run the *public*
tests from the notebook's metadata, as they did while the student worked; they decide nothing.
It writes, in the work folder:

``.grading/status.json``      how the run ended: ok, or the failing cell and error
``.grading/executed.ipynb``   the notebook as it ran (outputs capped)
``.grading/export/``          the exported values

Everything here runs where the student's code can reach it, so the grader treats every byte
of it as untrusted: it takes only the reason shown to the student from ``status.json``.
Standalone: the standard library, nbclient and nbformat (the student runtime's).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

__all__ = ["run", "main"]

HERE = Path(__file__).resolve().parent
#: Metadata key of the cells the grader adds.
GRADER_CELL = "labhelpers_grader"
OUT = ".grading"

# Before the student's first cell: the exporter remembers the built-ins the kernel started with, and
# puts them back before exporting (a cell that replaced ``float`` or ``isinstance`` would otherwise
# break the export of an honest value). What the student does to the exporter itself can only spoil
# the student's own values.
_FIRST_CELL = """\
import sys as _grading_sys
_grading_sys.path.insert(0, {here!r})
import grading_export as _grading_export
_grading_export.remember_builtins()
del _grading_sys, _grading_export
"""
_EXPORT_CELL = """\
import sys as _grading_sys
_grading_sys.path.insert(0, {here!r})
import grading_export as _grading_export
_grading_export.export({names!r}, {folder!r}, globals())
"""


def _client_class():
    from nbclient import NotebookClient

    class CappedClient(NotebookClient):
        """nbclient keeping at most ``output_cap`` bytes of outputs for the whole notebook."""

        output_cap = 5_000_000
        kept = 0
        truncated = False

        def output(self, outs, msg, display_id, cell_index):
            from nbformat.v4 import new_output, output_from_msg

            try:
                out = output_from_msg(msg)
                size = len(json.dumps(out))
            except (ValueError, KeyError):
                out, size = None, 0
            if self.kept + size > self.output_cap:
                if not self.truncated:
                    self.truncated = True
                    room = self.output_cap - self.kept
                    if out is not None and out.output_type == "stream" and room > 1000:
                        outs.append(new_output("stream", name=out.name, text=out.text[:room]))
                    outs.append(new_output("stream", name="stderr", text="[output truncated by the grader: more "
                                                                         f"than {self.output_cap} bytes]\n"))
                return None
            self.kept += size
            return super().output(outs, msg, display_id, cell_index)

    return CappedClient


def _student_number(nb, index: int) -> int:
    """1-based number of cell ``index`` among the student's own cells (without those the grader added)."""
    def added(c):
        return c.metadata.get(GRADER_CELL) or "injected-parameters" in c.metadata.get("tags", [])
    return sum(1 for c in nb.cells[: index + 1] if not added(c))


def _first_unrun(nb) -> int | None:
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code" and c.get("execution_count") is None and c.source.strip():
            return i
    return None


def run(config: dict) -> dict:
    """Run the notebook as ``config`` says; return the status written to ``status.json``.

    Parameters
    ----------
    config : dict
        ``work``, ``notebook``, ``export`` (names), ``cell_budget`` (seconds for the whole
        notebook), ``output_cap`` (bytes), ``forward`` (port -> unix socket).

    Returns
    -------
    dict
        ``{"ok": True}`` or ``{"ok": False, "kind": "error" | "timeout" | "dead_kernel" | "export", ...}``,
        with ``seconds``, ``cpu_seconds`` and ``output_truncated``.
    """
    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    import forward

    work = Path(config["work"])
    out = work / OUT
    out.mkdir(exist_ok=True)
    if config.get("forward"):
        forward.start({int(p): s for p, s in config["forward"].items()})
    nb = nbformat.read(work / config["notebook"], as_version=4)
    cell = nbformat.v4.new_code_cell(_EXPORT_CELL.format(here=str(HERE), names=config["export"],
                                                         folder=str(out / "export")))
    cell.metadata[GRADER_CELL] = True
    nb.cells.append(cell)
    first = nbformat.v4.new_code_cell(_FIRST_CELL.format(here=str(HERE)))
    first.metadata[GRADER_CELL] = True
    nb.cells.insert(0, first)

    deadline = time.monotonic() + config["cell_budget"]
    client = _client_class()(nb, kernel_name="python3", allow_errors=False, shutdown_kernel="immediate",
                             timeout_func=lambda c: max(1, int(deadline - time.monotonic())),
                             resources={"metadata": {"path": str(work)}}, startup_timeout=120)
    client.output_cap = int(config["output_cap"])
    t0 = time.monotonic()
    try:
        client.execute()
        status = {"ok": True}
    except CellTimeoutError:
        index = _first_unrun(nb)
        status = {"ok": False, "kind": "timeout", "cell": _student_number(nb, index) if index is not None else None}
    except DeadKernelError:
        status = {"ok": False, "kind": "dead_kernel"}
    except CellExecutionError as err:
        index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                      and any(o.get("output_type") == "error" for o in c.get("outputs", []))), None)
        grader = index is not None and bool(nb.cells[index].metadata.get(GRADER_CELL))
        status = {"ok": False, "kind": "export" if grader else "error", "ename": err.ename,
                  "evalue": str(err.evalue)[:300],
                  "cell": _student_number(nb, index) if index is not None and not grader else None}
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    status["seconds"] = round(time.monotonic() - t0, 2)
    status["cpu_seconds"] = round(sum(u.ru_utime + u.ru_stime for u in usage), 2)
    status["output_truncated"] = client.truncated
    nb.cells = [c for c in nb.cells if not c.metadata.get(GRADER_CELL)]
    nbformat.write(nb, out / "executed.ipynb")
    return status


def main(argv: list[str] | None = None) -> int:
    """``driver.py CONFIG``: exit 0 when the notebook ran to its end and exported, else 3.

    Parameters
    ----------
    argv : list of str, optional
        ``[CONFIG]``; default ``sys.argv[1:]``.

    Returns
    -------
    int
    """
    argv = sys.argv[1:] if argv is None else argv
    config = json.loads(Path(argv[0]).read_text())
    sys.path.insert(0, str(HERE))
    try:
        status = run(config)
    except Exception as err:  # the driver's own failure (e.g. no kernel): reported, exit 3
        status = {"ok": False, "kind": "driver", "ename": type(err).__name__, "evalue": str(err)[:300]}
    out = Path(config["work"], OUT)
    out.mkdir(exist_ok=True)
    (out / "status.json").write_text(json.dumps(status))
    return 0 if status.get("ok") else 3


if __name__ == "__main__":
    sys.exit(main())
