"""SLA clocks: when each ticket owes a response or a resolution, and what happens when it is late."""
