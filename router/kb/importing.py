"""A checked folder of articles into the database, all or nothing (``tierroute kb import``): a file whose slug
is new makes an article, one whose slug is known changes that article (a new version, ``imported``, only
when something differs). Articles the folder does not hold are left as they are."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from router.kb import service
from router.kb.files import ReadArticle
from router.kb.schemas import ArticlePatch


@dataclass(frozen=True)
class Imported:
    created: int
    updated: int
    unchanged: int


async def import_articles(session: AsyncSession, read: list[ReadArticle]) -> Imported:
    """Create or change one article per file, in the caller's transaction (flushed, not committed)."""
    existing = {a.slug: a for a in await service.all_articles(session)}
    created = updated = 0
    for item in read:
        current = existing.get(item.article.slug)
        if current is None:
            await service.create(session, item.article, by=None, change="imported")
            created += 1
            continue
        before = current.version
        patch = ArticlePatch.model_validate(item.article.model_dump())
        await service.update(session, current, patch, by=None, change="imported")
        updated += current.version != before
    return Imported(created=created, updated=updated, unchanged=len(read) - created - updated)
