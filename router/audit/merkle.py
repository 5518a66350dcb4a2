"""A Merkle tree over every ticket's chain head (RFC 6962 hashing), the root a checkpoint signs. Pure.

Leaves and inner nodes are hashed with different prefixes (0x00, 0x01) so that a leaf can never pass for a
node; the tree is RFC 6962's (the left subtree holds the largest power of two below the size), built
bottom-up by carrying an odd last node one level up, which makes the same tree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

EMPTY_ROOT = hashlib.sha256(b"").hexdigest()


def leaf(ticket_id: int, seq: int, head: str) -> bytes:
    """One ticket's head: its id, the last event's sequence number and seal."""
    return hashlib.sha256(b"\x00" + f"{ticket_id}:{seq}:{head}".encode()).digest()


def root(leaves: Iterable[bytes]) -> str:
    """The tree's root (hex); the empty tree's is SHA-256 of nothing."""
    level = list(leaves)
    if not level:
        return EMPTY_ROOT
    while len(level) > 1:
        paired = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()
