"""Everything arq and Redis: connection, tier queues, effect dispatch, jobs, workers, reconcile."""
