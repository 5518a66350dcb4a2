"""The audit trail's keys, which live outside the database: the chain's HMAC key and the checkpoints' Ed25519 key.

Someone who can write the database cannot read these, so they can neither recompute the chain (HMAC) nor
forge a checkpoint (signature). Each key is taken from the settings or from a file in the data dir, made on
first use with mode 0600 (docs/audit.md says who should hold which).

The ticket service only holds a session, so the composition root puts the keyring in every session's
``info`` (``queues.runtime``); a session made elsewhere falls back to the keyring of ``get_settings()``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlmodel.ext.asyncio.session import AsyncSession

from router.settings import Settings, get_settings

SESSION_KEY = "tierroute.audit_keyring"


class AuditKeyError(Exception):
    """A key file that cannot be read or made; the message names the file."""


@dataclass(frozen=True)
class ChainKey:
    """An HMAC-SHA256 key of the chain; ``key_id`` names it in every event it sealed (it reveals nothing)."""

    secret: bytes = field(repr=False)
    key_id: str = ""

    @classmethod
    def of(cls, secret: bytes) -> ChainKey:
        return cls(secret, hashlib.sha256(b"tierroute audit key id\0" + secret).hexdigest()[:16])

    def mac(self, message: bytes) -> str:
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Keyring:
    """The key new events are sealed with, and every key an older event may name."""

    current: ChainKey
    known: dict[str, ChainKey]

    @classmethod
    def of(cls, current: ChainKey, previous: list[ChainKey] | None = None) -> Keyring:
        return cls(current, {k.key_id: k for k in [*(previous or []), current]})

    def get(self, key_id: str) -> ChainKey | None:
        return self.known.get(key_id)


def _create_exclusively(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` unless it exists; atomic, so processes starting together agree on one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs is kept
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _read_or_create(path: Path, make: bytes) -> bytes:
    try:
        if not path.exists():
            _create_exclusively(path, make)
        return path.read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"{path}: cannot read or create the key file: {exc.strerror or exc}") from exc


def secret_file(path: Path, what: str) -> bytes:
    """An HMAC secret kept in a file outside the database (hex, 32 characters or more), made with mode 0600
    on first use: the audit chain's key, the self-service links' key."""
    text = _read_or_create(path, secrets.token_hex(32).encode() + b"\n").strip()
    if len(text) < 32:
        raise AuditKeyError(f"{path}: {what} must be at least 32 characters")
    return text


def load_keyring(settings: Settings, *, create: bool = True) -> Keyring:
    """``TIERROUTE_AUDIT_KEY`` (and the previous keys), or the key file in the data dir, made on first use
    unless ``create`` is False (a verifier must not invent a key: it would find every chain foreign)."""
    if settings.audit_key is not None:
        current = ChainKey.of(settings.audit_key.get_secret_value().encode())
    else:
        path = settings.audit_key_file
        if not create and not path.exists():
            raise AuditKeyError(
                f"{path}: no audit chain key here; set TIERROUTE_AUDIT_KEY, or TIERROUTE_DATA_DIR to the application's"
            )
        current = ChainKey.of(secret_file(path, "the audit key"))
    previous = [ChainKey.of(k.get_secret_value().encode()) for k in settings.audit_previous_keys]
    return Keyring.of(current, previous)


@lru_cache(maxsize=1)
def _default_keyring() -> Keyring:
    return load_keyring(get_settings())


def keyring_of(session: AsyncSession) -> Keyring:
    keyring = session.info.get(SESSION_KEY)
    return keyring if isinstance(keyring, Keyring) else _default_keyring()


def public_key_id(public_key: Ed25519PublicKey) -> str:
    """A short name of a signing key: SHA-256 of its raw 32 bytes, 16 hex digits."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_signing_key(path: Path, *, create: bool = True) -> Ed25519PrivateKey:
    """The checkpoint signing key (PEM, PKCS#8); made with mode 0600 when ``create`` and absent."""
    if not create and not path.exists():
        raise AuditKeyError(f"{path}: no checkpoint signing key here")
    fresh = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem = _read_or_create(path, fresh)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(f"{path}: not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditKeyError(f"{path}: not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A trusted public key (PEM) to check checkpoints with, or the public half of a private key file."""
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    try:
        if b"PRIVATE KEY" in pem:
            private = serialization.load_pem_private_key(pem, password=None)
            if isinstance(private, Ed25519PrivateKey):
                return private.public_key()
        else:
            public = serialization.load_pem_public_key(pem)
            if isinstance(public, Ed25519PublicKey):
                return public
    except (ValueError, TypeError) as exc:
        raise AuditKeyError(f"{path}: not a PEM key: {exc}") from exc
    raise AuditKeyError(f"{path}: not an Ed25519 key")
