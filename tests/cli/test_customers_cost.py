"""``tierroute customers cost``: the cost-to-serve figures of the hand-built trail (tests/customers/test_cost.py)
as a CSV and a table; bad options are one-line errors."""

from __future__ import annotations

import csv
from pathlib import Path

from queues.runtime import Runtime
from router.settings import Settings
from tests.conftest import one_backend
from tests.customers.test_cost import build
from tests.test_cli import tierroute

RATES = ("--rate", "1=40", "--rate", "2=60", "--handoff", "150")


@one_backend
async def test_october_as_csv_and_as_a_table(runtime: Runtime, settings: Settings, tmp_path: Path) -> None:
    await build(runtime)
    out = tmp_path / "cost.csv"
    done = tierroute(settings, "customers", "cost", "--month", "2026-10", *RATES, "--csv", str(out))
    assert done.returncode == 0, done.stderr
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["customer", "name", "tier", "month", "hours", "handling", "handoffs", "handoff cost", "total", "tickets"],
        ["acme", "Acme", "1", "2026-10", "36.75", "1490.00", "0", "0.00", "1490.00", "2"],
        ["beta", "Beta", "3", "2026-10", "1.00", "40.00", "0", "0.00", "40.00", "1"],
    ]
    table = tierroute(settings, "customers", "cost", "--month", "2026-10", *RATES, "--customer", "beta")
    assert table.returncode == 0, table.stderr
    assert "cost to serve, 2026-10 (EUR)" in table.stdout and "beta" in table.stdout and "acme" not in table.stdout
    kept = tierroute(settings, "customers", "cost", "--month", "2026-09", "--months", "2", *RATES, "--record")
    assert kept.returncode == 0, kept.stderr
    assert "2026-09: recorded for 2 customers (6 new, 0 changed, 0 unchanged figures)" in kept.stdout
    assert "2026-10: recorded for 2 customers (6 new, 0 changed, 0 unchanged figures)" in kept.stdout


@one_backend
async def test_bad_options_are_one_line_errors(runtime: Runtime, settings: Settings) -> None:
    for args, message in [
        (["--month", "2026-13"], "error: --month '2026-13' is not a month as YYYY-MM (like 2026-10)"),
        (["--rate", "x=1"], "error: --rate 'x=1' is not TIER=AMOUNT (like 2=45.50)"),
        (["--rate", "1=lots"], "error: --rate 'lots' is not an amount (like 45.50)"),
        (["--rate", "7=1"], "error: support tiers are 0 to 4, got 7"),
        (["--handoff", "-5"], "error: the vendor handoff rate must be a number from 0 to 1,000,000,000, got"),
        (["--customer", "nobody"], "error: no customer has the reference 'nobody'"),
        (["--customer", "acme", "--record"], "error: --record keeps every customer's figures: leave --customer out"),
    ]:
        done = tierroute(settings, "customers", "cost", *args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, (args, done.stderr)
        assert done.stderr.startswith(message), (args, done.stderr)
