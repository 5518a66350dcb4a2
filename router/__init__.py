"""tierroute: the application — settings, database, domain services, HTTP API and CLI."""
