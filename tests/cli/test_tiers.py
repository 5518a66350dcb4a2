"""``tierroute tiers check|score`` and ``customers set-tier``: located one-line errors with exit 2, a dry run
that changes nothing, an applied review and a hand-made change that land in the history."""

from __future__ import annotations

import csv
from pathlib import Path

from queues.runtime import Runtime
from router.settings import Settings
from tests.conftest import make_customer
from tests.customers.tiers_helpers import POLICY, add_monthly, trail
from tests.test_cli import tierroute


def test_tiers_check_lists_every_problem_located(tmp_path: Path) -> None:
    from tests.cli_in_process import run_cli

    good = tmp_path / "good.yaml"
    good.write_text(POLICY.format(best=1, thresholds="{1: 70, 2: 45, 3: 20}"), encoding="utf-8")
    done = run_cli("tiers", "check", str(good))
    assert done.returncode == 0 and "2 criteria, best tier 1, version " in done.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(POLICY.format(best=2, thresholds="{1: 10, 2: 45, 3: 20}"), encoding="utf-8")
    done = run_cli("tiers", "check", str(bad))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        f"{bad}:1:1: best is 1 or 4 (which end of the tiers is the best)",
        f"{bad}:15:14: tier 1 is better than tier 2: its threshold must be higher",
        "2 problem(s)",
    ]
    missing = run_cli("tiers", "check", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and missing.stderr.startswith(f"{tmp_path / 'nope.yaml'}:0:0: cannot read")


async def test_score_dry_run_then_apply(runtime: Runtime, settings: Settings, tmp_path: Path) -> None:
    policy = tmp_path / "tiers.yaml"
    policy.write_text(POLICY.format(best=1, thresholds="{1: 70, 2: 45, 3: 20}"), encoding="utf-8")
    env = {"TIERROUTE_TIER_POLICY": str(policy)}
    rising = await make_customer(runtime, ref="rising", tier=3, domain="rising.example")
    assert rising.id is not None
    await add_monthly(runtime, rising.id, "revenue", 11000)
    out = tmp_path / "scores.csv"

    dry = tierroute(settings, "tiers", "score", "--period", "2026Q4", "--csv", str(out), env=env)
    assert dry.returncode == 0, dry.stderr
    assert "1 (dry run)" in dry.stdout and "rising" in dry.stdout
    with out.open(encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert (row["external_ref"], row["score"], row["proposed_tier"], row["outcome"]) == ("rising", "80.0", "1", "move")
    assert (row["revenue"], row["revenue_points"], row["profit"], row["profit_points"]) == (
        "132000.0",
        "100.0",
        "",
        "0.0",
    )
    assert (await trail(runtime, rising.id)).changes == []

    applied = tierroute(settings, "tiers", "score", "--apply", "--period", "2026Q4", env=env)
    assert applied.returncode == 0, applied.stderr
    assert "1 made" in applied.stdout
    [step] = (await trail(runtime, rising.id)).changes
    assert (step.from_tier, step.to_tier, step.source, step.actor) == (3, 1, "policy", "cli")


async def test_score_wrong_input_is_one_located_line(runtime: Runtime, settings: Settings, tmp_path: Path) -> None:
    reversed_policy = tmp_path / "best4.yaml"
    reversed_policy.write_text(POLICY.format(best=4, thresholds="{4: 70, 3: 45, 2: 20}"), encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("criteria: [\n", encoding="utf-8")
    cases = [
        (("--period", "Q4-2026"), "error: --period: a quarterly review period is written like 2026Q4, got 'Q4-2026'"),
        (("--csv", str(tmp_path / "no" / "such.csv")), f"error: cannot write {tmp_path / 'no' / 'such.csv'}: no such"),
        (("--policy", str(reversed_policy)), f"error: {reversed_policy}: best: 4 is not the installation's scale"),
        (("--policy", str(broken)), f"{broken}:2:1: not valid YAML"),
    ]
    for args, line in cases:
        done = tierroute(settings, "tiers", "score", *args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.splitlines()[0].startswith(line), done.stderr


async def test_set_tier_by_hand(runtime: Runtime, settings: Settings) -> None:
    made = await make_customer(runtime, ref="acme", tier=2, domain="acme.example")
    assert made.id is not None
    for args, line in [
        (("acme", "seven", "--reason", "x"), "error: N: a customer tier is a number from 1 to 4, got 'seven'"),
        (("acme", "9", "--reason", "x"), "error: N: customer tier must be 1 to 4, got 9"),
        (("acme", "3"), "error: --reason: a tier change needs a reason"),
        (("nobody", "3", "--reason", "x"), "error: REF: no customer has the reference 'nobody'"),
    ]:
        done = tierroute(settings, "customers", "set-tier", *args)
        assert (done.returncode, done.stderr.strip()) == (2, line)
    done = tierroute(settings, "customers", "set-tier", "acme", "3", "--reason", "contract downgraded")
    assert done.returncode == 0 and "customer acme: tier 2 -> 3 (slipped); highest 2" in done.stdout
    again = tierroute(settings, "customers", "set-tier", "acme", "3", "--reason", "again")
    assert again.returncode == 0 and "at tier 3 already: nothing changed" in again.stdout
    t = await trail(runtime, made.id)
    assert [(h.from_tier, h.to_tier, h.reason, h.source, h.actor) for h in t.changes] == [
        (2, 3, "contract downgraded", "manual", "cli")
    ]
    assert [a.data["tier"] for a in t.audit] == [[2, 3]]
    assert sorted(t.event_types()) == ["customer.tier_changed", "customer.tier_slipped"]
