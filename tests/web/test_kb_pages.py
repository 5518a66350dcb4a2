"""The knowledge base in the agents' UI (issue 19 item 1): leads write, preview, publish and archive articles;
agents read them; a stale edit or a bad value re-renders the form with the problem and the lead's text."""

from __future__ import annotations

import httpx
from sqlmodel import select

from queues.runtime import Runtime
from router.models.kb import Article, ArticleVersion
from tests.web.helpers import sign_in, web_agent


async def stored(runtime: Runtime) -> list[Article]:
    async with runtime.app.sessionmaker() as s:
        return list((await s.exec(select(Article))).all())


async def test_a_lead_previews_saves_publishes_and_archives(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead = await web_agent(runtime, role="lead", tiers=())
    token = await sign_in(client, lead)
    assert 'href="/ui/kb"' in (await client.get("/ui/")).text
    form = {
        "csrf_token": token,
        "title": "Reset your password",
        "slug": "reset-your-password",
        "body": "Choose **Forgot password**.\n\n<script>alert(1)</script>",
        "keywords": "password, sign in",
        "locale": "en",
        "products": "",
        "tiers": ["2", "3"],
    }
    preview = await client.post("/ui/kb/new", data=form | {"action": "preview"})
    assert preview.status_code == 200
    assert "<strong>Forgot password</strong>" in preview.text and "<script>alert(1)</script>" not in preview.text
    assert await stored(runtime) == [], "a preview saves nothing"

    saved = await client.post("/ui/kb/new", data=form | {"action": "save"})
    assert saved.status_code == 303
    [article] = await stored(runtime)
    assert (article.status, article.keywords, article.tiers, article.created_by) == (
        "draft",
        ["password", "sign in"],
        [2, 3],
        lead.id,
    )
    assert saved.headers["location"] == f"/ui/kb/{article.id}"
    edit = await client.get(f"/ui/kb/{article.id}")
    assert 'value="reset-your-password"' in edit.text and 'name="version" value="1"' in edit.text

    published = await client.post(f"/ui/kb/{article.id}", data=form | {"action": "publish", "version": "1"})
    assert published.status_code == 303
    stale = await client.post(f"/ui/kb/{article.id}", data=form | {"title": "Mine", "action": "save", "version": "1"})
    assert stale.status_code == 409 and "someone changed it since you read it" in stale.text and "Mine" in stale.text
    bad = await client.post(f"/ui/kb/{article.id}", data=form | {"slug": "Not A Slug", "version": "2"})
    assert bad.status_code == 422 and "slug" in bad.text
    listing = (await client.get("/ui/kb")).text
    assert "Reset your password" in listing and "published" in listing

    archived = await client.post(f"/ui/kb/{article.id}/archive", data={"csrf_token": token})
    assert archived.status_code == 303
    async with runtime.app.sessionmaker() as s:
        changes = (await s.exec(select(ArticleVersion.change).order_by(ArticleVersion.version))).all()
    assert changes == ["created", "published", "archived"]
    after = (await client.get("/ui/kb")).text
    assert "Article &#39;Reset your password&#39; archived." in after and f'href="/ui/kb/{article.id}"' not in after


async def test_agents_read_articles_but_cannot_write_them(runtime: Runtime, client: httpx.AsyncClient) -> None:
    lead = await web_agent(runtime, role="lead", tiers=())
    token = await sign_in(client, lead)
    form = {"csrf_token": token, "title": "Invoices", "slug": "invoices", "body": "See *Billing*.", "locale": "en"}
    assert (await client.post("/ui/kb/new", data=form | {"action": "publish"})).status_code == 303
    [article] = await stored(runtime)

    agent = await web_agent(runtime, tiers=(1,))
    token = await sign_in(client, agent)
    page = await client.get(f"/ui/kb/{article.id}")
    assert page.status_code == 200 and "<em>Billing</em>" in page.text and 'name="body"' not in page.text
    assert 'href="/ui/kb/new"' not in (await client.get("/ui/kb")).text
    for url in ("/ui/kb/new", f"/ui/kb/{article.id}", f"/ui/kb/{article.id}/archive"):
        refused = await client.post(url, data=form | {"csrf_token": token, "title": "Hijacked"})
        assert refused.status_code == 403, url
    assert (await client.get("/ui/kb/new")).status_code == 403
    assert (await client.get("/ui/kb/999")).status_code == 404
    assert (await stored(runtime))[0].title == "Invoices"
    client.cookies.clear()
    assert (await client.get("/ui/kb")).status_code == 303, "signed out: to the sign-in page"
