"""Macros (canned replies): leads' sandboxed templates of a reply, with actions applied through the ticket service."""
