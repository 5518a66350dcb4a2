"""Signed checkpoints: every ticket's chain head at one moment, under an Ed25519 signature over their Merkle root.

The HMAC key stops someone who can only write the database; a checkpoint also stops someone who has the
HMAC key too (a stolen key, an insider on the application host): a chain recomputed after a checkpoint no
longer holds the event the checkpoint pinned. The signing key lives outside the database (``keys``), and a
checkpoint is worth most copied off the host (docs/audit.md). The worker writes one every hour
(``audit.checkpoint``); ``tierroute audit checkpoint`` writes one on demand.

A checkpoint file is JSON: the signed statement (format, time, ticket count, Merkle root, key id), the
public key and signature, and the heads themselves (``[ticket id, seq, seal]``, by id) so a verifier can
tell which ticket changed; the heads must hash to the signed root.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from router.audit import merkle
from router.audit.chain import ChainReport, Pin
from router.audit.keys import load_signing_key, public_key_id
from router.audit.service import verify_all
from router.models.columns import utcnow
from router.models.tickets import Ticket
from router.settings import Settings

FORMAT = "tierroute-audit-checkpoint/1"
Head = tuple[int, int, str]


class CheckpointError(Exception):
    """A checkpoint file that cannot be trusted or read; the message names the file and why."""


@dataclass(frozen=True)
class Checkpoint:
    created_at: datetime
    heads: list[Head]
    root: str
    key_id: str
    public_key: bytes
    signature: bytes

    @staticmethod
    def statement(created_at: datetime, tickets: int, root: str, key_id: str) -> bytes:
        """The bytes that are signed: a verifier rebuilds them from the file's fields."""
        return f"{FORMAT}\n{created_at.isoformat()}\n{tickets}\n{root}\n{key_id}\n".encode()

    def pins(self) -> dict[int, Pin]:
        return {ticket_id: (seq, head) for ticket_id, seq, head in self.heads}

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "created_at": self.created_at.isoformat(),
            "tickets": len(self.heads),
            "root": self.root,
            "key_id": self.key_id,
            "public_key": base64.b64encode(self.public_key).decode(),
            "signature": base64.b64encode(self.signature).decode(),
            "heads": [list(h) for h in self.heads],
        }


async def current_heads(session: AsyncSession) -> list[Head]:
    """Every ticket's head, in one statement (one consistent snapshot), by id."""
    rows = await session.exec(select(Ticket.id, Ticket.audit_seq, Ticket.audit_head).order_by(col(Ticket.id)))
    return [(int(tid), seq, head) for tid, seq, head in rows.all() if tid is not None]


def sign(heads: list[Head], key: Ed25519PrivateKey, created_at: datetime) -> Checkpoint:
    root = merkle.root(merkle.leaf(*h) for h in heads)
    public = key.public_key()
    key_id = public_key_id(public)
    signature = key.sign(Checkpoint.statement(created_at, len(heads), root, key_id))
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return Checkpoint(created_at, heads, root, key_id, raw, signature)


def write(checkpoint: Checkpoint, path: Path) -> None:
    """Atomically: a reader never sees half a checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(checkpoint.as_json(), separators=(",", ":")) + "\n")
    os.replace(temporary, path)


def read(path: Path, trusted: Ed25519PublicKey | None = None) -> Checkpoint:
    """Load a checkpoint and check it: the heads hash to the root, the signature holds, and the signer is
    ``trusted`` when given. Every failure is a ``CheckpointError`` naming the file."""
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise CheckpointError(f"{path}: not a checkpoint (invalid JSON: {exc})") from exc
    try:
        if doc["format"] != FORMAT:
            raise CheckpointError(f"{path}: unknown checkpoint format {doc['format']!r}")
        checkpoint = Checkpoint(
            created_at=datetime.fromisoformat(doc["created_at"]),
            heads=[(int(t), int(s), str(h)) for t, s, h in doc["heads"]],
            root=str(doc["root"]),
            key_id=str(doc["key_id"]),
            public_key=base64.b64decode(doc["public_key"], validate=True),
            signature=base64.b64decode(doc["signature"], validate=True),
        )
        public = Ed25519PublicKey.from_public_bytes(checkpoint.public_key)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: not a checkpoint ({type(exc).__name__}: {exc})") from exc
    if public_key_id(public) != checkpoint.key_id:
        raise CheckpointError(f"{path}: the key id does not match the public key it carries")
    if trusted is not None and public_key_id(trusted) != checkpoint.key_id:
        raise CheckpointError(f"{path}: signed by key {checkpoint.key_id}, not the trusted {public_key_id(trusted)}")
    if merkle.root(merkle.leaf(*h) for h in checkpoint.heads) != checkpoint.root:
        raise CheckpointError(f"{path}: the heads listed do not hash to the signed root (the file was edited)")
    statement = Checkpoint.statement(checkpoint.created_at, len(checkpoint.heads), checkpoint.root, checkpoint.key_id)
    try:
        public.verify(checkpoint.signature, statement)
    except InvalidSignature:
        raise CheckpointError(f"{path}: the signature does not verify (the file was edited or forged)") from None
    return checkpoint


async def take(session: AsyncSession, settings: Settings, out: Path | None = None) -> tuple[Checkpoint, Path]:
    """Sign the current heads and write them to ``out``, or to a new file in the checkpoint folder (keeping
    the newest ``audit_checkpoints_kept`` there)."""
    key = load_signing_key(settings.effective_audit_signing_key_file)
    checkpoint = sign(await current_heads(session), key, utcnow())
    if out is None:
        folder = settings.effective_audit_checkpoint_dir
        out = folder / f"checkpoint-{checkpoint.created_at.strftime('%Y%m%dT%H%M%S%fZ')}.json"
        write(checkpoint, out)
        _prune(folder, settings.audit_checkpoints_kept)
    else:
        write(checkpoint, out)
    return checkpoint, out


def _prune(folder: Path, kept: int) -> None:
    if kept <= 0:
        return
    for old in sorted(folder.glob("checkpoint-*.json"))[:-kept]:
        old.unlink(missing_ok=True)


async def verify_against(session: AsyncSession, checkpoint: Checkpoint) -> AsyncIterator[ChainReport]:
    """Every ticket's chain, each held to the head the checkpoint pinned; then a report for each ticket the
    checkpoint saw that is gone from the database."""
    pins = checkpoint.pins()
    seen: set[int] = set()
    async for report in verify_all(session, pins=pins):
        seen.add(report.ticket_id)
        yield report
    for ticket_id in sorted(pins.keys() - seen):
        seq = pins[ticket_id][0]
        yield ChainReport(ticket_id, False, 0, seq, "the ticket is gone from the database; a checkpoint saw it")
