"""Durations written as 30s, 5m, 2h or 3d."""

from __future__ import annotations

from datetime import timedelta

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """The timedelta of a duration like '5m' (ValueError if malformed)."""
    text = text.strip()
    if len(text) < 2 or text[-1] not in UNITS or not text[:-1].isdigit():
        raise ValueError(f'"{text}" is not a duration; write it like 30s, 5m, 2h or 3d')
    return timedelta(seconds=int(text[:-1]) * UNITS[text[-1]])


def format_offset(offset: timedelta) -> str:
    """An offset from the start as +H:MM:SS."""
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
