"""Durations written as 30s, 5m, 2h, 3d or 1h30m: one parser for playbooks and alert rules."""

from __future__ import annotations

from datetime import timedelta

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_HINT = "write it like 30s, 5m, 2h or 3d"


def duration_seconds(value: str | int | float) -> float:
    """The seconds in ``value`` (a duration text or a plain number of seconds); ValueError if it is not one."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; {_HINT}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value} is negative; a duration must be 0 or more")
        return float(value)
    text = value.strip()
    if not text:
        raise ValueError(f"empty duration; {_HINT}")
    total, number, i = 0.0, "", 0
    while i < len(text):
        char = text[i]
        if char.isdigit() or char == ".":
            number += char
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else char
        if not number or number.count(".") > 1 or unit not in UNITS:
            raise ValueError(f'"{value}" is not a duration; {_HINT}')
        total += float(number) * UNITS[unit]
        number = ""
        i += len(unit)
    if number:
        raise ValueError(f'"{value}" has no unit; write it like {number}s or {number}m')
    return total


def parse_duration(text: str) -> timedelta:
    """The timedelta of a duration like '5m' (ValueError if malformed)."""
    return timedelta(seconds=duration_seconds(text))


def format_offset(offset: timedelta) -> str:
    """An offset from the start as +H:MM:SS."""
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
