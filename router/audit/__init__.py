"""The append-only audit trail of every ticket: a keyed chain per ticket and signed checkpoints (docs/audit.md)."""
