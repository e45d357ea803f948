"""``python -m stacks.cli``: the same CLI as the ``trellis`` script."""

from stacks.cli.app import main

main()
