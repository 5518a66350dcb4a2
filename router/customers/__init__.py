"""Customers and their value tiers (1 strategic partner … 4 money-losing)."""
