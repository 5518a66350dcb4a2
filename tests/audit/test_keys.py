"""The chain key comes from the settings or a 0600 file made once; every process that starts together gets one key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlmodel import select

from queues.runtime import Runtime
from router.audit import service as audit
from router.audit.keys import load_keyring
from router.models.tickets import Ticket
from router.settings import Settings
from tests.audit.test_chain import ticket_with_history
from tests.conftest import auth, make_agent, one_backend


def test_the_key_file_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, audit_key=None)
    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(lambda _: load_keyring(settings).current.key_id, range(16)))
    assert len(ids) == 1
    assert settings.audit_key_file.stat().st_mode & 0o777 == 0o600
    assert load_keyring(settings).current.key_id in ids


def test_a_configured_key_wins_and_old_keys_still_verify(tmp_path: Path) -> None:
    old, new = "o" * 40, "n" * 40
    keyring = load_keyring(Settings(data_dir=tmp_path, audit_key=new, audit_previous_keys=[old]))
    assert not (tmp_path / "audit-hmac.key").exists()
    assert keyring.current.secret == new.encode()
    assert {k.secret for k in keyring.known.values()} == {old.encode(), new.encode()}


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="TIERROUTE_AUDIT_KEY must be at least 32 characters"):
        Settings(audit_key="short")


@one_backend
async def test_a_change_committed_between_the_two_reads_is_not_tampering(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    """The ticket row read before a change commits and its events after: a second, fresh look clears it."""
    _, lead = await make_agent(runtime, role="lead", tiers=())
    tid = await ticket_with_history(runtime, client, lead)
    async with runtime.app.sessionmaker() as s:
        stale = (await s.exec(select(Ticket).where(Ticket.id == tid))).one()
        moved = await client.post(f"/api/v1/tickets/{tid}/escalate", json={"reason": "more"}, headers=auth(lead))
        assert moved.status_code == 200
        events = await audit.events(s, tid)
        first = audit.check_chain(stale, events, audit.keyring_of(s))
        assert (first.valid, first.problem) == (False, "event 5 is beyond the ticket's recorded head 4")
        assert (await audit.verify_ticket(s, stale)).valid is True
