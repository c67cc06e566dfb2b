"""Formatting shared by the review templates: site-local times and durations."""

from datetime import datetime
from zoneinfo import ZoneInfo


def local(moment: datetime | None, timezone: str) -> str:
    """``2026-11-25 10:03`` in the site's timezone, ``-`` for nothing."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M") if moment else "-"


def local_seconds(moment: datetime | None, timezone: str) -> str:
    """``10:03:27`` in the site's timezone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M:%S") if moment else "-"


def duration(seconds: float | None) -> str:
    """``1 h 05 min``, ``4 min 30 s``, ``-``."""
    if seconds is None:
        return "-"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
