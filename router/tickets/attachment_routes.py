"""Replies and notes with files through the API (multipart), and downloading a message's file."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from pydantic import BeforeValidator, StringConstraints

from router.bounds import AttachmentId
from router.deps import ContextDep, CurrentActor, SessionDep, TicketForChange, TicketFromPath
from router.errors import NotFound
from router.openapi import ONE_TICKET, SIGNED_IN_WITH_PARAMETERS, answer, problems
from router.tickets import attachments, messages, queries
from router.tickets.schemas import MessageOut, _no_nul

api = APIRouter(prefix="/tickets", tags=["tickets"], responses=SIGNED_IN_WITH_PARAMETERS)
MessageBody = Annotated[
    str,
    Form(description="the text of the reply or note"),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200_000),
    BeforeValidator(_no_nul),
]
Files = Annotated[list[UploadFile], File(description="files to attach (each at most the attachment limit)")]
#: Downloads never render: an HTML or SVG file cannot run in the API's origin.
DOWNLOAD_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "private, no-store",
}


@api.post(
    "/{ticket_id}/messages/multipart",
    response_model=MessageOut,
    status_code=201,
    responses=ONE_TICKET | problems(400, 409, 413),
)
async def add_message_with_files(
    ticket: TicketForChange,
    ctx: ContextDep,
    session: SessionDep,
    actor: CurrentActor,
    body: MessageBody,
    internal: Annotated[bool, Form()] = False,
    files: Files = [],  # noqa: B006 (FastAPI copies defaults per request)
) -> MessageOut:
    """A reply (``internal`` false) or internal note with files, as ``multipart/form-data``."""
    uploads = await attachments.read_uploads(files, max_bytes=ctx.settings.max_attachment_bytes)
    stored = attachments.store(ctx.blobs, uploads)
    message = await messages.add_message(session, ticket, actor, body=body, internal=internal, attachments=stored)
    await session.flush()
    return (await queries.message_views(session, [message]))[0]


@api.get(
    "/{ticket_id}/attachments/{attachment_id}",
    response_class=Response,
    responses=ONE_TICKET | answer(200, "the file, as a download", "application/octet-stream"),
)
async def download(
    ticket: TicketFromPath, ctx: ContextDep, session: SessionDep, attachment_id: AttachmentId
) -> Response:
    """One file of one of the ticket's messages, always as a download."""
    found = await queries.attachment_of(session, ticket, attachment_id)
    try:
        data = ctx.blobs.get(found.sha256)
    except FileNotFoundError:
        raise NotFound(f"the file of attachment {attachment_id} is missing from storage") from None
    name = quote(found.filename.replace("/", "_").replace("\\", "_") or "attachment", safe="")
    disposition = {"Content-Disposition": f"attachment; filename*=UTF-8''{name}"}
    return Response(data, media_type="application/octet-stream", headers=DOWNLOAD_HEADERS | disposition)
