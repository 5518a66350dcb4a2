"""The public help centre (``/help``): no sign-in, no scripts, only what anyone may read (issue 19 item 2)."""

from __future__ import annotations

from typing import Any

import httpx

from queues.runtime import Runtime
from router.kb import service as kb
from router.kb.schemas import ArticleIn
from router.unit_of_work import commit

HOSTILE = """Hello **reader**.

<script>document.title = 'pwned'</script>
<img src="x" onerror="document.title='pwned'">
<a href="javascript:document.title='pwned'">click</a> [also](javascript:alert(1))
<iframe src="https://evil.example"></iframe><style>body { display: none }</style>
<p style="position:fixed" onclick="alert(1)">styled</p>
<svg onload="alert(1)"><use href="#x"/></svg>
"""


async def add(runtime: Runtime, **fields: Any) -> int:
    data = {"slug": "reset-your-password", "title": "Reset your password", "body": "Choose **Forgot password**."}
    data.update(fields)
    async with runtime.app.sessionmaker() as s:
        article = await kb.create(s, ArticleIn.model_validate({"status": "published", **data}), by=None)
        await commit(s, runtime.app.effects)
        assert article.id is not None
        return article.id


async def test_the_help_centre_lists_searches_and_shows_public_articles(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add(runtime)
    await add(runtime, slug="partner-line", title="Partner phone line", body="Call us.", tiers=[1])
    await add(runtime, slug="draft-one", title="Draft password tips", body="Soon.", status="draft")

    home = await client.get("/help")
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    assert "Reset your password" in home.text
    assert "Partner phone line" not in home.text and "Draft password tips" not in home.text
    assert "set-cookie" not in home.headers, "the help centre sets no cookie"
    assert "<script" not in home.text, "no scripts needed"
    assert "script-src 'self'" in home.headers["content-security-policy"]

    found = await client.get("/help", params={"q": "forgot my password"})
    assert 'href="/help/reset-your-password"' in found.text
    assert "Draft password tips" not in found.text and "Partner phone line" not in found.text
    nothing = await client.get("/help", params={"q": "quantum entanglement"})
    assert nothing.status_code == 200 and "No article matches" in nothing.text

    page = await client.get("/help/reset-your-password")
    assert page.status_code == 200
    assert "<strong>Forgot password</strong>" in page.text and '<html lang="en">' in page.text


async def test_missing_private_and_archived_articles_are_the_help_404_page(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    await add(runtime, slug="partner-line", title="Partner phone line", body="Call us.", tiers=[1])
    old = await add(runtime, slug="old-news", title="Old news", body="Gone soon.")
    async with runtime.app.sessionmaker() as s:
        await kb.archive(s, await kb.get(s, old), by=None)
        await commit(s, runtime.app.effects)
    for slug, heading in [
        ("no-such-article", "No such article"),
        ("partner-line", "No such article"),
        ("old-news", "This article is no longer available"),
        ("x" * 300, "No such article"),
        ("%3Cscript%3E", "No such article"),
    ]:
        answer = await client.get(f"/help/{slug}")
        assert answer.status_code == 404, slug
        assert answer.headers["content-type"].startswith("text/html")
        assert f"<h1>{heading}</h1>" in answer.text, slug
        assert "<script>" not in answer.text


async def test_hostile_markdown_is_served_inert(client: httpx.AsyncClient, runtime: Runtime) -> None:
    await add(runtime, slug="hostile", title="<script>alert(1)</script>", body=HOSTILE)
    html = (await client.get("/help/hostile")).text
    body = html.split('<div class="help-body">', 1)[1].split("</div>", 1)[0]
    lowered = body.lower()
    for marker in ("<script", "onerror", "onclick", "onload", '="javascript:', "<iframe", "<style", "style=", "<svg"):
        assert marker not in lowered, marker
    assert "<strong>reader</strong>" in body and "[also](javascript:alert(1))" in body, "a refused link stays text"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, "the title is escaped text"
