"""Files an agent attaches to a reply or note: checked against the limits, stored by SHA-256 as inbound
mail's attachments are (``router.storage``), and handed to ``messages.add_message`` as ``StoredAttachment``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import UploadFile

from router.errors import Invalid
from router.storage import BlobStore
from router.tickets.inputs import StoredAttachment

#: The most files on one message.
MAX_FILES = 10
MAX_FILENAME = 255


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


async def read_uploads(files: Sequence[UploadFile], *, max_bytes: int) -> list[Upload]:
    """The uploaded files, each read to at most ``max_bytes`` (one byte more tells it is too large); a
    browser's empty file field (no name, no bytes) is no file."""
    uploads: list[Upload] = []
    for file in files:
        data = await file.read(max_bytes + 1)
        name = (file.filename or "").replace("\x00", "").strip()
        if not name and not data:
            continue
        if len(data) > max_bytes:
            raise Invalid(f"the file {name[:100]!r} is larger than the limit of {max_bytes} bytes", field="files")
        uploads.append(Upload(name or "attachment", file.content_type or "application/octet-stream", data))
    if len(uploads) > MAX_FILES:
        raise Invalid(f"a message takes at most {MAX_FILES} files", field="files")
    return uploads


def store(blobs: BlobStore, uploads: Sequence[Upload]) -> tuple[StoredAttachment, ...]:
    """Each file's bytes on disk under their SHA-256 (stored once however often attached)."""
    return tuple(
        StoredAttachment(
            filename=u.filename.replace("/", "_").replace("\\", "_")[:MAX_FILENAME],
            content_type=u.content_type[:255],
            size=len(u.data),
            sha256=blobs.put(u.data),
        )
        for u in uploads
    )
