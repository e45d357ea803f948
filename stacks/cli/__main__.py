"""``python -m stacks.cli``: the same CLI as the ``trellis`` script."""

from stacks.cli.launch import main

main()
