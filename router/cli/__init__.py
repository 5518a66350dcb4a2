"""The ``tierroute`` command line, part of the composition root (with ``router.asgi``): the one place in
``router`` that imports ``queues``, to wire the Redis-backed queue, effect sink and workers in.

``main`` holds the app and the long-running processes; ``admin``, ``rules``, ``reports`` and ``webhooks``
one command group each; ``common`` what they share.
"""

from router.cli.main import app

__all__ = ["app"]
