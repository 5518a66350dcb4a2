"""Push assignment: per-tier strategies, the assigner, offers' figures (``docs/assignment.md``)."""
