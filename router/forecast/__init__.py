"""Breach forecast per tier: when will each waiting ticket be picked up, and will that be after its SLA due
time (``engine`` is pure; ``capacity``, ``queries`` read the database; ``service`` records predictions)."""
