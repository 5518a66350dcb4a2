"""Files on agents' replies and notes (issue 17 item 5): multipart from the API and the reply box, stored
by SHA-256 like inbound mail's, size limits, shown on the message, sent with the mail."""

from __future__ import annotations

import hashlib

import httpx

from queues.runtime import Runtime
from router.models.tickets import Message
from router.outbound.compose import compose
from router.tickets import service as tickets
from tests.conftest import auth, make_agent
from tests.web.helpers import open_ticket, sign_in, web_agent

PDF = b"%PDF-1.4 a small file\n"


async def test_a_reply_with_files_through_the_api(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime)
    _, token = await make_agent(runtime, tiers=(1,))
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages/multipart",
        data={"body": "  Here is the invoice.  "},
        files=[("files", ("invoice.pdf", PDF, "application/pdf")), ("files", ("notes.txt", b"hello", "text/plain"))],
        headers=auth(token),
    )
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["body_text"] == "Here is the invoice." and sent["direction"] == "outbound"
    assert [(a["filename"], a["size"], a["sha256"]) for a in sent["attachments"]] == [
        ("invoice.pdf", len(PDF), hashlib.sha256(PDF).hexdigest()),
        ("notes.txt", 5, hashlib.sha256(b"hello").hexdigest()),
    ]
    assert runtime.app.blobs.get(hashlib.sha256(PDF).hexdigest()) == PDF
    detail = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))).json()
    assert [a["filename"] for a in detail["messages"][-1]["attachments"]] == ["invoice.pdf", "notes.txt"]
    download = await client.get(
        f"/api/v1/tickets/{ticket_id}/attachments/{sent['attachments'][0]['id']}", headers=auth(token)
    )
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''invoice.pdf"
    note = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages/multipart",
        data={"body": "log attached", "internal": "true"},
        files=[("files", ("app.log", b"line", "text/plain"))],
        headers=auth(token),
    )
    assert note.status_code == 201 and note.json()["direction"] == "note"

    async with runtime.app.sessionmaker() as s:  # the mail carries the files
        message = await s.get(Message, sent["id"])
        assert message is not None
        ticket = await tickets.get(s, ticket_id)
        mail = await compose(
            s, message, ticket, settings=runtime.app.settings, templates=runtime.app.templates, blobs=runtime.app.blobs
        )
    parts = [(p.get_filename(), p.get_content_type(), p.get_payload(decode=True)) for p in mail.iter_attachments()]
    assert parts == [("invoice.pdf", "application/pdf", PDF), ("notes.txt", "text/plain", b"hello")]


async def test_files_over_the_limits_are_refused_and_nothing_is_stored(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    runtime.app.settings = runtime.app.settings.model_copy(
        update={"max_attachment_bytes": 100, "max_reply_upload_bytes": 4000}
    )
    ticket_id = await open_ticket(runtime)
    _, token = await make_agent(runtime, tiers=(1,))
    url = f"/api/v1/tickets/{ticket_id}/messages/multipart"
    big = await client.post(url, data={"body": "x"}, files={"files": ("big.bin", b"x" * 101)}, headers=auth(token))
    assert big.status_code == 422 and "'big.bin' is larger than the limit of 100 bytes" in big.json()["detail"]
    many = [("files", (f"f{i}.txt", b"x", "text/plain")) for i in range(11)]
    r = await client.post(url, data={"body": "x"}, files=many, headers=auth(token))
    assert r.status_code == 422 and "at most 10 files" in r.json()["detail"]
    empty = await client.post(url, data={"body": "   "}, headers=auth(token))
    assert empty.status_code == 422
    _, other = await make_agent(runtime, tiers=(2,))
    r = await client.post(url, data={"body": "x"}, headers=auth(other))
    assert r.status_code == 403
    detail = (await client.get(f"/api/v1/tickets/{ticket_id}", headers=auth(token))).json()
    assert len(detail["messages"]) == 1  # only the requester's first message


async def test_the_whole_request_has_the_upload_limit(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime)
    _, token = await make_agent(runtime, tiers=(1,))
    over_the_plain_limit = b"x" * (runtime.app.settings.max_body_bytes + 10)
    r = await client.post(
        f"/api/v1/tickets/{ticket_id}/messages/multipart",
        data={"body": "big but allowed"},
        files={"files": ("big.bin", over_the_plain_limit)},
        headers=auth(token),
    )
    assert r.status_code == 201, r.text


async def test_the_reply_box_attaches_files_shown_on_the_message(runtime: Runtime, client: httpx.AsyncClient) -> None:
    ticket_id = await open_ticket(runtime)
    agent = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, agent)
    r = await client.post(
        f"/ui/tickets/{ticket_id}/messages",
        data={"body": "See the screenshot.", "kind": "reply", "csrf_token": token},
        files={"files": ("screen.png", b"\x89PNG fake", "image/png")},
    )
    assert r.status_code == 303, r.text
    page = (await client.get(f"/ui/tickets/{ticket_id}")).text
    assert 'enctype="multipart/form-data"' in page
    assert "screen.png</a>" in page and "image/png, 9 bytes" in page
    # A note without a file: a browser sends the empty file field as a part with an empty file name.
    fields = {"body": "No file.", "kind": "note", "csrf_token": token}
    parts = [f'--b\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    parts.append('--b\r\nContent-Disposition: form-data; name="files"; filename=""\r\n')
    parts.append("Content-Type: application/octet-stream\r\n\r\n\r\n--b--\r\n")
    r = await client.post(
        f"/ui/tickets/{ticket_id}/messages",
        content="".join(parts).encode(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert r.status_code == 303, r.text
    page = (await client.get(f"/ui/tickets/{ticket_id}")).text
    assert "No file." in page and page.count('<ul class="attachments"') == 1
