"""labhelpers-course: the course tools of the lab.

``labhelpers run`` (execute the notebooks), ``labhelpers exercises`` (student notebooks from the
masters in ``solutions/``), ``labhelpers grade`` (grade submissions against the offline stand-in),
and :mod:`labhelpers_course.truth` (what hidden tests compare answers with).
"""

__version__ = "0.2.0"
