"""``wareroom review stats``: incidents across a period as a table, a CSV and a chart."""

import csv
import io
from pathlib import Path

from handlers.review import ReviewStats
from handlers.text import duration_text
from integrations.export.chart import stats_chart

STATS_COLUMNS = ("incident_type", "site", "count", "mtta_seconds", "mttr_seconds", "overdue_steps",
                 "edited_milestones")


def stats_table(stats: ReviewStats) -> str:
    """A plain-text table for the terminal, then the noisiest rules."""
    header = ("类型 Type", "站点 Site", "数量 Count", "MTTA", "MTTR", "超时步骤 Overdue", "里程碑已修改 Edited")
    rows = [(g.incident_type, g.site, str(g.count), duration_text(g.mtta_seconds), duration_text(g.mttr_seconds),
             str(g.overdue_steps), str(g.edited_milestones)) for g in stats.groups]
    widths = [max(_width(cell) for cell in column) for column in zip(header, *rows, strict=False)]
    lines = [f"事件统计 Incidents {stats.since:%Y-%m-%d} – {stats.until:%Y-%m-%d}: {stats.total}"]
    for row in (header, *rows):
        lines.append("  ".join(cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True)))
    lines.append("最常触发的规则 Noisiest rules: " + (", ".join(f"{rule} ×{n}" for rule, n in stats.noisy_rules)
                                                  or "-"))
    drills = stats.drills
    lines.append(f"演练（不计入以上统计）Drills (not counted above): {drills.count} · "
                 f"MTTA {duration_text(drills.mtta_seconds)} · MTTR {duration_text(drills.mttr_seconds)}")
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def stats_csv(stats: ReviewStats) -> str:
    """One row per incident type and site."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(STATS_COLUMNS)
    for g in stats.groups:
        writer.writerow([g.incident_type, g.site, g.count, "" if g.mtta_seconds is None else round(g.mtta_seconds),
                         "" if g.mttr_seconds is None else round(g.mttr_seconds), g.overdue_steps,
                         g.edited_milestones])
    return buffer.getvalue()


def write_stats(stats: ReviewStats, out_dir: Path) -> list[Path]:
    """``stats.csv``, ``stats.png`` and ``stats.svg`` in ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {out_dir / "stats.csv": stats_csv(stats).encode(), out_dir / "stats.png": stats_chart(stats, fmt="png"),
             out_dir / "stats.svg": stats_chart(stats, fmt="svg")}
    for path, data in files.items():
        path.write_bytes(data)
    return list(files)
