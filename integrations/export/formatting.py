"""Formatting shared by the review templates: site-local times."""

from datetime import datetime
from zoneinfo import ZoneInfo


def local(moment: datetime | None, timezone: str) -> str:
    """``2026-11-25 10:03`` in the site's timezone, ``-`` for nothing."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M") if moment else "-"


def local_seconds(moment: datetime | None, timezone: str) -> str:
    """``11-25 10:03:27`` in the site's timezone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%m-%d %H:%M:%S") if moment else "-"
