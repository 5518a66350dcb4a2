"""IMAP polling: take unseen mail from the configured mailboxes, ingest each, then flag it \\Seen.

A message is flagged only after its ticket is committed; a crash in between re-reads it next time and
the Message-ID ledger turns it into a duplicate (then it is flagged). So a restart never loses mail and
never makes a second ticket. imap-tools is blocking: mailbox calls run in a thread.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

import structlog
from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessageFlags
from imap_tools.mailbox import BaseMailBox
from sqlalchemy.exc import OperationalError

from router.context import AppContext
from router.errors import DomainError
from router.intake import email_service
from router.offload import TooSlow
from router.tickets.actors import Actor
from router.unit_of_work import transaction

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Mailbox:
    """``imap://user:password@host:port/FOLDER`` (``imaps://`` for TLS)."""

    url: str

    @property
    def label(self) -> str:
        parts = urlparse(self.url)
        return f"{parts.scheme}://{parts.username}@{parts.hostname}:{parts.port}{parts.path or '/INBOX'}"

    def open(self) -> BaseMailBox:
        parts = urlparse(self.url)
        tls = parts.scheme == "imaps"
        box: BaseMailBox
        if tls:
            box = MailBox(parts.hostname or "localhost", parts.port or 993)
        else:
            box = MailBoxUnencrypted(parts.hostname or "localhost", parts.port or 143)
        folder = unquote(parts.path.lstrip("/")) or "INBOX"
        return box.login(unquote(parts.username or ""), unquote(parts.password or ""), initial_folder=folder)


@dataclass
class PollReport:
    taken: int = 0
    duplicates: int = 0
    refused: int = 0
    failed: int = 0


_FETCHED_UID = re.compile(rb"UID (\d+)")


def _unseen(mailbox: Mailbox, limit: int) -> list[tuple[str, bytes]]:
    """Unseen mail as raw bytes, not parsed here: a message built to break the parser (1,000 nested parts
    raise RecursionError in the stdlib's) must reach ``ingest``, which refuses it, rather than fail the
    fetch of the whole mailbox on every pass."""
    with mailbox.open() as box:
        uids = box.uids(AND(seen=False))[:limit]
        if not uids:
            return []
        _status, data = box.client.uid("fetch", ",".join(uids), "(UID BODY.PEEK[])")
    found = []
    for item in data:
        if isinstance(item, tuple) and (uid := _FETCHED_UID.search(item[0])) is not None:
            found.append((uid.group(1).decode(), bytes(item[1])))
    return found


def _flag_seen(mailbox: Mailbox, uids: list[str]) -> None:
    if not uids:
        return
    with mailbox.open() as box:
        box.flag(uids, MailMessageFlags.SEEN, True)


async def poll(app: AppContext, mailbox: Mailbox, *, limit: int = 200) -> PollReport:
    """One pass over a mailbox's unseen mail."""
    report = PollReport()
    messages = await asyncio.to_thread(_unseen, mailbox, limit)
    done: list[str] = []
    for uid, raw in messages:
        try:  # the transaction has rolled back by the time an error is handled
            async with transaction(app.sessionmaker, app.effects) as db:
                outcome = await email_service.ingest(
                    db,
                    app.effects,
                    raw,
                    settings=app.settings,
                    store=app.blobs,
                    source=f"email:imap:{mailbox.label}"[:64],
                    actor=Actor("imap"),
                    rulebook=app.rulebook.current(),
                )
        except TooSlow:  # the parse timed out under load: leave it unseen for the next pass
            log.warning("imap_parse_too_slow", mailbox=mailbox.label, uid=uid)
            report.failed += 1
            continue
        except DomainError as exc:  # unreadable or beyond a parsing limit: nothing to retry, flag it, say why
            log.warning("imap_refused", mailbox=mailbox.label, uid=uid, reason=exc.detail)
            report.refused += 1
            done.append(uid)
            continue
        except OperationalError as exc:  # database down: leave it unseen for the next pass
            log.warning("imap_database_unavailable", error=str(exc.orig))
            report.failed += 1
            continue
        except Exception:  # one poison message must not block the mailbox: leave it, take the rest
            log.exception("imap_message_failed", mailbox=mailbox.label, uid=uid)
            report.failed += 1
            continue
        report.duplicates += outcome.duplicate
        report.taken += not outcome.duplicate
        done.append(uid)
    await asyncio.to_thread(_flag_seen, mailbox, done)
    return report
