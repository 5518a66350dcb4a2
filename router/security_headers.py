"""The security headers every HTML response gets, added by one middleware whichever route made the page.

A route that serves something the UI's policy would break (inline styles of the self-contained report, the
API docs) sets a Content-Security-Policy fitted to it; the middleware adds only the headers a response
lacks, so that policy stays, and every other header is there all the same.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Pages load only this site's scripts, styles and images: an injected ``<script>`` or remote image
#: would not run or load even if it got past escaping and sanitising.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

#: For self-contained pages (the SLA report: inline ``<style>`` and inline SVG charts with style attributes,
#: no script, no form, nothing loaded): inline styles only. No script can run and nothing can be fetched,
#: so injected CSS has nowhere to send what it could read.
SELF_CONTAINED_PAGE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _is_html(headers: MutableHeaders) -> bool:
    return headers.get("content-type", "").lower().startswith("text/html")


class HtmlSecurityHeaders:
    """Pure ASGI (no body buffering): on each ``text/html`` response, the security headers it does not set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if _is_html(headers):
                    for name, value in SECURITY_HEADERS.items():
                        if name not in headers:
                            headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
