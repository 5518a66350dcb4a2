"""A folder of Markdown files with front matter, read and checked (``tierroute kb import``) and written
(``tierroute kb export``). Every problem of every file is located (``file:line:column: message``) and all
are reported at once; reading checks files only, the database comes after (``router.kb.importing``).

A file is UTF-8 (a byte-order mark is fine) and looks like this; its name is ``<slug>.md`` unless the front
matter names the slug::

    ---
    title: Reset your password
    keywords: [password, sign in, forgot]
    locale: en
    status: published          # draft (the default), published or archived
    tiers: [1, 2]              # customer tiers that may see it; left out: every tier
    products: [billing]        # products it is about; left out: every product
    ---
    Markdown body ...
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from router.kb.schemas import ArticleIn, Status
from router.models.kb import Article, ArticleStatus
from rules.located import Problem, UnreadableSource, position, read_source

#: The example knowledge base that ``tierroute demo`` loads.
EXAMPLE_FOLDER = Path(__file__).resolve().parents[2] / "rules" / "kb"
FRONT_MATTER = "---"
SUFFIX = ".md"


class ArticleFile(ArticleIn):
    """A file's article: as ``ArticleIn``, and it may be archived (an export holds archived articles too)."""

    status: Status = ArticleStatus.draft  # type: ignore[assignment]


@dataclass(frozen=True)
class ReadArticle:
    source: str
    #: Where the slug comes from (its front-matter key, else the file's first line), for the database's objections.
    line: int
    article: ArticleFile


class Refused(Exception):
    """The folder (or, in ``importing``, the database) refuses the import: ``problems`` by file and line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.source, p.line, p.column))
        super().__init__("\n".join(map(describe, self.problems)))


def describe(problem: Problem) -> str:
    """``file:line:column: message``, or ``folder: message`` for the folder as a whole."""
    return str(problem) if problem.line else f"{problem.source}: {problem.message}"


def read_folder(folder: Path) -> list[ReadArticle]:
    """Every ``*.md`` file under ``folder`` (sub-folders too), checked; ``Refused`` with every problem."""
    if not folder.is_dir():
        raise Refused([Problem(str(folder), 0, 0, "not a folder of Markdown files")])
    paths = sorted(p for p in folder.rglob(f"*{SUFFIX}") if p.is_file())
    if not paths:
        raise Refused([Problem(str(folder), 0, 0, f"no {SUFFIX} files in this folder")])
    problems: list[Problem] = []
    found: list[ReadArticle] = []
    for path in paths:
        try:
            found.append(read_file(path))
        except Refused as exc:
            problems.extend(exc.problems)
    seen: dict[str, ReadArticle] = {}
    for item in found:
        first = seen.setdefault(item.article.slug, item)
        if first is not item:
            message = f"slug {item.article.slug!r} again: {first.source} has it already"
            problems.append(Problem(item.source, item.line, 1, message))
    if problems:
        raise Refused(problems)
    return found


def _split(source: str, text: str) -> tuple[str, str, int]:
    """The front matter's text, the body, and the line the body starts on."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != FRONT_MATTER:
        raise Refused([Problem(source, 1, 1, f"an article starts with its front matter: a line '{FRONT_MATTER}'")])
    for index, line in enumerate(lines[1:], start=1):
        if line.rstrip() in (FRONT_MATTER, "..."):
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    raise Refused([Problem(source, 1, 1, f"the front matter has no closing '{FRONT_MATTER}' line")])


def _front_matter(source: str, yaml_text: str) -> CommentedMap:
    try:
        doc = YAML(typ="rt").load(yaml_text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 2, mark.column + 1) if mark else (1, 1)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise Refused([Problem(source, line, col, f"front matter is not valid YAML: {problem}")]) from None
    if doc is None:
        doc = CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise Refused([Problem(source, 2, 1, "the front matter is a mapping: 'title: ...', 'keywords: [...]'")])
    return doc


def read_file(path: Path) -> ReadArticle:
    """One file, checked: ``Refused`` with each of its problems located."""
    source = str(path)
    try:
        text = read_source(path, "article")
    except UnreadableSource as exc:
        raise Refused([exc.problem]) from None
    yaml_text, body, body_line = _split(source, text)
    front = _front_matter(source, yaml_text)
    if "body" in front:
        line, col = position(front, "body")
        raise Refused([Problem(source, line + 1, col, "the body is what follows the front matter, not a key")])
    fields: dict[str, Any] = {"slug": path.name.removesuffix(SUFFIX), **front, "body": body}
    try:
        article = ArticleFile.model_validate(fields)
    except ValidationError as exc:
        raise Refused([_locate(source, front, body_line, error) for error in exc.errors()]) from None
    slug_line = position(front, "slug")[0] + 1 if "slug" in front else 1
    return ReadArticle(source, slug_line, article)


def _locate(source: str, front: CommentedMap, body_line: int, error: Any) -> Problem:
    """The front-matter key (or list item) a validation error is about; the body's first line for the body;
    the file's first line for a slug taken from its name."""
    loc = error["loc"]
    key = loc[0] if loc else None
    what = ".".join(str(p) for p in loc)
    message = f"{what}: {error['msg']}"
    if key == "body":
        return Problem(source, body_line, 1, message)
    if key not in front:
        hint = " (from the file's name)" if key == "slug" else ""
        return Problem(source, 1, 1, message + hint)
    if len(loc) > 1 and isinstance(front[key], list) and isinstance(loc[1], int):
        line, col = position(front[key], loc[1])
    elif not isinstance(front[key], dict | list) and error["type"] != "extra_forbidden":
        line, col = (n + 1 for n in front.lc.value(key))  # the value itself, not its key
    else:
        line, col = position(front, key)
    return Problem(source, line + 1, col, message)


def _flow(items: list[Any]) -> CommentedSeq:
    """A list written on one line, ``[a, b]``, as people write front matter."""
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def render_file(article: Article) -> str:
    """An article as a file ``read_file`` reads back to the same article."""
    front = CommentedMap(
        title=str(article.title),
        slug=str(article.slug),
        locale=str(article.locale),
        status=str(article.status),
        keywords=_flow([str(k) for k in article.keywords]),
        tiers=_flow([int(t) for t in article.tiers]),
        products=_flow([str(p) for p in article.products]),
    )
    yaml = YAML(typ="rt")
    yaml.width = 4096
    buffer = io.StringIO()
    yaml.dump(front, buffer)
    return f"{FRONT_MATTER}\n{buffer.getvalue()}{FRONT_MATTER}\n{article.body.rstrip()}\n"


def write_folder(folder: Path, articles: Sequence[Article]) -> list[Path]:
    """Each article as ``<slug>.md`` in ``folder`` (made if missing; files of the same names replaced)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for article in articles:
        path = folder / f"{article.slug}{SUFFIX}"
        path.write_text(render_file(article), encoding="utf-8")
        written.append(path)
    return written
