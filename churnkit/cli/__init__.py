"""The ``churnkit`` command line: one thin command per pipeline stage, plus ``run`` and ``demo``.

In: file paths and options. Out: the stage's output folder and a short summary on the
console; errors end with exit code 2 and one paragraph that says how to fix them.
"""

from churnkit.cli._app import app, main

__all__ = ["app", "main"]
