"""Macro templates: Jinja2 in a sandbox that sees only the fields it is given, every problem with its line.

A lead writes the template; any agent's click renders it on a ticket. So the sandbox
(``ImmutableSandboxedEnvironment``: no underscore attributes, no mutating methods, safe ``str.format``)
gets plain dicts of plain values, no globals but a small ``range``, an allowlist of filters, and limits on
size: a template's length, loop nesting, repetition (``*``, no ``**``) and the rendered text. Problems are
422s naming the line: found when the macro is saved where they can be (syntax, unknown names and fields,
nesting), else when it is rendered (a value of the wrong type, a limit reached). Never a 500.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from router.errors import Invalid

MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = 100_000
MAX_LOOP_NESTING = 2
MAX_RANGE = 1_000
#: A string or list repeated (``*``) past this many items or characters is refused.
MAX_REPEAT = 10_000
#: The filters a macro may use: text and list shaping, nothing that pads or formats to a width it is told.
ALLOWED_FILTERS = frozenset(
    {
        "capitalize", "default", "d", "first", "join", "last", "length", "count", "list", "lower", "replace",
        "reverse", "round", "sort", "string", "title", "trim", "truncate", "unique", "upper", "wordcount", "int",
        "float", "abs", "min", "max", "sum", "striptags", "batch", "select", "reject", "map", "dictsort",
    }
)  # fmt: skip
#: What a template may name: the fields it is given, and ``range``.
FIELDS: dict[str, frozenset[str]] = {
    "ticket": frozenset(
        {
            "ref", "subject", "status", "priority", "support_tier", "support_tier_name", "requester_email",
            "tags", "product", "component", "service", "channel", "created_at", "customer_tier",
            "customer_tier_name",
        }
    ),
    "customer": frozenset({"known", "name", "external_ref", "value_tier", "value_tier_name"}),
    "agent": frozenset({"name", "email"}),
}  # fmt: skip
NAMES = frozenset({*FIELDS, "range"})


def _small_range(*args: int) -> range:
    found = range(*args)
    if len(found) > MAX_RANGE:
        raise SecurityError(f"range() in a macro gives at most {MAX_RANGE} numbers")
    return found


class MacroEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with repetition capped: ``"x" * 10**9`` would take the server's memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            raise SecurityError("the power operator ** is not allowed in macros")
        for seq, times in ((left, right), (right, left)):
            repeated = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if repeated and len(seq) * times > MAX_REPEAT:
                raise SecurityError(f"a repeated text or list in a macro is at most {MAX_REPEAT} long")
        return operator.mul(left, right)


def _blank_none(value: Any) -> Any:
    """An empty field renders as nothing, not as ``None``."""
    return "" if value is None else value


def _environment() -> MacroEnvironment:
    env = MacroEnvironment(
        undefined=StrictUndefined, autoescape=False, finalize=_blank_none, keep_trailing_newline=True
    )
    env.filters = {name: f for name, f in env.filters.items() if name in ALLOWED_FILTERS}
    env.globals = {"range": _small_range}
    return env


ENV = _environment()


def _problem(line: int | None, message: str) -> Invalid:
    where = f" at line {line}" if line else ""
    return Invalid(f"the macro's template has a problem{where}: {message}", field="body", line=line)


def check(source: str) -> None:
    """Refuse (422, with the line) a template that cannot render: too long, bad syntax, an unknown name
    or field, loops nested too deep."""
    if len(source) > MAX_TEMPLATE_CHARS:
        raise Invalid(f"a macro's template is at most {MAX_TEMPLATE_CHARS} characters", field="body")
    try:
        tree = ENV.parse(source)
        ENV.compile(tree)  # also finds filters and tests the sandbox does not have
    except TemplateSyntaxError as exc:
        raise _problem(exc.lineno, exc.message or "a syntax error") from None
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    local |= {m.name for m in tree.find_all(nodes.Macro)} | {"loop", "caller", "varargs", "kwargs"}
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in NAMES | local:
            known = ", ".join(sorted(FIELDS))  # and ``range``
            raise _problem(name.lineno, f"unknown name {name.name!r}; a macro sees {known}")
    for attr in tree.find_all(nodes.Getattr):
        if isinstance(attr.node, nodes.Name) and attr.node.name in FIELDS and attr.node.name not in local:
            fields = FIELDS[attr.node.name]
            if attr.attr not in fields:
                raise _problem(
                    attr.lineno,
                    f"{attr.node.name} has no field {attr.attr!r}; it has {', '.join(sorted(fields))}",
                )
    for loop, depth in _loops(tree, 0):
        if depth > MAX_LOOP_NESTING:
            raise _problem(loop.lineno, f"loops nest at most {MAX_LOOP_NESTING} deep in a macro")


def _loops(node: nodes.Node, depth: int) -> Iterator[tuple[nodes.Node, int]]:
    for child in node.iter_child_nodes():
        inner = depth + 1 if isinstance(child, nodes.For) else depth
        if isinstance(child, nodes.For):
            yield child, inner
        yield from _loops(child, inner)


def render(source: str, fields: Mapping[str, Any]) -> str:
    """The template rendered with ``fields`` (``ticket``, ``customer``, ``agent``); a problem is a 422."""
    check(source)
    try:
        template = ENV.from_string(source)
        out: list[str] = []
        size = 0
        for chunk in template.generate(dict(fields)):
            size += len(chunk)
            if size > MAX_OUTPUT_CHARS:
                raise SecurityError(f"a macro renders at most {MAX_OUTPUT_CHARS} characters")
            out.append(chunk)
    except (TemplateError, ArithmeticError, LookupError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise _problem(_template_line(exc.__traceback__), str(exc) or type(exc).__name__) from None
    return "".join(out)


def _template_line(tb: TracebackType | None) -> int | None:
    """The template's line where rendering failed (Jinja2 maps its frames to ``<template>`` lines)."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
