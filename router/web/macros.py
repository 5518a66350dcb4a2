"""Macros in the web UI: leads list, write and delete them (``/ui/macros``); agents pick one on a ticket,
see its preview rendered by the server and apply it (``/ui/tickets/{id}/macros``).

The picker is a page of its own that the ticket page pulls into its reply area with htmx (``hx-select``),
so it works without scripts too. A macro's problem (a template error, a taken name) re-renders the form
with the message and the lead's text, with the error's status.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from router.bounds import MAX_ROW_ID
from router.deps import ContextDep, SessionDep
from router.errors import DomainError, Forbidden
from router.macros import applying
from router.macros import service as macros
from router.macros.schemas import MacroIn
from router.models.agents import Agent
from router.models.macros import MACRO_STATUSES
from router.tickets import attachments
from router.web import csrf
from router.web.deps import WebActor, WebAgent, WebTicket, WebTicketForChange
from router.web.errors import PREFIX
from router.web.render import page
from router.web.session import flash
from rules.vocabulary import SUPPORT_TIERS

ui = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=[Depends(csrf.protect)])
ChosenMacro = Annotated[int | None, Query(alias="macro", ge=1, le=MAX_ROW_ID)]
MacroPathId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


async def web_lead(agent: WebAgent) -> Agent:
    if not agent.is_lead:
        raise Forbidden("only leads and admins define macros")
    return agent


WebLead = Annotated[Agent, Depends(web_lead)]


def _form_page(
    request: Request,
    ctx: ContextDep,
    lead: Agent,
    *,
    macro_id: int | None,
    form: dict[str, str],
    form_tiers: list[str],
    problem: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request, ctx, "web/macro_form.html", agent=lead, status=status, macro_id=macro_id, form=form,
        form_tiers=form_tiers, problem=problem, tiers=list(SUPPORT_TIERS), statuses=MACRO_STATUSES,
    )  # fmt: skip


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------------------------- leads: definitions
def _form_to_macro(form: dict[str, Any], tiers: list[str]) -> dict[str, Any]:
    """The form's flat fields as ``MacroIn``'s shape (empty fields are "no such action")."""
    actions: dict[str, Any] = {
        "add_tags": str(form.get("add_tags", "")).replace(",", " ").split(),
        "remove_tags": str(form.get("remove_tags", "")).replace(",", " ").split(),
    }
    for key in ("status", "priority"):
        if form.get(key):
            actions[key] = form[key]
    if form.get("escalate_reason"):
        to_tier = form.get("escalate_to") or None
        actions["escalate"] = {"reason": form["escalate_reason"], "to_tier": to_tier}
    return {
        "name": form.get("name", ""),
        "body": form.get("body", ""),
        "internal": form.get("internal") == "on",
        "actions": actions,
        "tiers": tiers,
    }


def _problem_text(exc: ValidationError | DomainError) -> str:
    if isinstance(exc, DomainError):
        return exc.detail
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'form'}: {e['msg']}" for e in exc.errors())


async def _save(request: Request, ctx: ContextDep, session: SessionDep, lead: Agent, macro_id: int | None) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    shaped = _form_to_macro(fields, [t for t in form.getlist("tiers") if isinstance(t, str)])
    try:
        data = MacroIn.model_validate(shaped)
        if macro_id is None:
            saved = await macros.create(session, lead, data)
        else:
            saved = await macros.update(session, lead, macro_id, data)
    except (ValidationError, DomainError) as exc:
        status = exc.status if isinstance(exc, DomainError) else 422
        return _form_page(
            request, ctx, lead, macro_id=macro_id, form=fields, form_tiers=shaped["tiers"],
            problem=_problem_text(exc), status=status,
        )  # fmt: skip
    flash(request, f"Macro {saved.name!r} saved.")
    return _see_other(f"{PREFIX}/macros")


@ui.get("/macros", response_class=HTMLResponse)
async def macro_list(request: Request, ctx: ContextDep, session: SessionDep, lead: WebLead) -> HTMLResponse:
    return page(request, ctx, "web/macros.html", agent=lead, macros=await macros.for_agent(session, lead))


@ui.get("/macros/new", response_class=HTMLResponse)
async def new_macro(request: Request, ctx: ContextDep, lead: WebLead) -> HTMLResponse:
    return _form_page(request, ctx, lead, macro_id=None, form={}, form_tiers=[])


@ui.post("/macros/new")
async def create_macro(request: Request, ctx: ContextDep, session: SessionDep, lead: WebLead) -> Response:
    return await _save(request, ctx, session, lead, None)


@ui.get("/macros/{macro_id}", response_class=HTMLResponse)
async def edit_macro(
    request: Request, ctx: ContextDep, session: SessionDep, lead: WebLead, macro_id: MacroPathId
) -> HTMLResponse:
    macro = await macros.get(session, macro_id)
    actions = macro.actions
    escalate = actions.get("escalate") or {}
    form = {
        "name": macro.name,
        "body": macro.body,
        "internal": "on" if macro.internal else "",
        "status": actions.get("status", ""),
        "priority": actions.get("priority", ""),
        "add_tags": " ".join(actions.get("add_tags", [])),
        "remove_tags": " ".join(actions.get("remove_tags", [])),
        "escalate_reason": escalate.get("reason", ""),
        "escalate_to": "" if escalate.get("to_tier") is None else str(escalate["to_tier"]),
    }
    return _form_page(request, ctx, lead, macro_id=macro_id, form=form, form_tiers=[str(t) for t in macro.tiers])


@ui.post("/macros/{macro_id}")
async def update_macro(
    request: Request, ctx: ContextDep, session: SessionDep, lead: WebLead, macro_id: MacroPathId
) -> Response:
    return await _save(request, ctx, session, lead, macro_id)


@ui.post("/macros/{macro_id}/delete")
async def delete_macro(request: Request, session: SessionDep, lead: WebLead, macro_id: MacroPathId) -> RedirectResponse:
    await macros.delete(session, lead, macro_id)
    flash(request, "Macro deleted.")
    return _see_other(f"{PREFIX}/macros")


# ------------------------------------------------------------------------------- agents: on a ticket
@ui.get("/tickets/{ticket_id}/macros", response_class=HTMLResponse)
async def macro_picker(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    agent: WebAgent,
    actor: WebActor,
    ticket: WebTicket,
    macro_id: ChosenMacro = None,
) -> HTMLResponse:
    """The macros serving this ticket's tier and, once one is chosen, its preview (or its problem)."""
    preview, problem = None, None
    if macro_id is not None:
        try:
            preview = await applying.preview(session, ticket, actor, macro_id, ctx.settings)
        except DomainError as exc:
            problem = exc.detail
    return page(
        request, ctx, "web/macro_picker.html", agent=agent, ticket=ticket,
        macros=await macros.for_ticket(session, ticket), chosen=macro_id, preview=preview, problem=problem,
    )  # fmt: skip


@ui.post("/tickets/{ticket_id}/macros/{macro_id}/apply")
async def apply_macro(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    actor: WebActor,
    ticket: WebTicketForChange,
    macro_id: MacroPathId,
    body: Annotated[str, Form(max_length=200_000)] = "",
    files: Annotated[list[UploadFile], File()] = [],  # noqa: B006 (FastAPI copies defaults per request)
) -> RedirectResponse:
    """Send the (edited) preview and take the macro's actions; back to the ticket, or to the queue when an
    escalation took it out of the agent's tiers."""
    uploads = await attachments.read_uploads(files, max_bytes=ctx.settings.max_attachment_bytes)
    stored = attachments.store(ctx.blobs, uploads)
    text = body.replace("\x00", "") or None
    await applying.apply(session, ticket, actor, macro_id, ctx.settings, body=text, attachments=stored)
    flash(request, f"Macro applied to {ticket.ref}.")
    tier = ticket.support_tier
    if tier is not None and actor.agent is not None and not actor.agent.works_tier(tier):
        return _see_other(f"{PREFIX}/")
    return _see_other(f"{PREFIX}/tickets/{ticket.id}")
