"""Charts for reviews (matplotlib, Agg backend): sensor readings with thresholds and milestones, and stats."""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from handlers.review import Review, ReviewStats

FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
_MILESTONE_COLOURS = {"opened": "#c62828", "acknowledged": "#ef6c00", "mitigating": "#1565c0",
                      "resolved": "#2e7d32"}


@contextmanager
def _style() -> Iterator[None]:
    with plt.rc_context({"font.family": "sans-serif", "font.sans-serif": FONTS, "axes.unicode_minus": False,
                         "svg.fonttype": "none", "axes.spines.top": False, "axes.spines.right": False,
                         "font.size": 9}):
        yield


def _x(moment: datetime) -> float:
    return float(mdates.date2num(moment))  # type: ignore[no-untyped-call]


def _save(figure: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=150, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else {})
    plt.close(figure)
    return buffer.getvalue()


def readings_chart(review: Review, *, fmt: str = "svg") -> bytes | None:
    """The sensors of the incident around it, thresholds as dashed lines, milestones as vertical lines."""
    if not review.series:
        return None
    zone = ZoneInfo(review.timezone)
    with _style():
        figure, axes = plt.subplots(figsize=(9.5, 3.4))
        for series in review.series:
            axes.plot([_x(at) for at, _ in series.points], [value for _, value in series.points], linewidth=1.3,
                      label=f"{series.sensor} · {series.metric}")
        for threshold in review.thresholds:
            axes.axhline(threshold.value, color="#d32f2f", linestyle="--", linewidth=1)
            axes.annotate(f"{threshold.value:g} ({threshold.rule})", xy=(1, threshold.value),
                          xycoords=("axes fraction", "data"), xytext=(-4, 3), textcoords="offset points",
                          ha="right", color="#d32f2f", fontsize=8)
        for milestone in review.milestones:
            colour = _MILESTONE_COLOURS.get(milestone.key, "#555555")
            axes.axvline(_x(milestone.at), color=colour, linewidth=1, alpha=0.8)
            axes.annotate(f"{milestone.name_zh} {milestone.name_en}", xy=(_x(milestone.at), 1),
                          xycoords=("data", "axes fraction"), xytext=(3, -10), textcoords="offset points",
                          rotation=90, va="top", color=colour, fontsize=8)
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d\n%H:%M", tz=zone))  # type: ignore[no-untyped-call]
        axes.set_ylabel("读数 Reading")
        axes.set_xlabel(f"时间 Time ({review.timezone})")
        axes.grid(alpha=0.25)
        axes.legend(loc="upper left", fontsize=8, frameon=False)
        return _save(figure, fmt)


def stats_chart(stats: ReviewStats, *, fmt: str = "png") -> bytes:
    """Incidents per type and site, with MTTA and MTTR in minutes."""
    with _style():
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
        names = [f"{g.incident_type}\n{g.site}" for g in stats.groups] or ["-"]
        left.barh(names, [g.count for g in stats.groups] or [0], color="#1565c0")
        left.set_title("事件数 Incidents")
        left.invert_yaxis()
        positions = range(len(stats.groups))
        right.barh([p - 0.2 for p in positions], [(g.mtta_seconds or 0) / 60 for g in stats.groups], height=0.4,
                   label="MTTA", color="#ef6c00")
        right.barh([p + 0.2 for p in positions], [(g.mttr_seconds or 0) / 60 for g in stats.groups], height=0.4,
                   label="MTTR", color="#2e7d32")
        right.set_yticks(list(positions), [""] * len(stats.groups))
        right.invert_yaxis()
        right.set_title("平均用时（分钟） Mean minutes")
        right.legend(frameon=False)
        return _save(figure, fmt)
