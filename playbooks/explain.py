"""Turn pydantic validation errors into plain sentences about a playbook."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from playbooks.schema import DURATION_PATTERN, NAME_PATTERN, OPTION_PATTERN, ROLES, SLUG_PATTERN, Playbook

PathPart = str | int

ROLE_FIELDS = frozenset({"role", "roles", "fallback_roles", "escalate_to", "confirm_by", "owner"})
SYNONYMS = {
    "assignee": "role",
    "owner_role": "role",
    "if": "when",
    "condition": "when",
    "next": "branches",
    "timeout": "timeouts",
    "inputs": "input",
    "depends_on": "needs",
    "after": "needs",
    "name": "title",
    "description": "instructions",
    "steps": "parallel",
    "uses": "action",
    "type": "action",
    "repeat_every": "repeat",
}
LANGUAGES = {"zh": "Chinese text (zh)", "en": "English text (en)"}


def explain(error: ErrorDetails, data: object) -> str:
    """A sentence a safety officer understands, prefixed with the step it concerns."""
    loc = tuple(error["loc"])
    models, fields = _resolve(loc)
    where = _where(loc, data)
    if where:
        fields = [name for name in fields if name not in ("steps", "parallel")]
    subject = ".".join(fields) or "the playbook"
    sentence = _sentence(error, loc, models, fields, subject)
    return f"{where}: {sentence}" if where else sentence


def _sentence(
    error: ErrorDetails,
    loc: tuple[PathPart, ...],
    models: list[type[BaseModel]],
    fields: list[str],
    subject: str,
) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    value = error.get("input")
    field = fields[-1] if fields else ""
    if kind == "extra_forbidden":
        return _unknown_key(str(loc[-1]), models)
    if kind == "missing":
        return _missing(fields)
    if kind == "literal_error" and field in ROLE_FIELDS:
        return f'unknown role "{value}" (roles are {", ".join(ROLES)})'
    if kind == "literal_error":
        return f'{subject} cannot be "{value}" (use {ctx.get("expected", "")})'
    if kind == "union_tag_invalid":
        noun = "action" if "action" in str(ctx.get("discriminator")) else "input type"
        return f'unknown {noun} "{ctx.get("tag")}" (use {ctx.get("expected_tags")})'
    if kind == "union_tag_not_found":
        return f"{subject} needs {ctx.get('discriminator')} to say what it is"
    if kind == "string_pattern_mismatch":
        return _pattern(str(ctx.get("pattern")), subject, value)
    if kind in ("model_type", "dict_type", "model_attributes_type") and _is_text(models, field):
        return f"{subject} must give both texts, like {{zh: 中文, en: English}}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{subject} must be a set of keys and values, not {_show(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{subject} must be a whole number, not {_show(value)}"
    if kind in ("float_type", "float_parsing"):
        return f"{subject} must be a number, not {_show(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"{subject} must be true or false, not {_show(value)}"
    if kind == "string_type":
        return f"{subject} must be text, not {_show(value)}"
    if kind == "list_type":
        return f"{subject} must be a list, not {_show(value)}"
    if kind == "too_short":
        return f"{subject} needs at least {ctx.get('min_length')} item(s)"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{subject} must be at least {ctx.get('ge', ctx.get('gt'))}, not {_show(value)}"
    if kind == "value_error":
        return f"{subject}: {ctx.get('error')}" if fields else str(ctx.get("error"))
    return f"{subject}: {error['msg']}"


def _unknown_key(key: str, models: list[type[BaseModel]]) -> str:
    allowed = sorted({name for model in models for name in model.model_fields})
    hint = SYNONYMS.get(key)
    return f'unknown key "{key}"' + (f' (did you mean "{hint}"?)' if hint in allowed else did_you_mean(key, allowed))


def did_you_mean(word: str, candidates: Sequence[str]) -> str:
    """' (did you mean "x"?)' for the closest of `candidates` to a mistyped `word`, or ''."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _missing(fields: list[str]) -> str:
    if fields and fields[-1] in LANGUAGES:
        owner = ".".join(fields[:-1]) or "text"
        return f"{owner} is missing the {LANGUAGES[fields[-1]]}"
    if fields and fields[-1] == "confirm_by":
        return 'action mqtt.publish needs "confirm_by": the role that must confirm before it is sent'
    parent = ".".join(fields[:-1])
    return f'"{fields[-1]}" is missing' + (f" in {parent}" if parent else "")


def _pattern(pattern: str, subject: str, value: object) -> str:
    if pattern == DURATION_PATTERN:
        return f"{subject} {_show(value)} is not a duration; write it like 30s, 5m, 2h or 3d"
    if pattern == SLUG_PATTERN:
        return f"{subject} {_show(value)} is not a valid id; use lowercase letters, digits and hyphens"
    if pattern == OPTION_PATTERN:
        return f"{subject} {_show(value)} is not a valid value; use lowercase letters, digits, - and _"
    if pattern == NAME_PATTERN:
        return f"{subject} {_show(value)} is not a valid name; use lowercase letters, digits and underscores"
    return f"{subject} {_show(value)} has the wrong form"


def _is_text(models: list[type[BaseModel]], field: str) -> bool:
    return any(model.__name__ == "Text" for model in models) or field in ("title", "instructions", "label")


def _show(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _where(loc: tuple[PathPart, ...], data: object) -> str:
    """'step "id"' when the error is inside a step, else ''."""
    if len(loc) < 2 or loc[0] != "steps" or not isinstance(loc[1], int):
        return ""
    step = _item(_get(data, "steps"), loc[1])
    label = f'step "{_get(step, "id")}"' if isinstance(_get(step, "id"), str) else f"step {loc[1] + 1}"
    if len(loc) >= 4 and loc[2] == "parallel" and isinstance(loc[3], int):
        part = _item(_get(step, "parallel"), loc[3])
        part_id = _get(part, "id")
        return f'step "{part_id}"' if isinstance(part_id, str) else f"{label}, part {loc[3] + 1}"
    return label


def _get(data: object, key: str) -> object:
    return data.get(key) if isinstance(data, dict) else None


def _item(data: object, index: int) -> object:
    return data[index] if isinstance(data, list) and 0 <= index < len(data) else None


def _resolve(loc: Sequence[PathPart]) -> tuple[list[type[BaseModel]], list[str]]:
    """The models that hold the last part of `loc`, and the field names along it (no indexes, no tags)."""
    candidates: list[Any] = [Playbook]
    models: list[type[BaseModel]] = [Playbook]
    fields: list[str] = []
    for part in loc:
        models = [tp for tp in candidates if _is_model(tp)]
        following: list[Any] = []
        for tp in candidates:
            following.extend(_step_into(tp, part))
        if isinstance(part, str) and any(_is_model(tp) and part in tp.model_fields for tp in candidates):
            fields.append(part)
        candidates = [member for tp in following for member in _members(tp)]
    return models, fields


def _step_into(tp: Any, part: PathPart) -> list[Any]:
    if _is_model(tp) and isinstance(part, str):
        if part in tp.model_fields:
            return [tp.model_fields[part].annotation]
        if _tag_of(tp) == part:
            return [tp]
    if typing.get_origin(tp) is list and isinstance(part, int):
        return list(typing.get_args(tp))
    return []


def _tag_of(model: type[BaseModel]) -> str | None:
    for name in ("action", "type"):
        field = model.model_fields.get(name)
        if field is not None and typing.get_origin(field.annotation) is typing.Literal:
            return str(typing.get_args(field.annotation)[0])
    return None


def _members(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [member for arg in typing.get_args(tp) for member in _members(arg)]
    if tp is type(None):
        return []
    return [tp]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)
