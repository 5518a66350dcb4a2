"""Per-tier work queues: ordering, claim, depth and listing (the Redis side lives in ``queues/``)."""
