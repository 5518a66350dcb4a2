"""Escalation and SLA reports: aggregate queries, the report model, CSV/HTML rendering, the weekly digest."""
