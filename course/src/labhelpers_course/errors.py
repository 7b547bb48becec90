"""Every exception the course tools raise on purpose, each saying what to do.

The grading ones split blame: :class:`GradingError` and :class:`SandboxError` are *our*
failures (a master, the machine, the stand-in), so a submission they hit is reported as
"not graded", never as a zero; what a submission does wrong is a zero with its reason,
decided inside :mod:`labhelpers_course.grade`, never an exception that escapes it.
"""

from __future__ import annotations

__all__ = ["CourseError", "GradingError", "SandboxError", "NameClash"]


class CourseError(Exception):
    """Base class of the course tools' errors."""


class GradingError(CourseError):
    """The grader's own set-up is wrong (a master, a test file, a changed checksum).

    Never a student's zero: the submission it hit is reported as "not graded".
    """


class SandboxError(GradingError):
    """This machine cannot sandbox submissions (not root, no bubblewrap, no user namespaces),
    or a sandbox could not be set up. The message says what to install or run."""


class NameClash(CourseError, ValueError):
    """Two submission files give the same student id for the same exercise; the message names both."""
