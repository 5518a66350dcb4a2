"""Hand an email to the configured SMTP server (aiosmtplib)."""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import unquote, urlparse

import aiosmtplib

from router.settings import Settings


class MailNotConfigured(RuntimeError):
    """No ``TIERROUTE_SMTP_URL``: outbound messages stay pending."""


async def send(settings: Settings, mail: EmailMessage) -> None:
    if not settings.smtp_url:
        raise MailNotConfigured("TIERROUTE_SMTP_URL is not set")
    url = urlparse(settings.smtp_url)
    implicit_tls = url.scheme == "smtps"
    await aiosmtplib.send(
        mail,
        hostname=url.hostname or "127.0.0.1",
        port=url.port or (465 if implicit_tls else 25),
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        use_tls=implicit_tls,
        start_tls=None if not implicit_tls else False,
        timeout=30,
    )
