"""``tierroute customers cost``: each customer's cost to serve for a month (or several), from the audit
trail (``router.customers.cost``), as a table of the most costly or as CSV for a spreadsheet.

Registered on ``admin.customers_app``. Rates are given per support tier (``--rate 1=30``) and per vendor
handoff; a tier without a rate costs nothing per hour.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from router.cli.admin import _commit_or_exit, _exit_with, customers_app
from router.cli.common import console

if TYPE_CHECKING:
    from decimal import Decimal

    from sqlmodel.ext.asyncio.session import AsyncSession

    from router.customers.cost import MonthlyCost
    from router.models.customers import Customer
    from rules.tier_costs import CostRates

#: What a CSV row and the table say, in order.
COLUMNS = ("customer", "name", "tier", "month", "hours", "handling", "handoffs", "handoff cost", "total", "tickets")


def _month(text: str, option: str) -> date:
    from router.customers.values import PERIOD, PERIOD_RULE

    if not PERIOD.fullmatch(text):
        _exit_with(f"error: {option} {text!r} is not {PERIOD_RULE}")
    return date(int(text[:4]), int(text[5:]), 1)


def _after(month: date, months: int) -> date:
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _amount(text: str, option: str) -> Decimal:
    from decimal import Decimal, InvalidOperation

    try:
        return Decimal(text.strip())
    except InvalidOperation:
        _exit_with(f"error: {option} {text!r} is not an amount (like 45.50)")


def _rates(rate: list[str], handoff: str, currency: str) -> CostRates:
    from rules.tier_costs import CostRates

    per_hour: dict[int, Decimal | float] = {}
    for given in rate:
        tier, _, amount = given.partition("=")
        if not tier.strip().isdigit() or len(tier.strip()) > 2:
            _exit_with(f"error: --rate {given!r} is not TIER=AMOUNT (like 2=45.50)")
        per_hour[int(tier)] = _amount(amount, "--rate")
    try:
        return CostRates(per_hour=per_hour, per_vendor_handoff=_amount(handoff, "--handoff"), currency=currency)
    except ValueError as exc:
        _exit_with(f"error: {exc}")


@customers_app.command("cost")
def customers_cost(
    month: Annotated[
        str | None, typer.Option(help="The month, YYYY-MM (default: the last whole month), or the first of --months.")
    ] = None,
    months: Annotated[int, typer.Option(min=1, max=120, help="How many months from --month on.")] = 1,
    rate: Annotated[
        list[str] | None, typer.Option(help="An hour's cost at a support tier, TIER=AMOUNT (repeat per tier).")
    ] = None,
    handoff: Annotated[str, typer.Option(help="The cost of one handoff to an outside vendor.")] = "0",
    currency: Annotated[str, typer.Option(help="The rates' currency (ISO 4217).")] = "EUR",
    customer: Annotated[
        list[str] | None, typer.Option(help="Only this customer (external reference; repeatable).")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="Rows in the table, most costly first.")] = 25,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write every customer's rows to this CSV file instead.")
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            help="Also keep each month's figures as every customer's metrics (support_hours, support_cost, "
            "vendor_handoffs from the source tierroute), for the tier score."
        ),
    ] = False,
) -> None:
    """Cost to serve per customer and month: the time agents held the customer's tickets (claim to wait,
    escalation, resolution or release, from the audit trail) at each support tier's hourly rate, plus the
    vendor handoffs. Months are calendar months in UTC; the current month counts up to now."""
    from sqlmodel import col, select

    from router.customers import cost, cost_record
    from router.errors import NotFound
    from router.models.columns import utcnow
    from router.models.customers import Customer

    today = utcnow().date()
    first = _month(month, "--month") if month is not None else _after(date(today.year, today.month, 1), -1)
    end = _after(first, months)
    rates = _rates(rate or [], handoff, currency)
    if record and customer:
        _exit_with("error: --record keeps every customer's figures: leave --customer out")

    async def work(session: AsyncSession) -> tuple[dict[int, list[MonthlyCost]], dict[int, Customer]]:
        ids = None
        if customer:
            found = (await session.exec(select(Customer).where(col(Customer.external_ref).in_(customer)))).all()
            missing = sorted(set(customer) - {c.external_ref for c in found})
            if missing:
                raise NotFound(f"no customer has the reference {missing[0]!r}")
            ids = [c.id for c in found if c.id is not None]
        costs = await cost.cost_to_serve(session, first, end, rates, ids)
        if record:
            for index in range(months):
                done = await cost_record.record_month(session, _after(first, index), rates)
                m = done.figures
                console.print(
                    f"{_after(first, index):%Y-%m}: recorded for {done.customers} customers "
                    f"({m.created} new, {m.updated} changed, {m.unchanged} unchanged figures)"
                )
        rows = (await session.exec(select(Customer).where(col(Customer.id).in_(list(costs))))).all() if costs else []
        return costs, {c.id: c for c in rows if c.id is not None}

    costs, by_id = _commit_or_exit(work)
    lines = [(by_id[cid], m) for cid, monthly in costs.items() for m in monthly if cid in by_id]
    lines.sort(key=lambda line: (-line[1].total, line[0].external_ref, line[1].month))
    if csv_file is not None:
        _write_csv(csv_file, lines)
        console.print(f"{len(lines)} rows written to {csv_file} ({len(costs)} customers, {rates.currency})")
        return
    _print_table(lines[:top], len(lines), rates.currency, first, end)


def _cells(customer: Customer, m: MonthlyCost) -> list[str]:
    return [
        customer.external_ref,
        customer.name,
        str(customer.value_tier),
        m.month,
        str(m.handling_hours),
        str(m.handling_cost),
        str(m.vendor_handoffs),
        str(m.handoff_cost),
        str(m.total),
        str(m.tickets_handled),
    ]


def _write_csv(path: Path, lines: list[tuple[Customer, MonthlyCost]]) -> None:
    try:
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(COLUMNS)
            writer.writerows(_cells(c, m) for c, m in lines)
    except OSError as exc:
        _exit_with(f"error: cannot write {path}: {exc.strerror}")


def _print_table(
    lines: list[tuple[Customer, MonthlyCost]], total_rows: int, currency: str, first: date, end: date
) -> None:
    from rich.table import Table

    last = _after(end, -1)
    span = f"{first:%Y-%m}" if last == first else f"{first:%Y-%m} to {last:%Y-%m}"
    table = Table(*COLUMNS, title=f"cost to serve, {span} ({currency})")
    for customer, m in lines:
        table.add_row(*_cells(customer, m))
    console.print(table)
    if total_rows > len(lines):
        console.print(f"the {len(lines)} most costly of {total_rows} rows (--top, or --csv FILE for all)")
    elif not lines:
        console.print("no handling time and no vendor handoff in that time")
