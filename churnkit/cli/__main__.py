"""``python -m churnkit.cli``: the ``churnkit`` command line."""

from churnkit.cli._app import main

main()
