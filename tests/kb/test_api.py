"""The knowledge-base API: leads write, agents read, every mistake a problem+json (issue 19 item 1)."""

from __future__ import annotations

from typing import Any

import httpx

from queues.runtime import Runtime
from tests.conftest import auth, make_agent

PROBLEM = "application/problem+json"


def article(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": "reset-your-password",
        "title": "Reset your password",
        "body": "Open the sign-in page and choose **Forgot password**.",
        "keywords": ["password", "login"],
        "status": "published",
    }
    body.update(overrides)
    return body


async def test_leads_write_agents_read_and_strangers_get_401(client: httpx.AsyncClient, runtime: Runtime) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    _, agent = await make_agent(runtime)
    assert (await client.get("/api/v1/kb/articles")).status_code == 401
    refused = await client.post("/api/v1/kb/articles", json=article(), headers=auth(agent))
    assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM

    created = await client.post("/api/v1/kb/articles", json=article(), headers=auth(lead))
    assert created.status_code == 201, created.text
    assert created.headers["etag"] == '"1"'
    assert created.headers["location"] == f"/api/v1/kb/articles/{created.json()['id']}"
    body = created.json()
    assert body["html"] == "<p>Open the sign-in page and choose <strong>Forgot password</strong>.</p>\n"
    assert (body["version"], body["locale"], body["status"]) == (1, "en", "published")

    listed = await client.get("/api/v1/kb/articles", headers=auth(agent))
    assert listed.json()["total"] == 1 and listed.json()["items"][0]["slug"] == "reset-your-password"
    one = await client.get(f"/api/v1/kb/articles/{body['id']}", headers=auth(agent))
    assert one.status_code == 200 and one.headers["etag"] == '"1"'
    for method in ("patch", "delete"):
        denied = await client.request(method, f"/api/v1/kb/articles/{body['id']}", json={}, headers=auth(agent))
        assert denied.status_code == 403, method


async def test_bad_input_is_a_located_422_and_duplicates_a_409(client: httpx.AsyncClient, runtime: Runtime) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    post = "/api/v1/kb/articles"
    assert (await client.post(post, json=article(), headers=auth(lead))).status_code == 201
    duplicate = await client.post(post, json=article(title="Another"), headers=auth(lead))
    assert duplicate.status_code == 409 and duplicate.headers["content-type"] == PROBLEM
    assert duplicate.json()["field"] == "slug"
    cases = {
        "slug": article(slug="Reset Password!"),
        "locale": article(slug="a", locale="not a locale"),
        "tiers.0": article(slug="b", tiers=[5]),
        "status": article(slug="c", status="archived"),
        "body": article(slug="d", body=""),
        "surprise": article(slug="e", surprise=1),
        "title": article(slug="f", title="x" * 201),
    }
    for field, body in cases.items():
        answer = await client.post(post, json=body, headers=auth(lead))
        assert answer.status_code == 422, field
        assert answer.headers["content-type"] == PROBLEM
        assert any(e["field"].startswith(f"body.{field}") for e in answer.json()["errors"]), (field, answer.json())
    not_json = await client.post(post, content=b"slug=a", headers=auth(lead) | {"content-type": "text/plain"})
    assert not_json.status_code == 415
    assert (await client.get("/api/v1/kb/articles/2147483648", headers=auth(lead))).status_code == 422
    assert (await client.get("/api/v1/kb/articles/999", headers=auth(lead))).status_code == 404
    normalized = await client.post(
        post, json=article(slug="g", locale="de_ch", products=["Payments API"]), headers=auth(lead)
    )
    assert (normalized.json()["locale"], normalized.json()["products"]) == ("de-CH", ["payments api"])


async def test_changes_are_versioned_and_stale_ones_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    lead_agent, lead = await make_agent(runtime, role="lead", tiers=())
    created = (await client.post("/api/v1/kb/articles", json=article(status="draft"), headers=auth(lead))).json()
    url = f"/api/v1/kb/articles/{created['id']}"

    edited = await client.patch(url, json={"title": "Reset a password"}, headers=auth(lead) | {"If-Match": '"1"'})
    assert edited.status_code == 200 and edited.headers["etag"] == '"2"'
    stale = await client.patch(url, json={"title": "Too late"}, headers=auth(lead) | {"If-Match": '"1"'})
    assert stale.status_code == 412 and stale.headers["content-type"] == PROBLEM
    assert stale.json()["etag"] == '"2"'
    conflict = await client.patch(url, json={"title": "Too late", "version": 1}, headers=auth(lead))
    assert conflict.status_code == 409 and conflict.json()["version"] == 2
    same = await client.patch(url, json={"title": "Reset a password", "version": 2}, headers=auth(lead))
    assert same.json()["version"] == 2, "nothing changed, no new version"
    published = await client.patch(url, json={"status": "published"}, headers=auth(lead))
    assert published.json()["published_at"] is not None

    archived = await client.delete(url, headers=auth(lead))
    assert archived.status_code == 204
    assert (await client.delete(url, headers=auth(lead))).status_code == 204, "archiving again changes nothing"
    assert (await client.get(url, headers=auth(lead))).json()["status"] == "archived"
    assert (await client.get("/api/v1/kb/articles", headers=auth(lead))).json()["total"] == 0
    archived_list = await client.get("/api/v1/kb/articles?status=archived", headers=auth(lead))
    assert archived_list.json()["total"] == 1
    taken = await client.post("/api/v1/kb/articles", json=article(), headers=auth(lead))
    assert taken.status_code == 409, "an archived article keeps its slug"
    restored = await client.patch(url, json={"status": "draft"}, headers=auth(lead))
    assert restored.json()["status"] == "draft"

    versions = (await client.get(f"{url}/versions", headers=auth(lead))).json()
    assert [(v["version"], v["change"]) for v in versions] == [
        (5, "restored"),
        (4, "archived"),
        (3, "published"),
        (2, "edited"),
        (1, "created"),
    ]
    assert {v["changed_by"] for v in versions} == {lead_agent.id}
    assert versions[-1]["title"] == "Reset your password" and versions[-2]["title"] == "Reset a password"


async def test_search_answers_agents_with_the_audience_they_ask_for(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    _, lead = await make_agent(runtime, role="lead", tiers=())
    _, agent = await make_agent(runtime)
    post = "/api/v1/kb/articles"
    await client.post(post, json=article(), headers=auth(lead))
    await client.post(
        post,
        json=article(slug="password-policy-for-partners", title="Password policy for partners", tiers=[1]),
        headers=auth(lead),
    )
    await client.post(
        post, json=article(slug="draft-password", title="Password draft", status="draft"), headers=auth(lead)
    )

    found = await client.get("/api/v1/kb/search", params={"q": "I forgot my password"}, headers=auth(agent))
    assert found.status_code == 200
    hits = {h["slug"]: h for h in found.json()}
    assert set(hits) == {"reset-your-password", "password-policy-for-partners"}
    assert hits["reset-your-password"]["url"] == "/help/reset-your-password"
    assert hits["password-policy-for-partners"]["url"] is None, "not public: for tier 1 only"
    tier3 = await client.get("/api/v1/kb/search", params={"q": "password", "customer_tier": 3}, headers=auth(agent))
    assert [h["slug"] for h in tier3.json()] == ["reset-your-password"]
    drafts = await client.get("/api/v1/kb/search", params={"q": "password draft", "drafts": True}, headers=auth(agent))
    assert drafts.json()[0]["slug"] == "draft-password"
    for bad in ({"q": ""}, {"q": "x", "customer_tier": 0}, {"q": "x", "locale": "??"}, {"q": "x", "limit": 0}):
        assert (await client.get("/api/v1/kb/search", params=bad, headers=auth(agent))).status_code == 422, bad
    assert (await client.get("/api/v1/kb/search", params={"q": "x"})).status_code == 401
