"""``tierroute agents list|set|token`` and ``deactivate`` (issue 17 item 10): the same services as the UI
and API, audited with the actor ``cli``; bad input and unknown agents are one line and exit 2."""

from __future__ import annotations

import httpx
from sqlmodel import col, select

from queues.runtime import Runtime
from router.models.admin import AdminEvent
from router.settings import Settings
from tests.conftest import auth, one_backend
from tests.test_cli import tierroute


def ok(settings: Settings, *args: str) -> str:
    done = tierroute(settings, "agents", *args)
    assert done.returncode == 0, (done.stdout, done.stderr)
    return done.stdout


def refused(settings: Settings, *args: str) -> str:
    done = tierroute(settings, "agents", *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    return line


@one_backend
async def test_list_set_token_and_deactivate(runtime: Runtime, settings: Settings, client: httpx.AsyncClient) -> None:
    ok(settings, "add", "--name", "Ann Lee", "--email", "ann@support.example", "--tiers", "1")
    assert "ann@support.example\tAnn Lee\tagent\ttiers 1\tactive" in ok(settings, "list")

    line = ok(settings, "set", "ann@support.example", "--tiers", "2,3", "--role", "lead", "--time-zone", "Asia/Tokyo")
    assert "\tlead\ttiers all\tactive" in line

    issued = ok(settings, "token", "ann@support.example", "--label", "bot")
    token = issued.strip().rpartition(" ")[2]
    assert (await client.get("/api/v1/queues", headers=auth(token))).status_code == 200
    listed = ok(settings, "token", "ann@support.example", "--list")
    token_id = next(row.split("\t")[0] for row in listed.splitlines() if "\tbot\t" in row)
    assert "revoked" in ok(settings, "token", "ann@support.example", "--revoke", token_id)
    assert (await client.get("/api/v1/queues", headers=auth(token))).status_code == 401

    assert "deactivated" in ok(settings, "deactivate", "ann@support.example")
    assert "\tdeactivated" in ok(settings, "list")

    async with runtime.app.sessionmaker() as s:
        events = (await s.exec(select(AdminEvent).order_by(col(AdminEvent.id)))).all()
    assert {e.actor for e in events} == {"cli"}
    assert [e.action for e in events] == [
        "agent.added",
        "agent.token_issued",
        "agent.changed",
        "agent.token_issued",
        "agent.token_revoked",
        "agent.deactivated",
    ]


@one_backend
async def test_bad_input_is_one_line(runtime: Runtime, settings: Settings) -> None:
    ok(settings, "add", "--name", "Ann", "--email", "ann@support.example")
    assert refused(settings, "set", "nobody@support.example", "--role", "lead") == (
        "error: there is no agent nobody@support.example"
    )
    assert refused(settings, "set", "ann@support.example", "--time-zone", "Nowhere/Land").startswith(
        "error: 'Nowhere/Land' is not a time zone name"
    )
    assert refused(settings, "set", "ann@support.example", "--role", "boss").startswith("error: role must be one of")
    assert refused(settings, "set", "ann@support.example", "--password", "short").startswith(
        "error: a web UI password needs at least 8 characters"
    )
    assert refused(settings, "token", "ann@support.example", "--revoke", "999") == "error: agent 1 has no token 999"


@one_backend
async def test_a_shift_is_checked_against_the_sla_files_calendars(runtime: Runtime, settings: Settings) -> None:
    """The command line knows the calendars of the SLA policies in force (``rules/sla.yaml``), as the API
    does: a calendar of that file is taken, another name is one line naming the known ones."""
    ok(settings, "add", "--name", "Ann", "--email", "ann@support.example", "--tiers", "1")
    assert "berlin-office" in ok(settings, "set", "ann@support.example", "--shift", "berlin-office")
    line = refused(settings, "set", "ann@support.example", "--shift", "moon-office")
    assert line.startswith("error: unknown calendar 'moon-office'; known: ") and "berlin-office" in line
    assert "always" in ok(settings, "set", "ann@support.example", "--shift", "")
