"""``labhelpers grade``: grade a folder of submissions, sandboxed, with results students cannot forge.

A submission is an untrusted program. Each one runs in a bubblewrap sandbox as an unprivileged
user of its own (:mod:`.sandbox`): its own process namespace, no network but the stand-in's
read endpoints behind a filter (``programs/netfilter.py``), a minimal environment, read-only
system and Python files, a fixed-size work folder holding only its notebook, limits on wall
time, memory, processes, file and output sizes. After its last cell the values the tests take
are exported as plain data (JSON + ``.npy``, never pickle), and a *second* sandbox that never
runs student code runs the master's tests, public and hidden, on them (:mod:`.run`). The hidden
tests and the archive truth never enter the student's process, so the only way to full marks is
the right answer.

========================  ===============================================================
module                    role
========================  ===============================================================
:mod:`.cli`               the command line (``register``)
:mod:`.folder`            a folder of submissions: private places, the loop, the outputs
:mod:`.submission`        one submission: screen, run, retry on a stand-in failure, score
:mod:`.run`               the two sandboxed steps and the run folder's layout
:mod:`.sandbox`           bubblewrap command line, limits, kill, tmpfs, availability
:mod:`.exercise`          what grading reads from the masters: tests, hints, answer cells
:mod:`.report`            grades.csv, gradebook.csv, canvas.csv, feedback, written pages, marks
:mod:`.names`             student ids, CSV cells, control characters, safe reads
``programs/``             what runs as the sandbox uids (driver, export, filter, tests)
========================  ===============================================================

Grading needs root and refuses otherwise (:func:`.sandbox.check_available`); it never grades
without the sandbox. See ``docs/instructors.md`` for the instructor's side.
"""

from labhelpers_course.grade.cli import register

__all__ = ["register"]
