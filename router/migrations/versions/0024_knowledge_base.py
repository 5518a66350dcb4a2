"""knowledge base: kb_article, kb_article_version, and the articles' full-text index

Revision ID: 0024
Revises: 0028
Create Date: 2026-12-01 09:00:00

The search index, ``kb_article_search``, holds one document per article: its title (weight A), keywords
(B) and the body's words without Markdown (``plain_text``, C). The database keeps it current with triggers,
so every write path updates it in the same statement and transaction:

- PostgreSQL: ``(article_id, config, document tsvector)`` with a GIN index. ``config`` is the text search
  configuration of the article's language, from ``kb_search_config(locale)`` (``en`` -> ``english``,
  ``de-CH`` -> ``german``, ...; ``simple`` for a language PostgreSQL does not stem), so each article is
  stemmed in its own language and a query is parsed with the configuration of the documents it is matched
  against (``router/kb/search.py``).
- SQLite: an FTS5 table (``porter unicode61`` tokenizer: English stemming, accents folded) whose rowid is
  the article's id. It keeps its own copy of the text, which ``snippet()`` quotes. Its vocabulary table
  (``kb_article_search_vocab``) counts the articles holding each term (``router/kb/terms.py``).

A later migration that rebuilds ``kb_article`` in SQLite's batch mode drops its triggers with the table: it
must create them again (``SQLITE_TRIGGERS`` below).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import router.models.columns

revision: str = "0024"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: Characters of an article's text that are indexed (a tsvector holds at most 1 MB).
BODY_CHARS = 200_000

#: ISO 639-1 language -> PostgreSQL's text search configuration (those every supported PostgreSQL ships).
PG_CONFIGS = {
    "ar": "arabic",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hu": "hungarian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
}
_CASES = "\n".join(f"        WHEN '{lang}' THEN '{config}'::regconfig" for lang, config in PG_CONFIGS.items())

PG_SETUP = [
    f"""CREATE FUNCTION kb_search_config(locale text) RETURNS regconfig LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE lower(split_part(replace(locale, '_', '-'), '-', 1))
{_CASES}
        ELSE 'simple'::regconfig END
    $$""",
    """CREATE TABLE kb_article_search (
        article_id integer PRIMARY KEY REFERENCES kb_article (id) ON DELETE CASCADE,
        config text NOT NULL,
        document tsvector NOT NULL
    )""",
    "CREATE INDEX kb_article_search_document ON kb_article_search USING gin (document)",
    "CREATE INDEX kb_article_search_config ON kb_article_search (config)",
    f"""CREATE FUNCTION kb_article_search_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        cfg regconfig := kb_search_config(NEW.locale);
    BEGIN
        INSERT INTO kb_article_search (article_id, config, document)
        VALUES (NEW.id, cfg::text,
                setweight(to_tsvector(cfg, NEW.title), 'A')
             || setweight(to_tsvector(cfg, coalesce((
                    SELECT string_agg(k, ' ') FROM jsonb_array_elements_text(NEW.keywords) AS k), '')), 'B')
             || setweight(to_tsvector(cfg, left(NEW.plain_text, {BODY_CHARS})), 'C'))
        ON CONFLICT (article_id) DO UPDATE SET config = excluded.config, document = excluded.document;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER kb_article_search_insert AFTER INSERT ON kb_article
        FOR EACH ROW EXECUTE FUNCTION kb_article_search_refresh()""",
    """CREATE TRIGGER kb_article_search_update AFTER UPDATE OF title, keywords, plain_text, locale ON kb_article
        FOR EACH ROW EXECUTE FUNCTION kb_article_search_refresh()""",
]

PG_TEARDOWN = [
    "DROP TRIGGER IF EXISTS kb_article_search_update ON kb_article",
    "DROP TRIGGER IF EXISTS kb_article_search_insert ON kb_article",
    "DROP FUNCTION IF EXISTS kb_article_search_refresh()",
    "DROP TABLE IF EXISTS kb_article_search",
    "DROP FUNCTION IF EXISTS kb_search_config(text)",
]

_SQLITE_ADD = (
    "INSERT INTO kb_article_search (rowid, title, keywords, body) VALUES (new.id, new.title, "
    "coalesce((SELECT group_concat(value, ' ') FROM json_each(new.keywords)), ''), "
    f"substr(new.plain_text, 1, {BODY_CHARS}));"
)
SQLITE_TRIGGERS = [
    f"CREATE TRIGGER kb_article_search_insert AFTER INSERT ON kb_article BEGIN {_SQLITE_ADD} END",
    "CREATE TRIGGER kb_article_search_update AFTER UPDATE OF title, keywords, plain_text ON kb_article BEGIN "
    f"DELETE FROM kb_article_search WHERE rowid = old.id; {_SQLITE_ADD} END",
    "CREATE TRIGGER kb_article_search_delete AFTER DELETE ON kb_article BEGIN "
    "DELETE FROM kb_article_search WHERE rowid = old.id; END",
]
SQLITE_SETUP = [
    """CREATE VIRTUAL TABLE kb_article_search USING fts5(title, keywords, body,
        tokenize='porter unicode61 remove_diacritics 2')""",
    # How many articles hold each term: the search leaves its commonest words out of the candidates' query.
    "CREATE VIRTUAL TABLE kb_article_search_vocab USING fts5vocab(kb_article_search, 'row')",
    *SQLITE_TRIGGERS,
]
SQLITE_TEARDOWN = [
    "DROP TRIGGER IF EXISTS kb_article_search_delete",
    "DROP TRIGGER IF EXISTS kb_article_search_update",
    "DROP TRIGGER IF EXISTS kb_article_search_insert",
    "DROP TABLE IF EXISTS kb_article_search_vocab",
    "DROP TABLE IF EXISTS kb_article_search",
]


def upgrade() -> None:
    op.create_table(
        "kb_article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("plain_text", sa.Text(), nullable=False),
        sa.Column("keywords", router.models.columns.JSONColumn, nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tiers", router.models.columns.JSONColumn, nullable=False),
        sa.Column("products", router.models.columns.JSONColumn, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("created_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", router.models.columns.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["agent.id"]),
        sa.ForeignKeyConstraint(["updated_by"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_index("ix_kb_article_status", "kb_article", ["status"])
    op.create_table(
        "kb_article_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("keywords", router.models.columns.JSONColumn, nullable=False),
        sa.Column("locale", sa.String(length=35), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tiers", router.models.columns.JSONColumn, nullable=False),
        sa.Column("products", router.models.columns.JSONColumn, nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("changed_at", router.models.columns.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["article_id"], ["kb_article.id"]),
        sa.ForeignKeyConstraint(["changed_by"], ["agent.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("article_id", "version", name="uq_kb_article_version"),
    )
    op.create_index("ix_kb_article_version_article_id", "kb_article_version", ["article_id"])
    setup = PG_SETUP if op.get_bind().dialect.name == "postgresql" else SQLITE_SETUP
    for statement in setup:
        op.execute(sa.text(statement))


def downgrade() -> None:
    teardown = PG_TEARDOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_TEARDOWN
    for statement in teardown:
        op.execute(sa.text(statement))
    op.drop_index("ix_kb_article_version_article_id", table_name="kb_article_version")
    op.drop_table("kb_article_version")
    op.drop_index("ix_kb_article_status", table_name="kb_article")
    op.drop_table("kb_article")
