"""``python -m router.cli``: the same as the ``tierroute`` script."""

from router.cli.main import main

main()
