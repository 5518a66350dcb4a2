"""``tierroute agents add`` refuses what is not an agent with one line (issue 16, item 21)."""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import func, select

from queues.runtime import Runtime
from router.models.agents import Agent
from router.settings import Settings
from tests.conftest import one_backend
from tests.test_cli import tierroute


def refusal(settings: Settings, *args: str) -> str:
    """``agents add`` with ``args``: exit 2 and the one line it printed on stderr."""
    done = tierroute(settings, "agents", "add", *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    return line


@one_backend
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--name", "Ann", "--email", "not-an-email"), "error: not an email address: 'not-an-email'"),
        (("--name", "Ann", "--email", "ann@"), "error: not an email address: 'ann@'"),
        (("--name", "", "--email", "ann@support.example"), "error: an agent needs a name"),
        (("--name", "   ", "--email", "ann@support.example"), "error: an agent needs a name"),
        (("--name", "A" * 201, "--email", "ann@support.example"), "error: a name has at most 200 characters"),
    ],
    ids=["no-at-sign", "no-domain", "empty-name", "blank-name", "long-name"],
)
async def test_a_bad_email_or_name_is_one_line_and_adds_nobody(
    runtime: Runtime, settings: Settings, args: tuple[str, ...], message: str
) -> None:
    assert refusal(settings, *args).startswith(message)
    async with runtime.app.sessionmaker() as s:
        assert (await s.exec(select(func.count()).select_from(Agent))).one() == 0


async def test_a_duplicate_email_in_any_case_is_one_line(
    runtime: Runtime, settings: Settings, client: httpx.AsyncClient
) -> None:
    first = tierroute(settings, "agents", "add", "--name", " Ann Lee ", "--email", "Ann@Support.Example")
    assert first.returncode == 0, first.stderr
    line = refusal(settings, "--name", "Ann", "--email", "ANN@support.example")
    assert line == "error: an agent with email ann@support.example exists"
    async with runtime.app.sessionmaker() as s:
        [agent] = (await s.exec(select(Agent))).all()
    assert (agent.name, agent.email) == ("Ann Lee", "ann@support.example")
