"""Knowledge-base shapes: the JSON API's and the import's (a file's front matter is checked by the same model)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from router.kb import locales
from router.models.kb import ArticleStatus
from rules.vocabulary import MAX_CUSTOMER_TIER, MIN_CUSTOMER_TIER

#: Lowercase letters, digits and single hyphens: safe in a URL and as a file name.
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
MAX_BODY_CHARS = 100_000
MAX_KEYWORDS = 30
MAX_PRODUCTS = 30


def _clean(value: object) -> object:
    """NUL characters dropped (PostgreSQL cannot store them); lone surrogates are not text at all. Before the
    type's own checks, so that a length problem reads "String should have at least 1 character"."""
    if not isinstance(value, str):
        return value
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("contains invalid characters (lone UTF-16 surrogates)")
    return value.replace("\x00", "")


def _number_as_word(value: object) -> object:
    """``keywords: [api, 500]`` as a person writes it in YAML: the number is the word ``500``."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _lower(value: str) -> str:
    return value.lower()


def _locale(value: str) -> str:
    return locales.normalized(value)


def optional_locale(value: str | None) -> str | None:
    return None if value is None else locales.normalized(value)


Slug = Annotated[str, Field(min_length=1, max_length=100, pattern=SLUG_PATTERN)]
Title = Annotated[str, Field(min_length=1, max_length=200), BeforeValidator(_clean)]
Body = Annotated[str, Field(min_length=1, max_length=MAX_BODY_CHARS), BeforeValidator(_clean)]
Keyword = Annotated[str, Field(min_length=1, max_length=60), BeforeValidator(_clean), BeforeValidator(_number_as_word)]
#: As tickets name it (``ticket.product``), compared without case.
Product = Annotated[str, Field(min_length=1, max_length=100), BeforeValidator(_clean), AfterValidator(_lower)]
Locale = Annotated[str, Field(min_length=2, max_length=locales.MAX_LOCALE_LENGTH), AfterValidator(_locale)]
CustomerTier = Annotated[int, Field(ge=MIN_CUSTOMER_TIER, le=MAX_CUSTOMER_TIER)]
Status = Literal[ArticleStatus.draft, ArticleStatus.published, ArticleStatus.archived]
#: A new article starts as a draft or published (archiving is what ``DELETE`` does).
NewStatus = Literal[ArticleStatus.draft, ArticleStatus.published]
#: The version you read (``ETag``); refused with 409 when the article has changed since.
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ArticleIn(_In):
    """A new article (and each file of ``tierroute kb import``: its front matter and body)."""

    slug: Slug
    title: Title
    #: Markdown; HTML in it is sanitized when rendered.
    body: Body
    keywords: list[Keyword] = Field(default_factory=list, max_length=MAX_KEYWORDS)
    locale: Locale = locales.DEFAULT_LOCALE
    status: NewStatus = ArticleStatus.draft
    #: Customer tiers that may see it; empty: every tier.
    tiers: list[CustomerTier] = Field(default_factory=list, max_length=MAX_CUSTOMER_TIER)
    #: Products it is about; empty: every product.
    products: list[Product] = Field(default_factory=list, max_length=MAX_PRODUCTS)


class ArticlePatch(_In):
    """What to change (fields left out stay as they are)."""

    slug: Slug | None = None
    title: Title | None = None
    body: Body | None = None
    keywords: list[Keyword] | None = Field(default=None, max_length=MAX_KEYWORDS)
    locale: Locale | None = None
    #: ``archived`` archives it (as ``DELETE`` does); ``draft`` or ``published`` brings it back.
    status: Status | None = None
    tiers: list[CustomerTier] | None = Field(default=None, max_length=MAX_CUSTOMER_TIER)
    products: list[Product] | None = Field(default=None, max_length=MAX_PRODUCTS)
    version: Version | None = None


class ArticleOut(BaseModel):
    id: int
    slug: str
    title: str
    body: str
    #: The body rendered and sanitized, as ``/help/<slug>`` shows it.
    html: str
    keywords: list[str]
    locale: str
    status: Status
    tiers: list[int]
    products: list[str]
    version: int
    created_by: int | None
    updated_by: int | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class ArticleList(BaseModel):
    items: list[ArticleOut]
    total: int


class ArticleVersionOut(BaseModel):
    version: int
    change: str
    slug: str
    title: str
    body: str
    keywords: list[str]
    locale: str
    status: Status
    tiers: list[int]
    products: list[str]
    #: The agent who made the change; None for the command line (import, demo).
    changed_by: int | None
    changed_at: datetime


class SearchHitOut(BaseModel):
    id: int
    slug: str
    title: str
    snippet: str
    rank: float
    #: The article's public page (only for articles everyone may read).
    url: str | None
