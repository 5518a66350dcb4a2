"""Chains written before the key (plain SHA-256) stay verifiable: the upgrade seals each once, on top.

After it, legacy events are valid only as the first events of a chain whose head is keyed, so nobody can
pass a rewritten chain off as legacy. Also the Merkle root the checkpoints sign.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlmodel import Session, col, select

from router.audit import merkle
from router.audit.chain import GENESIS, STATE_FIELDS, ChainReport, check_chain, legacy_hash
from router.audit.keys import ChainKey, Keyring
from router.db import MIGRATIONS_DIR, _prepare_sqlite, migrate
from router.models.audit import AuditEvent
from router.models.tickets import Ticket

KEYRING = Keyring.of(ChainKey.of(b"a key for the legacy chain tests, 32+ chars"))
AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _legacy_database(path: Path) -> None:
    """A database at 0011 with two tickets of two unkeyed events each; ticket 2's event 1 was edited."""
    engine = create_engine(f"sqlite:///{path}")
    _prepare_sqlite(engine, foreign_keys=False)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0011")
    with engine.begin() as conn:
        for tid in (1, 2):
            prev = GENESIS
            for seq, action in ((1, "created"), (2, "routed")):
                fields = {"ticket_id": tid, "seq": seq, "at": AT.isoformat(timespec="microseconds"), "actor": "system",
                          "action": action, "from_tier": None, "to_tier": None if seq == 1 else 1, "reason": None,
                          "data": {}, "prev_hash": prev}  # fmt: skip
                sealed = legacy_hash(fields)
                reason = "edited" if (tid, seq) == (2, 1) else None
                conn.execute(
                    text(
                        "INSERT INTO audit_event (ticket_id, seq, at, actor, action, to_tier, reason, data, prev_hash,"
                        " hash) VALUES (:tid, :seq, :at, 'system', :action, :to_tier, :reason, '{}', :prev, :hash)"
                    ),
                    {"tid": tid, "seq": seq, "at": AT.replace(tzinfo=None), "action": action,
                     "to_tier": fields["to_tier"], "reason": reason, "prev": prev, "hash": sealed},
                )  # fmt: skip
                prev = sealed
            conn.execute(
                text(
                    "INSERT INTO ticket (id, subject, status, support_tier, priority, requester_email, customer_tier,"
                    " channel, source, tags, escalation_count, reopen_count, created_at, updated_at, audit_seq,"
                    " audit_head) VALUES (:tid, 's', 'queued', 1, 'high', 'a@b.example', 3, 'api', 'api', '[]', 0, 0,"
                    " '2026-01-01', '2026-01-01', 2, :head)"
                ),
                {"tid": tid, "head": prev},
            )
    engine.dispose()


def _reports(path: Path) -> dict[int, ChainReport]:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with Session(engine) as s:
            tickets = s.exec(select(Ticket).order_by(col(Ticket.id))).all()
            reports = {}
            for t in tickets:
                assert t.id is not None
                chain = s.exec(select(AuditEvent).where(AuditEvent.ticket_id == t.id).order_by(col(AuditEvent.seq)))
                reports[t.id] = check_chain(t, list(chain), KEYRING)
            return reports
    finally:
        engine.dispose()


def test_the_upgrade_seals_legacy_chains_once_with_a_keyed_event(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _legacy_database(path)
    migrate(f"sqlite+aiosqlite:///{path}", audit_keyring=KEYRING)
    reports = _reports(path)
    assert reports[1] == ChainReport(1, True, 3, legacy_events=2)
    # A legacy chain broken before the upgrade stays broken: the seal does not bless it.
    assert (reports[2].valid, reports[2].broken_at_seq) == (False, 1)
    engine = create_engine(f"sqlite:///{path}")
    with Session(engine) as s:
        seal_event = s.exec(select(AuditEvent).where(AuditEvent.ticket_id == 1, AuditEvent.seq == 3)).one()
        assert (seal_event.action, seal_event.key_id, seal_event.data) == (
            "audit_keyed",
            KEYRING.current.key_id,
            {"legacy_events": 2},
        )
        assert seal_event.state is not None and set(seal_event.state) == set(STATE_FIELDS)
        assert seal_event.state["priority"] == "high"
    with engine.begin() as conn:  # pass the chain off as legacy again: remove the seal, move the head back
        head = conn.execute(text("SELECT hash FROM audit_event WHERE ticket_id = 1 AND seq = 2")).scalar()
        conn.execute(text("DELETE FROM audit_event WHERE ticket_id = 1 AND seq = 3"))
        conn.execute(text("UPDATE ticket SET audit_seq = 2, audit_head = :h WHERE id = 1"), {"h": head})
    engine.dispose()
    downgraded = _reports(path)[1]
    assert (downgraded.valid, downgraded.broken_at_seq) == (False, 2)
    assert downgraded.problem is not None and downgraded.problem.startswith("the head event is unkeyed")


def test_an_unkeyed_event_after_keyed_ones_is_refused(tmp_path: Path) -> None:
    """Without the key, a forger might append a well-hashed legacy event: legacy events only come first."""
    path = tmp_path / "old.db"
    _legacy_database(path)
    migrate(f"sqlite+aiosqlite:///{path}", audit_keyring=KEYRING)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        prev = conn.execute(text("SELECT hash FROM audit_event WHERE ticket_id = 1 AND seq = 3")).scalar()
        fields = {"ticket_id": 1, "seq": 4, "at": AT.isoformat(timespec="microseconds"), "actor": "system",
                  "action": "resolved", "from_tier": None, "to_tier": None, "reason": None, "data": {},
                  "prev_hash": prev}  # fmt: skip
        forged = legacy_hash(fields)
        conn.execute(
            text(
                "INSERT INTO audit_event (ticket_id, seq, at, actor, action, data, prev_hash, hash)"
                " VALUES (1, 4, :at, 'system', 'resolved', '{}', :prev, :hash)"
            ),
            {"at": AT.replace(tzinfo=None), "prev": prev, "hash": forged},
        )
        conn.execute(text("UPDATE ticket SET audit_seq = 4, audit_head = :h WHERE id = 1"), {"h": forged})
    engine.dispose()
    report = _reports(path)[1]
    assert (report.valid, report.broken_at_seq) == (False, 4)
    assert report.problem == "an unkeyed event after keyed ones (forged without the key, or downgraded)"


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def test_the_merkle_root_is_rfc_6962s() -> None:
    a, b, c, d, e = (merkle.leaf(i, i, "h") for i in range(5))
    assert merkle.root([]) == hashlib.sha256(b"").hexdigest()
    assert merkle.root([a]) == a.hex()
    assert merkle.root([a, b, c]) == _node(_node(a, b), c).hex()
    # Five leaves: the left subtree holds the largest power of two below five (four).
    assert merkle.root([a, b, c, d, e]) == _node(_node(_node(a, b), _node(c, d)), e).hex()
    assert merkle.leaf(1, 2, "x") != merkle.leaf(12, 2, "x") and merkle.leaf(1, 22, "x") != merkle.leaf(12, 2, "x")
