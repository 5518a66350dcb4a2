"""The SMTP listener: mail for the support addresses becomes tickets, answered only after the commit.

Runs on the application's own event loop (not aiosmtpd's threaded controller) so it shares the
database engine and Redis pool (a big message is parsed in a worker thread: ``router.offload``). A message
is acknowledged with 250 only once it is in the database; an unreadable one, or one beyond a parsing limit
(nesting, header lines), gets a permanent 554; a database outage or a parse over its time limit a
temporary 451 so the sender retries.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.exc import OperationalError

from router.context import AppContext
from router.errors import DomainError
from router.intake import email_service
from router.offload import TooSlow
from router.tickets.actors import Actor
from router.unit_of_work import transaction

log = structlog.get_logger(__name__)


class IntakeHandler:
    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.addresses = {a.lower() for a in app.settings.support_addresses}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.addresses and address.lower() not in self.addresses:
            return "550 5.1.1 Mailbox unavailable: not a support address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        if not isinstance(raw, bytes):
            raw = str(raw or "").encode("utf-8", "surrogateescape")
        try:  # the transaction has rolled back by the time an error is answered
            async with transaction(self.app.sessionmaker, self.app.effects) as db:
                outcome = await email_service.ingest(
                    db,
                    self.app.effects,
                    raw,
                    settings=self.app.settings,
                    store=self.app.blobs,
                    source="email:smtp",
                    actor=Actor("smtp"),
                    rulebook=self.app.rulebook.current(),
                )
        except TooSlow:
            return "451 4.3.0 Busy reading the message, please try again later"
        except DomainError as exc:
            return f"554 5.6.0 {exc.detail}"
        except OperationalError as exc:
            log.warning("smtp_database_unavailable", error=str(exc.orig))
            return "451 4.3.0 Temporarily unavailable, please try again later"
        except Exception:  # never bounce mail for our own fault: the sender retries later
            log.exception("smtp_intake_failed")
            return "451 4.3.0 Temporary failure, please try again later"
        # A repeated Message-ID made nothing: its outcome is the first copy's, so the log says ``duplicate``.
        log.info(
            "smtp_received",
            outcome="duplicate" if outcome.duplicate else outcome.outcome,
            duplicate=outcome.duplicate,
            first_outcome=outcome.outcome if outcome.duplicate else None,
            ticket=outcome.ticket_ref,
            reason=outcome.reason,
        )
        return f"250 2.0.0 Accepted: {outcome.ticket_ref or outcome.outcome}"


async def serve_smtp(app: AppContext, host: str, port: int) -> asyncio.Server:
    """Start listening; the caller keeps the returned server and closes it on shutdown."""
    loop = asyncio.get_running_loop()
    handler = IntakeHandler(app)

    def protocol() -> Any:
        return SMTP(
            handler,
            data_size_limit=app.settings.max_email_bytes,
            enable_SMTPUTF8=True,
            hostname=app.settings.smtp_hostname,
            loop=loop,
        )

    return await loop.create_server(protocol, host=host, port=port)
