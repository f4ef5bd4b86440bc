"""Why a criterion matched: each condition of its expression, whether it held, and the
values of the criteria view it read.

An analyst must be able to check a rule hit without trusting the machine (Art. 6(5): every
automated match is reviewed by a person; C-817/19 para 204: the reviewer must understand
why it matched). A rule is one CEL expression; its top-level `&&` / `||` operands are the
conditions a person reads, so each is evaluated on its own over the same view. The values
shown are those of the criteria view only: no identity, sensitive or discriminatory data
can appear, because the view does not hold any.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import cel

from pnrguard.screening.criteria import FIELD_REF, STRING_LITERAL, unknown_fields

__all__ = ["Condition", "explain", "split_conditions"]


@dataclass(frozen=True, slots=True)
class Condition:
    text: str
    held: bool | None  # None: the condition could not be evaluated on this data
    values: tuple[tuple[str, str], ...]  # (field, value as shown) read by the condition


def split_conditions(expression: str) -> tuple[str, list[str]]:
    """The top-level operator ("&&", "||" or "" for a single condition) and its operands.
    A mix of both at the top level (precedence decides) is shown as one condition."""
    depth = 0
    quote = ""
    escaped = False
    cuts: list[tuple[int, str]] = []
    i = 0
    while i < len(expression):
        ch = expression[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and expression[i : i + 2] in ("&&", "||"):
            cuts.append((i, expression[i : i + 2]))
            i += 1
        i += 1
    ops = {op for _, op in cuts}
    if len(ops) != 1:
        return "", [expression.strip()]
    parts: list[str] = []
    start = 0
    for at, _ in cuts:
        parts.append(expression[start:at].strip())
        start = at + 2
    parts.append(expression[start:].strip())
    return ops.pop(), parts


def _shown(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_shown(v) for v in value) or "(none)"
    if value is None:
        return "null"
    return str(value)


def _values(condition: str, view: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    out: dict[str, str] = {}
    for var, name in FIELD_REF.findall(STRING_LITERAL.sub("''", condition)):
        root = view.get(var)
        if isinstance(root, dict) and name in root:
            out[f"{var}.{name}"] = _shown(root[name])
        elif var not in view and isinstance(view.get("itinerary"), list):
            legs = view["itinerary"]
            if legs and isinstance(legs[0], dict) and name in legs[0]:  # a loop variable over the legs
                out[f"itinerary.{name}"] = _shown([leg.get(name) for leg in legs])
    return tuple(out.items())


def explain(expression: str, view: dict[str, Any]) -> tuple[str, list[Condition]]:
    """Each top-level condition of `expression` evaluated over `view` (one traveller's
    criteria view), with the values it read. Returns the joining operator and the list."""
    op, parts = split_conditions(expression)
    out: list[Condition] = []
    context = cel.Context(variables=view)
    for part in parts:
        held: bool | None
        if unknown_fields(part):
            held = None
        else:
            try:
                result = cel.compile(part).execute(context)
                held = result if isinstance(result, bool) else None
            except (KeyError, RuntimeError, TypeError, ValueError):
                held = None
        out.append(Condition(part, held, _values(part, view)))
    return op, out
