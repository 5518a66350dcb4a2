"""IMAP polling against a real server: Debian's dovecot, started by the test on a loopback port."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted, MailMessageFlags
from sqlmodel import func, select

from queues.runtime import Runtime
from router.intake.imap import Mailbox, poll
from router.models.intake import InboundMail
from router.models.tickets import Ticket
from tests.conftest import REQUIRE_SERVICES, free_port, reachable

CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{root}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


@pytest.fixture
def dovecot() -> Iterator[int]:
    binary = shutil.which("dovecot")
    if binary is None:
        if REQUIRE_SERVICES:
            pytest.fail("dovecot is not installed (apt-get install dovecot-imapd; .ci/run does it)")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    root = Path(tempfile.mkdtemp(prefix="tierroute-dovecot-"))
    os.chmod(root, 0o755)  # login and mail processes run as other users
    for sub in ("run", "state", "home"):
        (root / sub).mkdir()
    os.chmod(root / "run", 0o755)
    shutil.chown(root / "home", "mail", "mail")
    (root / "passwd").write_text("support:{PLAIN}secret\n")
    port = free_port()
    (root / "dovecot.conf").write_text(CONFIG.format(root=root, port=port))
    proc = subprocess.Popen([binary, "-F", "-c", str(root / "dovecot.conf")])
    deadline = time.monotonic() + 15
    while not reachable("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(root, ignore_errors=True)


def deliver(port: int, *messages: EmailMessage) -> None:
    with MailBoxUnencrypted("127.0.0.1", port).login("support", "secret") as box:
        for m in messages:
            box.append(m.as_bytes(), "INBOX")


def mail(subject: str, **headers: str) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "kim@acme.example"
    m["To"] = "support@help.example"
    m["Subject"] = subject
    m["Message-ID"] = make_msgid(domain="acme.example")
    for name, value in headers.items():
        m[name.replace("_", "-")] = value
    m.set_content("Details inside.")
    return m


def unseen(port: int) -> list[str]:
    with MailBoxUnencrypted("127.0.0.1", port).login("support", "secret") as box:
        return [m.subject for m in box.fetch("UNSEEN", mark_seen=False)]


async def counts(runtime: Runtime) -> tuple[int, int]:
    async with runtime.app.sessionmaker() as s:
        tickets = (await s.exec(select(func.count()).select_from(Ticket))).one()
        mails = (await s.exec(select(func.count()).select_from(InboundMail))).one()
    return int(tickets), int(mails)


async def test_polling_takes_unseen_mail_once_and_resumes_without_duplicates(runtime: Runtime, dovecot: int) -> None:
    box = Mailbox(f"imap://support:secret@127.0.0.1:{dovecot}/INBOX")
    first = mail("Printer on fire")
    deliver(dovecot, first, mail("Out of office", Auto_Submitted="auto-replied"), mail("Second question"))
    report = await poll(runtime.app, box)
    assert (report.taken, report.duplicates, report.refused) == (3, 0, 0)
    assert await counts(runtime) == (2, 3)  # the auto-reply opened no ticket
    assert unseen(dovecot) == []

    # A restart after the commit but before the flag: the same mail is unseen again.
    with MailBoxUnencrypted("127.0.0.1", dovecot).login("support", "secret") as imap:
        uids = [m.uid for m in imap.fetch(mark_seen=False) if m.subject == "Printer on fire"]
        imap.flag([u for u in uids if u], MailMessageFlags.SEEN, False)
    deliver(dovecot, mail("Third question"))
    again = await poll(runtime.app, box)
    assert (again.taken, again.duplicates) == (1, 1)
    assert await counts(runtime) == (3, 4)
    assert unseen(dovecot) == []


async def test_unreadable_mail_is_flagged_and_reported(runtime: Runtime, dovecot: int) -> None:
    box = Mailbox(f"imap://support:secret@127.0.0.1:{dovecot}/INBOX")
    with MailBoxUnencrypted("127.0.0.1", dovecot).login("support", "secret") as imap:
        imap.append(b"Subject: nobody sent this\r\n\r\nno sender\r\n", "INBOX")
    report = await poll(runtime.app, box)
    assert (report.taken, report.refused) == (0, 1)
    assert unseen(dovecot) == []
    assert await counts(runtime) == (0, 0)


async def test_mail_beyond_the_parsing_limits_is_flagged_and_the_rest_taken(runtime: Runtime, dovecot: int) -> None:
    """1,000 nested parts break the stdlib parser itself (RecursionError): the poll must not parse while it
    fetches, and ingest refuses the message (flagged seen, reported) and takes the others."""
    from tests.intake.test_email_limits import nested

    box = Mailbox(f"imap://support:secret@127.0.0.1:{dovecot}/INBOX")
    with MailBoxUnencrypted("127.0.0.1", dovecot).login("support", "secret") as imap:
        imap.append(nested(1000), "INBOX")
    deliver(dovecot, mail("Printer on fire"))
    report = await poll(runtime.app, box)
    assert (report.taken, report.refused, report.failed) == (1, 1, 0)
    assert unseen(dovecot) == []
    assert await counts(runtime) == (1, 1)
