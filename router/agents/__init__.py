"""Helpdesk agents, their roles, the tiers they work and their API tokens."""
