"""Outbound mail: agents' replies and tier automation's messages, threaded into the requester's mailbox."""
