"""``tierroute kb import`` / ``kb export``: a folder of Markdown files with front matter, all or nothing, every
mistake located as file:line:column (issue 19 item 1)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from queues.runtime import Runtime
from router.kb import files
from router.kb import service as kb
from router.models.kb import Article, ArticleVersion
from router.settings import Settings
from tests.test_cli import tierroute

GOOD = "---\ntitle: Reset your password\nkeywords: [password]\nstatus: published\n---\nChoose *Forgot password*.\n"


async def articles(runtime: Runtime) -> dict[str, Article]:
    async with runtime.app.sessionmaker() as s:
        return {a.slug: a for a in (await s.exec(select(Article))).all()}


async def version_count(runtime: Runtime) -> int:
    async with runtime.app.sessionmaker() as s:
        return len((await s.exec(select(ArticleVersion.id))).all())


async def test_export_then_import_is_a_round_trip(runtime: Runtime, settings: Settings, tmp_path: Path) -> None:
    first = tierroute(settings, "kb", "import", str(files.EXAMPLE_FOLDER))
    assert first.returncode == 0, first.stderr
    count = len(list(files.EXAMPLE_FOLDER.glob("*.md")))
    assert f"imported {count} articles: {count} new, 0 changed, 0 unchanged" in first.stdout
    before = await articles(runtime)
    assert before["passwort-zuruecksetzen"].locale == "de"
    assert before["dedicated-support-line"].tiers == [1]
    assert before["data-retention-gdpr"].status == "draft"

    out = tmp_path / "exported"
    exported = tierroute(settings, "kb", "export", str(out))
    assert exported.returncode == 0, exported.stderr
    assert sorted(p.name for p in out.glob("*.md")) == sorted(f"{slug}.md" for slug in before)
    for item in files.read_folder(out):
        article = before[item.article.slug]
        for field in ("title", "body", "keywords", "locale", "status", "tiers", "products"):
            assert getattr(item.article, field) == getattr(article, field), (item.source, field)

    again = tierroute(settings, "kb", "import", str(out))
    assert f"imported {count} articles: 0 new, 0 changed, {count} unchanged" in again.stdout
    assert await version_count(runtime) == count, "nothing changed, so no new versions"

    edited = out / "reset-your-password.md"
    edited.write_text(edited.read_text(encoding="utf-8").replace("60 minutes", "30 minutes"), encoding="utf-8")
    changed = tierroute(settings, "kb", "import", str(out))
    assert f"0 new, 1 changed, {count - 1} unchanged" in changed.stdout
    async with runtime.app.sessionmaker() as s:
        article = await kb.by_slug(s, "reset-your-password")
        assert article is not None and article.version == 2 and "30 minutes" in article.body
        assert [(v.version, v.change, v.changed_by) for v in await kb.versions(s, article.id or 0)] == [
            (2, "imported", None),
            (1, "imported", None),
        ]


async def test_an_archived_article_survives_the_round_trip(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "old-news.md").write_text(GOOD.replace("published", "archived"), encoding="utf-8")
    assert tierroute(settings, "kb", "import", str(tmp_path / "in")).returncode == 0
    assert tierroute(settings, "kb", "export", str(tmp_path / "out")).returncode == 0
    text = (tmp_path / "out" / "old-news.md").read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: Reset your password\nslug: old-news\nlocale: en\nstatus: archived\n")
    assert text.endswith("---\nChoose *Forgot password*.\n")


async def test_a_bad_file_changes_nothing_and_every_mistake_is_located(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "reset-your-password.md").write_text(GOOD, encoding="utf-8")
    assert tierroute(settings, "kb", "import", str(folder)).returncode == 0
    before = await articles(runtime)

    (folder / "reset-your-password.md").write_text(GOOD.replace("Reset", "Changed"), encoding="utf-8")
    (folder / "bad-yaml.md").write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    (folder / "bad-values.md").write_text(
        "---\ntitle: Fine\nkeywords: [a, '']\ntiers: [1, 7]\nlocale: nope nope\nsurprise: 1\n---\n\n", encoding="utf-8"
    )
    (folder / "Bad Name.md").write_text("---\ntitle: A title\n---\nbody\n", encoding="utf-8")
    (folder / "latin1.md").write_bytes("---\ntitle: Caf\xe9\n---\nbody\n".encode("latin-1"))
    (folder / "no-front-matter.md").write_text("# Just Markdown\n", encoding="utf-8")
    (folder / "unclosed.md").write_text("---\ntitle: x\n", encoding="utf-8")
    sub = folder / "more"
    sub.mkdir()
    (sub / "again.md").write_text("---\nslug: reset-your-password\ntitle: Twice\n---\nbody\n", encoding="utf-8")

    result = tierroute(settings, "kb", "import", str(folder))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1] == "11 problem(s); nothing was imported", lines
    expected = [
        f"{folder}/Bad Name.md:1:1: slug: String should match pattern '^[a-z0-9]+(?:-[a-z0-9]+)*$'"
        " (from the file's name)",
        f"{folder}/bad-values.md:3:15: keywords.1: String should have at least 1 character",
        f"{folder}/bad-values.md:4:12: tiers.1: Input should be less than or equal to 4",
        f"{folder}/bad-values.md:5:9: locale: Value error, 'nope nope' is not a language tag like en, de or pt-BR",
        f"{folder}/bad-values.md:6:1: surprise: Extra inputs are not permitted",
        f"{folder}/bad-values.md:8:1: body: String should have at least 1 character",
        f"{folder}/latin1.md:2:11: not UTF-8 text (byte 0xe9); save the article as UTF-8",
        f"{folder}/reset-your-password.md:1:1: slug 'reset-your-password' again: {folder}/more/again.md has it already",
        f"{folder}/no-front-matter.md:1:1: an article starts with its front matter: a line '---'",
        f"{folder}/unclosed.md:1:1: the front matter has no closing '---' line",
    ]
    for line in expected:
        assert line in lines, (line, lines)
    assert any(line.startswith(f"{folder}/bad-yaml.md:3:1: front matter is not valid YAML") for line in lines), lines
    assert await articles(runtime) == before
    assert (await articles(runtime))["reset-your-password"].title == "Reset your password"


async def test_a_missing_folder_or_a_file_in_the_way_is_one_line(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    missing = tierroute(settings, "kb", "import", str(tmp_path / "nowhere"))
    assert missing.returncode == 2
    assert missing.stderr.splitlines()[0] == f"{tmp_path / 'nowhere'}: not a folder of Markdown files"
    (tmp_path / "empty").mkdir()
    empty = tierroute(settings, "kb", "import", str(tmp_path / "empty"))
    assert empty.stderr.splitlines()[0] == f"{tmp_path / 'empty'}: no .md files in this folder"
    (tmp_path / "a-file").write_text("x")
    blocked = tierroute(settings, "kb", "export", str(tmp_path / "a-file"))
    assert blocked.returncode == 2 and blocked.stderr.strip() == f"error: {tmp_path / 'a-file'} is a file, not a folder"
