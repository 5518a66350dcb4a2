"""Self-service (tier 0): suggestions, one-click links, figures (``docs/self-service.md``)."""
