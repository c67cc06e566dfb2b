"""The plain reading shape ``{"sensor", "metric", "value", "unit"?, "ts"?, "labels"?}`` shared by MQTT and HTTP."""

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from incidents.readings import Reading
from incidents.units import UnitError, canonical

MAX_NAME = 128  # characters of a sensor id or metric name


class PlainReadingError(ValueError):
    """A plain reading object is malformed; the message is one plain sentence."""


def reading_from_plain(item: Mapping[str, object], *, now: datetime, source: str = "plain") -> Reading:
    """Build a Reading from one decoded JSON object; ``ts`` defaults to ``now``; a value given with a
    ``unit`` is converted to the metric's canonical unit, the original kept."""
    sensor, metric, value = item.get("sensor"), item.get("metric"), item.get("value")
    if not isinstance(sensor, str) or not sensor or len(sensor) > MAX_NAME:
        raise PlainReadingError(f'"sensor" must be a non-empty string of at most {MAX_NAME} characters')
    if not isinstance(metric, str) or not metric or len(metric) > MAX_NAME:
        raise PlainReadingError(f'"metric" must be a non-empty string of at most {MAX_NAME} characters')
    if not isinstance(value, bool) and not (isinstance(value, int | float) and math.isfinite(value)):
        raise PlainReadingError(f'"value" of {sensor}/{metric} must be a finite number or true/false')
    unit, raw_value, raw_unit = item.get("unit"), None, None
    number: float | bool = value if isinstance(value, bool) else float(value)
    if unit is not None:
        if not isinstance(unit, str) or not unit:
            raise PlainReadingError(f'"unit" of {sensor}/{metric} must be a non-empty string')
        if not isinstance(number, bool):
            try:
                number, unit, raw_value, raw_unit = canonical(metric, number, unit)
            except UnitError as exc:
                raise PlainReadingError(f"{sensor}/{metric}: {exc}") from None
    return Reading(
        sensor=sensor,
        metric=metric,
        value=number,
        ts=parse_timestamp(item.get("ts"), now=now),
        source=source,
        labels=string_labels(item.get("labels")),
        unit=unit if isinstance(unit, str) and not isinstance(number, bool) else None,
        raw_value=raw_value,
        raw_unit=raw_unit,
    )


def parse_timestamp(value: object, *, now: datetime) -> datetime:
    """An ISO-8601 timestamp with an offset, as UTC; ``now`` when absent."""
    if value is None:
        return now
    if not isinstance(value, str):
        raise PlainReadingError(f"timestamp {value!r} is not an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PlainReadingError(f'timestamp "{value}" is not ISO-8601') from None
    if parsed.tzinfo is None:
        raise PlainReadingError(f'timestamp "{value}" has no UTC offset (add Z or +08:00)')
    return parsed.astimezone(UTC)


def string_labels(value: object) -> dict[str, str]:
    """Labels as a str→str dict; scalar values are turned into text, nested ones refused."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PlainReadingError('"labels" must be an object of names to values')
    labels: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, dict | list):
            raise PlainReadingError(f'label "{key}" must be a plain value, not a list or object')
        labels[str(key)] = "" if item is None else str(item).lower() if isinstance(item, bool) else str(item)
    return labels


def load_json(payload: bytes, what: str, error: Callable[[str], Exception]) -> Any:
    """Strict JSON (NaN, Infinity and invalid UTF-8 refused, at most 1,024 levels deep: orjson's limit); raises
    ``error(reason)`` naming ``what`` and, where one was passed, the limit."""
    try:
        return orjson.loads(payload)
    except ValueError as exc:
        if "depth limit" in str(exc):
            raise error(f"{what} is nested deeper than 1,024 levels") from None
        if "UTF-8" in str(exc):
            raise error(f"{what} is not valid UTF-8") from None
        raise error(f"{what} is not valid JSON") from None


def load_json_object(payload: bytes, what: str, error: Callable[[str], Exception]) -> dict[str, Any]:
    """A JSON object, else ``error(reason)`` naming ``what``."""
    data = load_json(payload, what, error)
    if not isinstance(data, dict):
        raise error(f"{what} is not a JSON object")
    return data
