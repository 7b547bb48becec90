"""Inside the tests sandbox: run an exercise's otter tests on the exported values.

``python testrun.py CONFIG``. This process never runs student code: it reads the exported
values as data (``values.py``) and calls each otter test function on them as otter does (each
parameter of a test function is the notebook variable of that name). It runs in a sandbox of
its own (no network, no submission, read-only tests and truth), so the most a malformed export
can do is fail its own tests or crash this process, which the grader reports as its failure.

Hidden tests ask for the archive's known truth with
``labhelpers_course.truth.archive_truth(dataset)``; the course tools are not installed here, so
each module named in the config's ``truth_hooks`` is provided (or patched) with an
``archive_truth`` reading the copy of the truth the grader bound in.

Prints one JSON document on stdout: ``{"results": [{question, test, passed, error, message}],
"error": str | None, "unsupported": {variable: why}}``. Standalone: the standard library,
otter-grader and ``values.py``.
"""

from __future__ import annotations

import importlib
import json
import signal
import sys
import types
from pathlib import Path

__all__ = ["install_truth", "run_tests", "main"]


class CaseTimeout(Exception):
    """A test case ran longer than its limit (a huge array, or a slow test)."""


def _alarm(signum, frame):
    raise CaseTimeout("the test took too long")


def install_truth(hooks: list[list[str]], truth_path: str) -> None:
    """Make ``module.attr`` for every ``[module, attr]`` in ``hooks`` return entries of the truth file.

    Parameters
    ----------
    hooks : list of [str, str]
    truth_path : str
        A JSON file ``{dataset: entry}`` (the archive's ``manifest.json``).
    """
    truth = json.loads(Path(truth_path).read_text())

    def archive_truth(dataset: str, archive=None) -> dict:
        if dataset not in truth:
            raise KeyError(f"the archive truth has no {dataset!r} entry")
        return truth[dataset]

    for module, attr in hooks:
        try:
            target = importlib.import_module(module)
        except ImportError:
            parts = module.split(".")
            for i in range(1, len(parts) + 1):  # an empty package chain, e.g. labhelpers_course.truth
                name = ".".join(parts[:i])
                if name not in sys.modules:
                    mod = types.ModuleType(name)
                    mod.__path__ = []
                    sys.modules[name] = mod
                    if i > 1:
                        setattr(sys.modules[".".join(parts[: i - 1])], parts[i - 1], mod)
            target = sys.modules[module]
        setattr(target, attr, archive_truth)


def run_tests(tests_dir: Path, env: dict, case_timeout: int = 60) -> list[dict]:
    """Run every test case of every ``tests_dir/*.py`` on ``env``.

    Parameters
    ----------
    tests_dir : pathlib.Path
    env : dict
        Variable name -> value.
    case_timeout : int, default 60
        Seconds per test case.

    Returns
    -------
    list of dict
        One per case, in order: ``question, test, passed, error, message``.
    """
    from otter.test_files import ExceptionTestFile

    signal.signal(signal.SIGALRM, _alarm)
    results = []
    for path in sorted(tests_dir.glob("*.py")):
        tf = ExceptionTestFile.from_file(str(path))
        for tc in tf.test_cases:
            row = {"question": tf.name, "test": tc.name, "passed": True, "error": "", "message": ""}
            signal.alarm(case_timeout)
            try:
                tc.body.call_func(env)
            except Exception as err:  # a failing test: any exception, as in otter
                row.update(passed=False, error=type(err).__name__, message=str(err)[:2000])
            finally:
                signal.alarm(0)
            results.append(row)
    return results


def main(argv: list[str] | None = None) -> int:
    """``testrun.py CONFIG``; CONFIG: ``tests``, ``export``, ``truth``, ``names``, ``truth_hooks``, ``case_timeout``.

    Parameters
    ----------
    argv : list of str, optional
        ``[CONFIG]``; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 (failing tests are results, not errors).
    """
    argv = sys.argv[1:] if argv is None else argv
    config = json.loads(Path(argv[0]).read_text())
    report, sys.stdout = sys.stdout, sys.stderr  # a test that prints must not corrupt the report
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import matplotlib

    matplotlib.use("agg")
    from values import ExportError, Unsupported, load

    out: dict = {"results": [], "error": None}
    try:
        env = load(Path(config["export"]), config["names"])
    except ExportError as err:
        env, out["error"] = {}, str(err)
    out["unsupported"] = {n: v.what for n, v in env.items() if isinstance(v, Unsupported)}
    install_truth(config.get("truth_hooks", []), config["truth"])
    out["results"] = run_tests(Path(config["tests"]), env, int(config.get("case_timeout", 60)))
    report.write(json.dumps(out))
    report.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
