"""``tierroute kb``: the knowledge base as a folder of Markdown files with front matter (docs/knowledge-base.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from router.cli import kb_stats
from router.cli.admin import _commit_or_exit, _exit_with
from router.cli.common import console

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from router.kb.importing import Imported

app = typer.Typer(
    help="The knowledge base: import and export articles as Markdown files; self-service figures.",
    no_args_is_help=True,
)
app.command("stats")(kb_stats.stats)


@app.command("import")
def kb_import(
    folder: Annotated[Path, typer.Argument(help="A folder of <slug>.md files with front matter (sub-folders too).")],
) -> None:
    """Import articles, all or nothing: every problem in every file is listed as file:line:column, and then
    nothing is imported. A known slug changes its article (a new version); a new one makes an article;
    articles not in the folder stay as they are."""
    from router.kb import files, importing

    try:
        read = files.read_folder(folder)
    except files.Refused as exc:
        for problem in exc.problems:
            typer.echo(files.describe(problem), err=True)
        typer.echo(f"{len(exc.problems)} problem(s); nothing was imported", err=True)
        raise typer.Exit(2) from None

    async def work(session: AsyncSession) -> Imported:
        return await importing.import_articles(session, read)

    done = _commit_or_exit(work, "; nothing was imported")
    console.print(
        f"imported {len(read)} articles: {done.created} new, {done.updated} changed, {done.unchanged} unchanged"
    )


@app.command("export")
def kb_export(
    folder: Annotated[Path, typer.Argument(help="Where to write <slug>.md files (made if missing).")],
) -> None:
    """Write every article (drafts and archived ones too) as <slug>.md with its front matter; files of the same
    names are replaced. ``kb import`` reads the folder back to the same articles."""
    from router.kb import files, service

    if folder.exists() and not folder.is_dir():
        _exit_with(f"error: {folder} is a file, not a folder")

    async def work(session: AsyncSession) -> int:
        articles = await service.all_articles(session)
        try:
            files.write_folder(folder, articles)
        except OSError as exc:
            _exit_with(f"error: cannot write to {folder}: {exc.strerror or exc}")
        return len(articles)

    count = _commit_or_exit(work)
    console.print(f"exported {count} articles to {folder}")
