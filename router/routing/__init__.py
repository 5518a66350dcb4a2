"""Routing: turn a new ticket into a rules snapshot, ask the rulebook, hand the decision to the ticket service."""
