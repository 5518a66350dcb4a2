"""Tier automation: what each tier does by itself when a ticket arrives in it."""
