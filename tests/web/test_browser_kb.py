"""In a real browser (issue 19): a knowledge-base article full of hostile HTML, loaded from ``/help/<slug>``,
runs no script. The page's Content-Security-Policy would stop inline scripts anyway, so the browser is told
to ignore it (``bypass_csp``): what is proven is that the sanitized Markdown alone is inert. Launched as
``test_browser.py`` launches chromium."""

from __future__ import annotations

import pytest

from queues.runtime import Runtime
from router.kb import service as kb
from router.kb.schemas import ArticleIn
from router.unit_of_work import commit
from tests.conftest import ONE_BACKEND
from tests.web.test_browser import Browser, Page, ServerThread, browser, expect, server

__all__ = ["browser", "server"]  # the module's fixtures, shared with test_browser.py
pytestmark = pytest.mark.parametrize("database_url", [ONE_BACKEND], indirect=True)

#: Each payload, if it ever ran, would request ``/pwned-<n>`` from the server, change the title or open a dialog.
HOSTILE = """# Hostile article

Plain **text** survives.

<script>fetch('/pwned-1'); document.title = 'pwned'</script>
<img src="/missing.png" onerror="fetch('/pwned-2'); document.title='pwned'">
<a id="js-link" href="javascript:fetch('/pwned-3');document.title='pwned'">click me</a>
<a id="entity-link" href="jav&#x61;script:fetch('/pwned-4')">entity</a>
[markdown link](javascript:fetch('/pwned-5'))
<svg><animate onbegin="fetch('/pwned-6')" attributeName="x" dur="1s"/></svg>
<iframe srcdoc="<script>parent.fetch('/pwned-7')</script>"></iframe>
<details open ontoggle="fetch('/pwned-8')"><summary>more</summary>inside</details>
<object data="javascript:fetch('/pwned-9')"></object>
<form action="javascript:fetch('/pwned-10')"><button id="form-button">send</button></form>
<p><a href="data:text/html,<script>fetch('/pwned-11')</script>">data link</a></p>
<div style="background:url(javascript:fetch('/pwned-12'))">styled</div>
<math><mtext><table><mglyph><style><img src=x onerror="fetch('/pwned-13')"></style></mglyph></table></mtext></math>
"""


async def nothing_ran(page: Page, requested: list[str], dialogs: list[str]) -> None:
    assert await page.title() == "Hostile <b>article</b> · Help"
    assert not [url for url in requested if "/pwned" in url], requested
    assert dialogs == []


async def test_a_hostile_article_runs_no_script(browser: Browser, server: ServerThread, runtime: Runtime) -> None:
    async with runtime.app.sessionmaker() as s:
        data = {"slug": "hostile", "title": "Hostile <b>article</b>", "body": HOSTILE, "status": "published"}
        await kb.create(s, ArticleIn.model_validate(data), by=None)
        await commit(s, runtime.app.effects)

    context = await browser.new_context(base_url=server.base_url, bypass_csp=True)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    requested: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    try:
        answer = await page.goto("/help/hostile")
        assert answer is not None and answer.status == 200
        await expect(page.get_by_role("heading", name="Hostile article").first).to_be_visible()
        await expect(page.locator(".help-body strong")).to_have_text("text")
        await page.wait_for_timeout(500)  # time for an onerror, an animation or a toggle to fire
        await nothing_ran(page, requested, dialogs)
        for text in ("click me", "entity", "markdown link", "data link"):
            await page.get_by_text(text).first.click()  # links made harmless (or left as text)
        await expect(page.locator("form")).to_have_count(1)  # the search form only: the article's was dropped
        await nothing_ran(page, requested, dialogs)
        scripts = await page.evaluate("document.querySelectorAll('.help-body script, .help-body iframe').length")
        handlers = await page.evaluate(
            "[...document.querySelectorAll('.help-body *')].flatMap(e => [...e.attributes])"
            ".filter(a => a.name.startsWith('on') || /^\\s*(javascript|data):/i.test(a.value)).length"
        )
        assert (scripts, handlers) == (0, 0)
    finally:
        await context.close()
