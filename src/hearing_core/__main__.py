"""``python -m hearing_core``: the same as the ``hearing`` command."""

from hearing_core.cli import main

main()
