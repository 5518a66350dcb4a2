"""An article's Markdown as safe HTML, and as plain words (what is searched and quoted in snippets).

markdown-it-py renders CommonMark (with tables and strikethrough) and lets a lead write HTML inline; nh3
then keeps only harmless tags and attributes, with links limited to web, mail and telephone addresses. So
``<script>``, event handlers, ``style``, ``javascript:`` and ``data:`` links come out inert whichever way
they were written (raw HTML, a Markdown link, an entity-encoded scheme), and the page's Content-Security-
Policy stands behind that.
"""

from __future__ import annotations

from collections.abc import Iterable

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

#: Links and images may point at these schemes, or be relative (``/help/other-article``).
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
#: nh3's defaults less what an article has no use for and could dress up as the page (``nav``, ``header``...).
TAGS = frozenset(nh3.ALLOWED_TAGS) - {"area", "map", "nav", "header", "footer", "center", "hgroup", "article", "aside"}

_markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
#: Block tokens whose text is the content itself.
_TEXT_BLOCKS = frozenset({"fence", "code_block"})
_INLINE_TEXT = frozenset({"text", "code_inline"})
_BREAKS = frozenset({"softbreak", "hardbreak"})


def to_html(body: str) -> Markup:
    """The article's body as HTML that is safe to put in a page as it is."""
    html = _markdown.render(body)
    return Markup(
        nh3.clean(html, tags=set(TAGS), url_schemes=set(URL_SCHEMES), link_rel="noopener noreferrer nofollow")
    )


def _words(tokens: Iterable[Token]) -> Iterable[str]:
    for token in tokens:
        if token.type == "inline" and token.children:
            parts = [
                c.content if c.type in _INLINE_TEXT else " " for c in token.children if c.type in _INLINE_TEXT | _BREAKS
            ]
            yield "".join(parts)
        elif token.type in _TEXT_BLOCKS:
            yield token.content


def plain_text(body: str) -> str:
    """The body's words: text, code and link texts, one line per block; raw HTML and link targets left out."""
    lines = (" ".join(part.split()) for part in _words(_markdown.parse(body)))
    return "\n".join(line for line in lines if line)
