"""Rules and registry YAML with line numbers: every problem names its file, line and what is wrong."""

import types
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.dataclasses import is_pydantic_dataclass
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from incidents.rules import yaml_stream
from playbooks.explain import did_you_mean
from playbooks.problems import FileProblems, Problem
from playbooks.yaml_lines import LineIndex, error_line

Loc = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)

_ITEM_NAMES = {"rules": "rule", "devices": "device", "zones": "zone", "grouping": "route", "inhibit": "inhibition"}
_EXPECTED = {
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
}


@dataclass(frozen=True, slots=True)
class PathProblem:
    """One thing wrong in a config file: where (a path of keys and indexes into the data) and what."""

    loc: Loc
    message: str


class ConfigError(FileProblems):
    """A rules or device registry file was refused."""


class YamlDocument:
    """Parsed YAML data; the line of every node is looked up (by parsing ``text`` again) only when a problem
    is reported, so the node tree of a large file (28 MB for 5,000 devices) is not kept while it is validated."""

    def __init__(self, source: str, data: Any, text: str) -> None:
        self.source = source
        self.data = data
        self.text = text

    @cached_property
    def lines(self) -> LineIndex:
        """The line index of ``text`` (composed at first use)."""
        return LineIndex.from_text(self.text)

    def validate(self, model: type[ModelT]) -> ModelT:
        """Validate the data as ``model``, turning pydantic errors into a ConfigError with lines."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise ConfigError(self._problems(model, exc.errors())) from None

    def raise_problems(self, problems: list[PathProblem]) -> None:
        """Raise a ConfigError for ``problems`` if there are any."""
        if problems:
            raise ConfigError([self._at(p.loc, f"{self._where(p.loc)}{p.message}") for p in problems])

    def _at(self, loc: Loc, message: str) -> Problem:
        return Problem(self.source, self.lines.line(loc), message)

    def _data_loc(self, loc: Loc) -> Loc:
        """``loc`` without the parts pydantic adds that are not in the file (union tags, member types)."""
        found: list[str | int] = []
        data = self.data
        for part in loc:
            in_dict = isinstance(data, dict) and part in data
            in_list = isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data)
            if in_dict or in_list:
                data = data[part]
                found.append(part)
        return tuple(found)

    def _problems(self, model: type[BaseModel], errors: list[ErrorDetails]) -> list[Problem]:
        problems: list[Problem] = []
        value_errors: dict[Loc, list[ErrorDetails]] = {}
        for error in errors:
            loc = tuple(error["loc"])
            where = self._data_loc(loc)
            kind = error["type"]
            if kind == "missing":
                problems.append(self._at(where, f'{self._where(where)}missing key "{loc[-1]}"'))
            elif kind == "union_tag_not_found":
                problems.append(self._at(where, f'{self._where(where)}missing key "type"'))
            elif kind in ("extra_forbidden", "unexpected_keyword_argument"):  # the latter: a dataclass's
                key = str(loc[-1])
                hint = did_you_mean(key, _allowed_keys(model, loc[:-1]))
                problems.append(self._at(where, f'{self._where(where[:-1])}unknown key "{key}"{hint}'))
            elif kind == "union_tag_invalid":
                ctx = error.get("ctx", {})
                tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
                tag = str(ctx.get("tag", ""))
                message = f'unknown type "{tag}"{did_you_mean(tag, tags)}; expected one of {", ".join(tags)}'
                problems.append(self._at((*where, "type"), f"{self._where(where)}{message}"))
            else:
                value_errors.setdefault(where, []).append(error)
        for where, group in value_errors.items():
            problems.append(self._at(where, f"{self._where(where)}{_describe(group)}"))
        return sorted(problems)

    def _where(self, loc: Loc) -> str:
        """``rule "cold-room-high-temp": clear.for: `` for a path into the file."""
        if len(loc) >= 2 and loc[0] in _ITEM_NAMES:
            head, rest = self._item_name(loc[0], loc[1]), loc[2:]
        else:
            head, rest = "", loc
        field = ".".join(str(part) for part in rest)
        return head + (f"{field}: " if field else "")

    def _item_name(self, section: str | int, key: str | int) -> str:
        name = _ITEM_NAMES[str(section)]
        if isinstance(key, int):
            entry = self.data[section][key]
            rule_id = entry.get("id") if isinstance(entry, dict) else None
            return f'{name} "{rule_id}": ' if isinstance(rule_id, str) else f"{name} #{key + 1}: "
        return f'{name} "{key}": '


def load_document(text: str, *, source: str) -> YamlDocument:
    """Parse YAML text; raise ConfigError with the line of a syntax error or a duplicate key.

    Built from libyaml's events (``yaml_stream``: no node tree, so a large registry does not leave tens of MB
    of freed nodes resident); a document that needs the full loader is composed by PyYAML's ``CSafeLoader``,
    and a syntax error is reported by the pure-Python parser, whose messages the file's authors see."""
    parsed = yaml_stream.load(text)
    if parsed is None:
        try:
            parsed = _parse(text, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            try:
                parsed = _parse(text, yaml.SafeLoader)
            except yaml.YAMLError as exc:
                problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
                raise ConfigError([Problem(source, error_line(exc), f"YAML syntax error: {problem}")]) from None
    data, duplicates = parsed
    if duplicates:
        raise ConfigError([Problem(source, line, f'duplicate key "{key}"') for line, key in duplicates])
    return YamlDocument(source, data, text)


def _parse(text: str, loader_class: Any) -> tuple[Any, list[tuple[int, str]]]:
    """The data of ``text`` and its duplicate keys as (line, key); the node tree is dropped on return."""
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        duplicates = LineIndex(root).duplicate_keys()
        return (loader.construct_document(root) if root is not None else None), duplicates
    finally:
        loader.dispose()


def _describe(group: list[ErrorDetails]) -> str:
    """One plain sentence for the errors on one value (a union gives one error per member type)."""
    expected: list[str] = []
    for error in group:
        kind = error["type"]
        if kind in _EXPECTED:
            text = _EXPECTED[kind]
        elif kind in ("enum", "literal_error"):
            choices = str(error.get("ctx", {}).get("expected", ""))
            text = choices if "," not in choices and " or " not in choices else f"one of {choices}"
        else:
            message = error["msg"].removeprefix("Value error, ")
            return message[:1].lower() + message[1:]
        if text not in expected:
            expected.append(text)
    value = group[0].get("input")
    got = f", got {value!r}" if isinstance(value, str | int | float | bool) or value is None else ""
    return "expected " + " or ".join(expected) + got


def _allowed_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the model accepts at ``loc``, following lists, dicts, optionals and tagged unions."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    fields = _fields(_strip(current))
    return [field.alias or name for name, field in fields.items()] if fields is not None else []


def _step(current: Any, part: str | int) -> Any:
    current = _strip(current)
    origin = get_origin(current)
    if origin in (Union, types.UnionType):
        members = [_strip(arg) for arg in get_args(current) if arg is not type(None)]
        for member in members:
            if isinstance(member, type) and issubclass(member, BaseModel):
                tag = member.model_fields.get("type")
                if tag is not None and part in get_args(tag.annotation):
                    return member
        return _step(members[0], part) if len(members) == 1 else None
    if origin is list and isinstance(part, int):
        return get_args(current)[0]
    if origin is dict and isinstance(part, str):
        return get_args(current)[1]
    for name, field in (_fields(current) or {}).items():
        if part in (name, field.alias):
            return field.annotation
    return None


def _fields(tp: Any) -> dict[str, FieldInfo] | None:
    """The fields of a model or of a pydantic dataclass (``Device``); None for any other type."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp.model_fields
    if is_pydantic_dataclass(tp):
        return tp.__pydantic_fields__
    return None


def _strip(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [arg for arg in get_args(tp) if arg is not type(None)]
        if len(args) == 1:
            return _strip(args[0])
    return tp
