"""One test per way to tamper with the audit trail, each pinning what verification says about it.

The attacker writes the database directly (as anyone with its credentials can); the HMAC key and the
checkpoint signing key live outside it. The ticket: created, routed, acknowledged, escalated (events 1-4).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlmodel import col, select

from queues.runtime import Runtime
from router.audit import checkpoints
from router.audit.chain import GENESIS, fields_of, legacy_hash, seal
from router.audit.keys import ChainKey, keyring_of
from router.models.audit import AuditEvent
from router.models.tickets import Ticket
from router.settings import Settings
from tests.audit.test_chain import ticket_with_history
from tests.cli_in_process import run_cli
from tests.conftest import auth, make_agent

GUESSED_KEY = ChainKey.of(b"the attacker does not have the real key, so guesses")


async def _setup(runtime: Runtime, client: httpx.AsyncClient) -> tuple[str, int]:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await ticket_with_history(runtime, client, lead)
    assert (await _verify(client, lead, tid))["valid"] is True
    return lead, tid


async def _verify(client: httpx.AsyncClient, token: str, tid: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/tickets/{tid}/audit/verify", headers=auth(token))
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


async def _sql(runtime: Runtime, tid: int, *statements: str) -> None:
    async with runtime.app.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement), {"t": tid})


def _broken(report: dict[str, Any], seq: int, words: str) -> None:
    assert report["valid"] is False, report
    assert report["broken_at_seq"] == seq, report
    assert words in report["problem"], report


async def _rewrite(runtime: Runtime, tid: int, key: ChainKey | None, new_reason: str = "nothing happened") -> None:
    """Recompute the whole chain after editing event 2, and move the head: sealed with ``key``, or unkeyed
    (passed off as legacy) when ``key`` is None."""
    async with runtime.app.sessionmaker() as s:
        chain = (
            await s.exec(select(AuditEvent).where(AuditEvent.ticket_id == tid).order_by(col(AuditEvent.seq)))
        ).all()
        prev = GENESIS
        for event in chain:
            if event.seq == 2:
                event.reason = new_reason
            event.prev_hash = prev
            if key is None:
                event.key_id, event.state = None, None
                event.hash = legacy_hash(fields_of(event))
            else:  # the event keeps naming the installation's key
                event.hash = seal(key, fields_of(event), event.state or {})
            prev = event.hash
        ticket = await s.get(Ticket, tid)
        assert ticket is not None
        ticket.audit_head = prev
        await s.commit()


async def _checkpoint(runtime: Runtime, settings: Settings, path: Path) -> checkpoints.Checkpoint:
    async with runtime.app.sessionmaker() as s:
        taken, _ = await checkpoints.take(s, settings, path)
    return taken


async def test_an_edited_event_fails_its_seal(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead, tid = await _setup(runtime, client)
    await _sql(runtime, tid, "UPDATE audit_event SET reason = 'nothing to see' WHERE ticket_id = :t AND seq = 4")
    _broken(await _verify(client, lead, tid), 4, "event content does not match its seal")


async def test_reordered_events_break_the_links(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead, tid = await _setup(runtime, client)
    await _sql(
        runtime,
        tid,
        "UPDATE audit_event SET seq = -2 WHERE ticket_id = :t AND seq = 2",
        "UPDATE audit_event SET seq = 2 WHERE ticket_id = :t AND seq = 3",
        "UPDATE audit_event SET seq = 3 WHERE ticket_id = :t AND seq = -2",
    )
    _broken(await _verify(client, lead, tid), 2, "link to the previous event is broken")


async def test_a_deleted_middle_event_is_missing(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead, tid = await _setup(runtime, client)
    await _sql(runtime, tid, "DELETE FROM audit_event WHERE ticket_id = :t AND seq = 3")
    _broken(await _verify(client, lead, tid), 3, "event 3 is missing")


async def test_a_deleted_tail_with_the_head_moved_back(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    """The tail (the escalation) deleted and the head moved back to event 3: the ticket's row still says
    tier 3, which event 3 does not. Put the row back to tier 2 as well and the chain is consistent again:
    only a checkpoint taken before knows there was an event 4."""
    lead, tid = await _setup(runtime, client)
    before = await _checkpoint(runtime, settings, tmp_path / "before.json")
    await _sql(
        runtime,
        tid,
        "DELETE FROM audit_event WHERE ticket_id = :t AND seq = 4",
        "UPDATE ticket SET audit_seq = 3,"
        " audit_head = (SELECT hash FROM audit_event WHERE ticket_id = :t AND seq = 3) WHERE id = :t",
    )
    _broken(await _verify(client, lead, tid), 3, "changed without an audit event: support_tier 3 (event says 2)")

    await _sql(runtime, tid, "UPDATE ticket SET support_tier = 2 WHERE id = :t")
    assert (await _verify(client, lead, tid))["valid"] is True  # consistent without the checkpoint...
    async with runtime.app.sessionmaker() as s:
        reports = [r async for r in checkpoints.verify_against(s, before)]
    [report] = reports
    assert (report.valid, report.broken_at_seq) == (False, 4)  # ...but the checkpoint saw event 4
    assert report.problem == "a checkpoint saw event 4; the chain now ends at 3"


async def test_a_forged_event_beyond_the_head(runtime: Runtime, client: httpx.AsyncClient) -> None:
    """An event appended without moving the head is past the head; moving the head too needs the key."""
    lead, tid = await _setup(runtime, client)
    async with runtime.app.sessionmaker() as s:
        last = (await s.exec(select(AuditEvent).where(AuditEvent.ticket_id == tid, AuditEvent.seq == 4))).one()
        forged = AuditEvent(
            **last.model_dump(exclude={"id", "seq", "prev_hash", "hash", "action", "reason"}),
            seq=5,
            action="resolved",
            reason="fixed",
            prev_hash=last.hash,
            hash="",
        )
        forged.hash = seal(keyring_of(s).current, fields_of(forged), forged.state or {})  # even with the key
        s.add(forged)
        await s.commit()
    _broken(await _verify(client, lead, tid), 5, "event 5 is beyond the ticket's recorded head 4")

    # Moving the head as well takes the key: sealed with a guess, the event is caught by its seal.
    guessed = seal(GUESSED_KEY, fields_of(forged), forged.state or {})
    await _sql(runtime, tid, f"UPDATE audit_event SET hash = '{guessed}' WHERE ticket_id = :t AND seq = 5")
    await _sql(runtime, tid, f"UPDATE ticket SET audit_seq = 5, audit_head = '{guessed}' WHERE id = :t")
    _broken(await _verify(client, lead, tid), 5, "event content does not match its seal")


async def test_a_ticket_changed_without_an_event(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead, tid = await _setup(runtime, client)
    await _sql(runtime, tid, "UPDATE ticket SET priority = 'urgent', status = 'resolved' WHERE id = :t")
    _broken(
        await _verify(client, lead, tid),
        4,
        "the ticket was changed without an audit event: status 'resolved' (event says 'queued'), "
        "priority 'urgent' (event says 'normal')",
    )


async def test_a_full_recomputation_without_the_key(runtime: Runtime, client: httpx.AsyncClient) -> None:
    """Without the key the chain cannot be recomputed: sealed with a guessed key it fails at event 1, and
    passed off as a legacy (unkeyed) chain its head is unkeyed, which no chain's head may be since the upgrade."""
    lead, tid = await _setup(runtime, client)
    await _rewrite(runtime, tid, GUESSED_KEY)
    _broken(await _verify(client, lead, tid), 1, "event content does not match its seal")

    await _rewrite(runtime, tid, None)
    _broken(await _verify(client, lead, tid), 4, "the head event is unkeyed")


async def test_a_full_recomputation_with_the_stolen_key_is_caught_by_a_checkpoint(
    runtime: Runtime, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    """With the HMAC key stolen the rewritten chain is consistent, so the key alone cannot tell; the signed
    checkpoint taken before it can, by API-free CLI as an auditor would run it."""
    lead, other = await _setup(runtime, client)
    tid = await ticket_with_history(runtime, client, lead)  # events 1-4 (the other's acknowledgement ran: 5)
    path = tmp_path / "checkpoint.json"
    env = {
        "TIERROUTE_DATABASE_URL": settings.effective_database_url,
        "TIERROUTE_REDIS_URL": settings.redis_url or "",
        "TIERROUTE_DATA_DIR": str(tmp_path / "data"),  # the signing key is made there on first use
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli("audit", *args, env=env)

    taken = cli("checkpoint", "--out", str(path))
    assert taken.returncode == 0, taken.stderr
    assert "checkpoint of 2 tickets" in taken.stdout
    assert (tmp_path / "data" / "audit-signing.pem").stat().st_mode & 0o777 == 0o600

    async with runtime.app.sessionmaker() as s:
        await _rewrite(runtime, tid, keyring_of(s).current)
    assert (await _verify(client, lead, tid))["valid"] is True  # the stolen key makes a consistent chain

    caught = cli("verify", "--against", str(path))
    assert caught.returncode == 1, caught.stdout + caught.stderr
    assert f"BROKEN ticket {tid}: event 4: event 4 is not the one a checkpoint saw: the chain was rewritten" in (
        caught.stderr
    )
    assert f"ticket {other}:" not in caught.stderr
    assert "checked 2 tickets: 1 valid, 1 broken" in caught.stdout

    one = cli("verify", "--ticket", str(tid), "--against", str(path))
    assert one.returncode == 1 and f"BROKEN ticket {tid}: event 4" in one.stderr

    # The checkpoint itself cannot be edited to match: its heads hash to the signed root.
    doc = path.read_text().replace(taken_head(path, tid), "0" * 64)
    path.write_text(doc)
    edited = cli("verify", "--against", str(path))
    assert edited.returncode == 2
    assert (
        edited.stderr.strip() == f"error: {path}: the heads listed do not hash to the signed root (the file was edited)"
    )


def taken_head(path: Path, tid: int) -> str:
    import json

    heads = {t: h for t, _, h in json.loads(path.read_text())["heads"]}
    return str(heads[tid])
