"""Tickets: the one door through which every ticket state change passes (``service.py``)."""
