"""``tierroute assignment check FILE``: check push assignment settings before a running process reloads them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Push assignment settings (docs/assignment.md).", no_args_is_help=True)


@app.command("check")
def assignment_check(file: Annotated[Path, typer.Argument(help="Assignment settings YAML file.")]) -> None:
    """Check assignment settings; lists every problem as file:line:column and exits 1 if there is any."""
    from rules.assignment import AssignmentError, load_assignment

    try:
        settings = load_assignment(file)
    except AssignmentError as exc:
        for problem in exc.problems:
            typer.echo(str(problem), err=True)
        typer.echo(f"{len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(1) from None
    tiers = ", ".join(f"tier {t} {a.strategy}" for t, a in sorted(settings.tiers.items()))
    typer.echo(f"{file}: {tiers or 'every tier pulls'}; away after {settings.away_after:g} s: ok")
