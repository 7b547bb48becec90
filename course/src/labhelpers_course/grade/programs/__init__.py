"""Programs the grader starts as other, unprivileged users; each is standalone.

They are copied out of this package into the grading run's folder (readable by the sandbox
uids) and run by the student runtime's Python, which does not have the course tools, so each
imports only the standard library, its siblings here and the runtime's packages:

======================  =========================  ==================================================
``driver.py``           student sandbox (uid U)    runs the notebook (nbclient), then the export cell
``forward.py``          student sandbox (uid U)    127.0.0.1:P -> the filter's unix sockets
``grading_export.py``   the student's kernel       variables -> JSON + ``.npy`` (never pickle)
``netfilter.py``        host, uid U+1              the HTTP filter: reads of the stand-in only
``testrun.py``          tests sandbox (uid U+2)    the master's tests on the exported values
``values.py``           tests sandbox (uid U+2)    the export read back as untrusted data
======================  =========================  ==================================================
"""

__all__: list[str] = []
