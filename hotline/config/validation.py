"""Validate located YAML against pydantic models and say what is wrong in plain words.

pydantic reports errors as ``loc`` tuples and terse English; this module maps each ``loc``
back to ``file:line:column`` through the document's position table and rewrites the message
for an administrator: which key, what it expected, what it got, and the fix where one is
obvious (the closest valid key for a typo). Values of secret keys are never echoed.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Hashable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from hotline.config.diagnostics import Diagnostic, did_you_mean
from hotline.config.yamlsource import YamlDocument

M = TypeVar("M", bound=BaseModel)

SECRET_WORDS = ("secret", "password", "token", "passwd")


class StrictModel(BaseModel):
    """Base of every configuration model: unknown keys are errors, nothing is coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def validate_document(
    model: type[M], document: YamlDocument, *, data: Any = None, prefix: tuple[Hashable, ...] = ()
) -> tuple[M | None, list[Diagnostic]]:
    """Validate ``data`` (default: the whole document) found at ``prefix`` against ``model``."""
    payload = document.data if data is None else data
    try:
        return model.model_validate(payload), []
    except ValidationError as exc:
        errors = _resolve_unions(list(exc.errors()))
        return None, [_diagnostic(model, document, prefix, err) for err in errors]


# pydantic tags the errors of each member of a union (``str | list[str]``) with the member's
# name in ``loc``; these are the names it uses for builtin types, containers and models
_MEMBER_TAG = re.compile(r"(str|int|float|bool|none|[a-z]+\[.*\]|[A-Z][A-Za-z0-9_]*)")
_TYPE_KINDS = {
    "string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number",
    "float_type": "a number", "float_parsing": "a number", "bool_type": "true or false",
    "bool_parsing": "true or false", "list_type": "a list (lines starting with '- ')",
    "dict_type": "a block of keys and values", "model_type": "a block of keys and values",
    "model_attributes_type": "a block of keys and values",
}


def _resolve_unions(errors: list[Any]) -> list[Any]:
    """One error per mistake where a value may take several forms (``str | list[str]``).

    pydantic reports every member of a union. If the value has the outer form of a member (a
    list where a list may stand), only that member's errors count, with the tag removed; if it
    fits no member, the members' type errors become one ``union_type`` error listing the forms.
    """
    groups: dict[tuple[Hashable, ...], dict[str, list[Any]]] = {}
    order: list[tuple[Hashable, ...] | int] = []
    for number, err in enumerate(errors):
        loc = tuple(err["loc"])
        at = next((i for i, part in enumerate(loc) if isinstance(part, str)
                   and _MEMBER_TAG.fullmatch(part)), None)
        if at is None:
            order.append(number)
            continue
        prefix = loc[:at]
        if prefix not in groups:
            groups[prefix] = {}
            order.append(prefix)
        groups[prefix].setdefault(str(loc[at]), []).append((at, err))
    out: list[Any] = []
    for key in order:
        if isinstance(key, int):
            out.append(errors[key])
            continue
        members = groups[key]
        if len(members) < 2:  # a key that only looks like a tag (a calendar named 'Office')
            out.extend(err for found in members.values() for _, err in found)
            continue
        fitting = [found for found in members.values()
                   if any(len(err["loc"]) > at + 1 or err["type"] not in _TYPE_KINDS
                          for at, err in found)]
        if fitting:
            best = min(fitting, key=len)
            out.extend(_resolve_unions([
                {**err, "loc": (*err["loc"][:at], *err["loc"][at + 1:])} for at, err in best]))
            continue
        forms = list(dict.fromkeys(_TYPE_KINDS[err["type"]] for found in members.values()
                                   for _, err in found))
        first = next(iter(members.values()))[0][1]
        out.append({**first, "loc": key, "type": "union_type", "ctx": {"forms": forms}})
    return out


def _diagnostic(
    model: type[BaseModel], document: YamlDocument, prefix: tuple[Hashable, ...], err: Any
) -> Diagnostic:
    loc = _clean_loc(model, tuple(err["loc"]))
    path = (*prefix, *loc)
    kind = err["type"]
    name = _describe(path)
    value = err.get("input")
    secret = any(word in str(part).lower() for part in path for word in SECRET_WORDS)
    shown = "(hidden)" if secret else _show(value)
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        hint = did_you_mean(str(loc[-1]), allowed)
        if not hint and allowed:
            hint = "; allowed keys here: " + ", ".join(sorted(allowed))
        where = f" in {_describe(path[:-1])}" if path[:-1] else ""
        if any(word in str(loc[-1]).lower() for word in SECRET_WORDS):
            hint = (
                "; secrets are never written in the deployment files: put it in an "
                "environment variable and name that variable here (for example secret_env)"
            )
        return document.diagnostic(path, f"unknown key '{loc[-1]}'{where}{hint}", key=True)
    if kind == "missing":
        where = f"{_describe(path[:-1])} is" if path[:-1] else "the file is"
        return document.diagnostic(path[:-1], f"{where} missing the required key '{loc[-1]}'",
                                   key=True)
    key_position = kind in {"dict_type", "model_type"} and value is None
    message = _explain(kind, err["msg"], ctx, shown)
    return document.diagnostic(path, f"{name} {message}", key=key_position)


def _explain(kind: str, msg: str, ctx: dict[str, Any], shown: str) -> str:
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return f"must be a whole number, not {shown}"
    if kind in {"float_type", "float_parsing"}:
        return f"must be a number, not {shown}"
    if kind in {"bool_type", "bool_parsing"}:
        return f"must be true or false, not {shown}"
    if kind == "string_type":
        return f"must be text, not {shown}; put the value in quotes, like '{shown}'"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"must be a block of keys and values, not {shown}"
    if kind == "list_type":
        return f"must be a list (lines starting with '- '), not {shown}"
    if kind == "union_type":
        forms = ctx["forms"]
        listed = ", ".join(forms[:-1]) + f" or {forms[-1]}" if len(forms) > 1 else forms[0]
        return f"must be {listed}, not {shown}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}, not {shown}"
    if kind in {"greater_than_equal", "greater_than", "less_than_equal", "less_than"}:
        words = {
            "greater_than_equal": "at least", "greater_than": "more than",
            "less_than_equal": "at most", "less_than": "less than",
        }[kind]
        limit = next(iter(ctx.values()), "")
        return f"must be {words} {limit}, not {shown}"
    if kind == "string_pattern_mismatch":
        return f"has the wrong form: {shown} does not match {ctx.get('pattern')}"
    if kind in {"too_short", "too_long"}:
        return msg[0].lower() + msg[1:]
    if kind == "value_error":
        text = str(ctx.get("error", msg.removeprefix("Value error, ")))
        return text
    if kind == "assertion_error":
        return msg.removeprefix("Assertion failed, ")
    return f"is not valid ({msg[0].lower()}{msg[1:]}), got {shown}"


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a block of keys"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (an empty value)"
    return repr(value) if isinstance(value, str) else str(value)


def _describe(path: tuple[Hashable, ...]) -> str:
    if not path:
        return "the file"
    parts: list[str] = []
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part + 1}]" if parts else f"item {part + 1}")
        else:
            parts.append(("." if parts else "") + str(part))
    return "'" + "".join(parts) + "'"


def _clean_loc(model: type[BaseModel], loc: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
    """Drop the entries pydantic adds for union members and validators (not YAML keys)."""
    out: list[Hashable] = []
    for part in loc:
        if isinstance(part, str) and (
            part.startswith(("function-", "tagged-union", "union[")) or part in {"[key]"}
        ):
            continue
        out.append(part)
    return tuple(out)


def _fields_at(model: type[BaseModel], loc: tuple[Hashable, ...]) -> list[str]:
    """The allowed keys of the model reached by following ``loc`` from ``model``."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) in (dict, list, tuple):
            args = typing.get_args(current)
            current = args[-1] if args else Any
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _unwrap(arg)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return annotation
