"""An agent's workspace: saved views of the ticket list, recently viewed tickets, what is on their plate."""
