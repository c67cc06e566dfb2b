"""Charts for reviews (matplotlib, Agg backend): the zone's probes with limits and milestones, and stats.

Labels never sit on the curves: limit labels go in the right margin, pushed apart when two limits are
close, and milestone labels go above the plot in as many rows as they need not to overlap.
"""

import io
import logging
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from handlers.review import ReviewStats
from handlers.review_model import Review, Threshold
from handlers.review_story import value_text, words
from handlers.text import duration_text
from integrations.export.language import Lang, pick

log = logging.getLogger(__name__)

FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]
FONT_SIZE = 9
_MILESTONE_COLOUR = "#4b5563"  # milestones in grey, so that no milestone shares a colour with a probe's curve
_LIMIT_COLOUR = "#d32f2f"


def ensure_cjk_font() -> bool:
    """Make a Chinese font known to matplotlib even when its font cache predates the font's install.

    Asks fontconfig (``fc-list :lang=zh``) for the files and adds them; True when one is usable.
    """
    try:
        font_manager.findfont(font_manager.FontProperties(family=FONTS[0]), fallback_to_default=False)
        return True
    except ValueError:
        pass
    try:
        listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10,
                                check=False).stdout
    except (OSError, subprocess.SubprocessError):
        listed = ""
    for line in listed.splitlines():
        path = line.split(":")[0].strip()
        if "NotoSansCJK" in path:
            font_manager.fontManager.addfont(path)
    try:
        font_manager.findfont(font_manager.FontProperties(family=FONTS[0]), fallback_to_default=False)
        return True
    except ValueError:
        log.warning("no Chinese font found: install fonts-noto-cjk (scripts/demo.sh does) for Chinese in charts")
        return False


@contextmanager
def _style() -> Iterator[None]:
    ensure_cjk_font()
    with plt.rc_context({"font.family": "sans-serif", "font.sans-serif": FONTS, "axes.unicode_minus": False,
                         "svg.fonttype": "none", "axes.spines.top": False, "axes.spines.right": False,
                         "font.size": FONT_SIZE}):
        yield


def _x(moment: datetime) -> float:
    return float(mdates.date2num(moment))  # type: ignore[no-untyped-call]


def _save(figure: Figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=150, bbox_inches="tight", metadata={"Date": None} if fmt == "svg" else {})
    plt.close(figure)
    return buffer.getvalue()


def limit_label(threshold: Threshold, metric: str, lang: Lang) -> str:
    """``8 °C 上限 upper limit``; a value that is both the zone's limit and an alarm threshold says both."""
    kinds = []
    if {"zone-max", "zone-min"} & set(threshold.sources):
        kinds.append(pick(words("limit_upper" if threshold.above else "limit_lower"), lang))
    if any(source not in ("zone-max", "zone-min") for source in threshold.sources):
        kinds.append(pick(words("limit_alarm"), lang))
    return f"{value_text(threshold.value, metric)} {' · '.join(kinds)}"


def spread(positions: Sequence[float], gap: float) -> list[float]:
    """Positions moved up, lowest first, just enough that neighbours are at least ``gap`` apart."""
    placed = [0.0] * len(positions)
    floor = float("-inf")
    for i in sorted(range(len(positions)), key=lambda i: positions[i]):
        placed[i] = floor = max(positions[i], floor + gap)
    return placed


def rows_for(spans: Sequence[tuple[float, float]], pad: float) -> list[int]:
    """A row per label so that labels in one row do not overlap: spans are (left, right), in order."""
    ends: list[float] = []
    rows = []
    for left, right in spans:
        row = next((r for r, end in enumerate(ends) if left >= end + pad), len(ends))
        if row == len(ends):
            ends.append(right)
        else:
            ends[row] = right
        rows.append(row)
    return rows


def _text_width_pt(text: str, size: float) -> float:
    return sum(size if ord(ch) > 0x2E80 else size * 0.58 for ch in text)


def readings_chart(review: Review, *, lang: Lang = "both", fmt: str = "svg") -> bytes | None:
    """Every probe of the zone at its own sampling, the zone's range shaded, limits dashed and labelled in
    the right margin, milestones as vertical lines labelled above the plot; units on the value axis."""
    if not review.series:
        return None
    zone = ZoneInfo(review.timezone)
    metric, unit = review.series[0].metric, review.series[0].unit
    with _style():
        figure, axes = plt.subplots(figsize=(9.5, 3.6))
        values = [v for s in review.series for _, v in s.points] + [t.value for t in review.thresholds]
        low_limit = max((t.value for t in review.thresholds if not t.above), default=None)
        high_limit = min((t.value for t in review.thresholds if t.above), default=None)
        if low_limit is not None and high_limit is not None and low_limit < high_limit:
            axes.axhspan(low_limit, high_limit, color="#2e7d32", alpha=0.06, linewidth=0)
        for series in review.series:
            sparse = len(series.points) <= 120
            axes.plot([_x(at) for at, _ in series.points], [value for _, value in series.points], linewidth=1.3,
                      marker="o" if sparse else None, markersize=2.2,
                      label=f"{pick(series.name, lang)} · {duration_text(series.interval_s)}")
        pad = max(0.5, (max(values) - min(values)) * 0.08)
        axes.set_ylim(min(values) - pad, max(values) + pad)
        start = min(at for s in review.series for at, _ in s.points)
        end = max(at for s in review.series for at, _ in s.points)
        axes.set_xlim(_x(start), _x(end))
        for threshold in review.thresholds:
            axes.axhline(threshold.value, color=_LIMIT_COLOUR, linestyle="--", linewidth=1)
        _label_limits(figure, axes, review.thresholds, metric, lang)
        _label_milestones(figure, axes, review, lang, zone)
        axes.xaxis.set_major_locator(mdates.AutoDateLocator(tz=zone))  # type: ignore[no-untyped-call]
        axes.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d\n%H:%M", tz=zone))  # type: ignore[no-untyped-call]
        axes.set_ylabel(f"{pick(words(f'metric_{metric}'), lang)} ({unit})" if unit else
                        pick(words(f"metric_{metric}"), lang))
        axes.set_xlabel(f"{pick(words('time'), lang)} ({review.timezone})")
        axes.grid(alpha=0.25)
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=min(3, len(review.series)), fontsize=8,
                    frameon=False)
        return _save(figure, fmt)


def _label_limits(figure: Figure, axes: Axes, thresholds: Sequence[Threshold], metric: str, lang: Lang) -> None:
    """Each limit's label in the right margin at its height, moved apart from its neighbours if needed."""
    to_points = 72 / figure.dpi
    heights = [float(axes.transData.transform((0, t.value))[1]) * to_points for t in thresholds]
    placed = spread(heights, FONT_SIZE * 1.35)
    for threshold, height, target in zip(thresholds, heights, placed, strict=True):
        axes.annotate(limit_label(threshold, metric, lang), xy=(1, threshold.value),
                      xycoords=("axes fraction", "data"), xytext=(8, target - height), textcoords="offset points",
                      ha="left", va="center", color=_LIMIT_COLOUR, fontsize=8,
                      arrowprops={"arrowstyle": "-", "color": _LIMIT_COLOUR, "linewidth": 0.6,
                                  "shrinkA": 0, "shrinkB": 0})


def _label_milestones(figure: Figure, axes: Axes, review: Review, lang: Lang, zone: ZoneInfo) -> None:
    """Vertical lines in the plot; their labels above it, in rows so that no two overlap."""
    to_points = 72 / figure.dpi
    low, high = axes.get_xlim()
    shown = [m for m in review.milestones if low <= _x(m.at) <= high]
    texts = [f"{pick(m.name, lang)} {m.at.astimezone(zone):%H:%M}" for m in shown]
    spans = []
    for milestone, text in zip(shown, texts, strict=True):
        centre = float(axes.transData.transform((_x(milestone.at), 0))[0]) * to_points
        half = _text_width_pt(text, 8) / 2
        spans.append((centre - half, centre + half))
    for milestone, text, row in zip(shown, texts, rows_for(spans, pad=6), strict=True):
        axes.axvline(_x(milestone.at), color=_MILESTONE_COLOUR, linewidth=0.9, linestyle="-.", alpha=0.8)
        axes.annotate(text, xy=(_x(milestone.at), 1), xycoords=("data", "axes fraction"),
                      xytext=(0, 4 + row * 12), textcoords="offset points", ha="center", va="bottom",
                      color=_MILESTONE_COLOUR, fontsize=8)


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
