"""Intake: every door a ticket comes in by, and the idempotency ledger behind them."""
