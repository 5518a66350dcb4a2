"""``tierroute webhooks``: check a configuration, make a signing secret."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Webhook sources, vendors and subscriptions.", no_args_is_help=True)


@app.command("check")
def check(file: Annotated[Path, typer.Argument(help="Webhooks YAML file.")]) -> None:
    """Check a webhooks configuration (secrets from the environment included); problems as file:line:column."""
    from router.webhooks.config import WebhooksConfigError, load

    try:
        config = load(file)
    except WebhooksConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"{file}: {len(config.sources) - len(config.vendors)} sources, {len(config.vendors)} vendors, "
        f"{len(config.subscriptions)} subscriptions: ok"
    )


@app.command("secret")
def secret() -> None:
    """Print a new Standard Webhooks secret (``whsec_`` + 32 random bytes, base64)."""
    typer.echo("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())
