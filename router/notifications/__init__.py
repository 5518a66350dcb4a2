"""In-app notifications to agents (with a mail when outbound mail is configured)."""
