"""Post-incident reviews in every format, from a real incident's record; statistics across incidents."""

import csv
import io
import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from handlers.review import Review, build_review, review_stats
from incidents.database import Database
from integrations.export.render import ReviewFormat, render
from integrations.export.stats import stats_csv, stats_table, write_stats
from tests.factories import LIBRARY
from tests.review.scenario import Scenario, play_cold_room_incident


@pytest.fixture
def played(database: Database) -> tuple[Database, Scenario]:
    return database, play_cold_room_incident(database)


def _review(database: Database, scenario: Scenario) -> Review:
    with database.reader() as session:
        return build_review(session, incident_id=scenario.incident_id, library=LIBRARY, timezone="Asia/Shanghai",
                            now=scenario.end)


def test_the_review_holds_metrics_steps_escalations_stock_and_the_chain(played: tuple[Database, Scenario]) -> None:
    review = _review(*played)
    assert (review.severity, review.status, review.zone, review.playbook) == ("SEV2", "resolved", "D1",
                                                                              "cold-chain-excursion v1")
    assert (review.tta_seconds, review.ttm_seconds, review.ttr_seconds) == (780.0, 2340.0, 2880.0)
    assert [(s.step_id, s.status, s.by, s.seconds, s.due_seconds, s.overdue, s.reason) for s in review.steps] == [
        ("verify", "done", "王伟 Wang Wei", 1980.0, 900.0, True, None),
        ("correct-cause", "skipped", "李娜 Li Na", 360.0, 1800.0, False, "供应商已到场 vendor already on site")]
    assert [(e.level, e.role) for e in review.escalations] == [(1, "WM")]
    assert [e.action for e in review.timeline] == [
        "incident.opened", "step.active", "incident.escalated", "incident.acknowledge", "step.done", "step.active",
        "incident.mitigate", "step.skipped", "incident.resolve"]
    assert [m.key for m in review.milestones] == ["opened", "acknowledged", "mitigating", "resolved"]
    assert [(t.rule, t.value) for t in review.thresholds] == [("cold-room-high-temp", 8.0)]
    assert len(review.series) == 1 and len(review.series[0].points) == 139  # 01:52 to 04:10, one a minute
    assert review.stock[0].sku == "SKU-D0101" and {s.sku[:5] for s in review.stock} == {"SKU-D"}
    assert review.chain.ok and review.chain.checked > 9


def test_markdown_json_and_csv(played: tuple[Database, Scenario]) -> None:
    review = _review(*played)
    markdown = render(review, ReviewFormat.MD).decode()
    assert "| 13 min 00 s | 39 min 00 s | 48 min 00 s | 1 | 1 |" in markdown
    assert ("| 核实温度读数 / Verify the reading | SL | done 超时 overdue | 王伟 Wang Wei | 2026-11-25 10:52 | "
            "2026-11-25 11:25 | 33 min 00 s | 15 min 00 s |  |") in markdown
    assert "- 2026-11-25 11:02 — 第 1 级 level 1 → WM" in markdown
    assert "✔ 审计链完整 Audit chain intact" in markdown
    assert "| 质量负责人 QA manager (QA) | | | |" in markdown
    bundle = json.loads(render(review, ReviewFormat.JSON))
    assert bundle["incident_id"] == played[1].incident_id and bundle["chain"]["ok"] is True
    assert bundle["opened_at"] == "2026-11-25T02:52:00+00:00" and len(bundle["timeline"]) == 9
    rows = list(csv.reader(io.StringIO(render(review, ReviewFormat.CSV).decode())))
    assert rows[0] == ["at_utc", "at_local", "who", "action", "text_zh", "text_en", "object", "detail", "reason"]
    assert rows[8] == ["2026-11-25T03:31:00+00:00", "2026-11-25 11:31", "李娜 Li Na", "step.skipped", "步骤跳过",
                       "Step skipped", "correct-cause", "status=active → status=skipped",
                       "供应商已到场 vendor already on site"]


def test_html_embeds_the_chart_and_pdf_page_one_is_not_blank(played: tuple[Database, Scenario],
                                                             tmp_path: Path) -> None:
    review = _review(*played)
    html = render(review, ReviewFormat.HTML).decode()
    assert 'src="data:image/svg+xml;base64,' in html and "事件复盘 Post-incident review · #1" in html
    pdf = render(review, ReviewFormat.PDF)
    assert pdf.startswith(b"%PDF")
    (tmp_path / "review.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(tmp_path / "review.pdf"),
                    str(tmp_path / "page")], check=True)
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    stats = ImageStat.Stat(page)
    assert page.size[0] > 250 and stats.stddev[0] > 20  # text, tables and the chart, not an empty page
    assert stats.mean[0] > 150  # mostly white paper


def test_stats_across_incidents(played: tuple[Database, Scenario], tmp_path: Path) -> None:
    database, scenario = played
    with database.reader() as session:
        stats = review_stats(session, since=scenario.start - timedelta(days=30), now=scenario.end, library=LIBRARY)
    assert stats.total == 1 and stats.noisy_rules == (("cold-room-high-temp", 1),)
    group = stats.groups[0]
    assert (group.incident_type, group.site, group.count, group.mtta_seconds, group.mttr_seconds,
            group.overdue_steps) == ("cold-chain-excursion", "SH-01", 1, 780.0, 2880.0, 1)
    assert stats_csv(stats).splitlines() == ["incident_type,site,count,mtta_seconds,mttr_seconds,overdue_steps",
                                             "cold-chain-excursion,SH-01,1,780,2880,1"]
    assert "cold-chain-excursion  SH-01" in stats_table(stats)
    paths = write_stats(stats, tmp_path)
    assert [p.name for p in paths] == ["stats.csv", "stats.png", "stats.svg"]
    assert paths[1].read_bytes().startswith(b"\x89PNG") and b"<svg" in paths[2].read_bytes()


def test_review_in_chat_answers_with_the_link(played: tuple[Database, Scenario]) -> None:
    from handlers.ports import CommandInvoked, UserRef
    from tests.factories import make_core

    database, scenario = played
    core = make_core(database)
    core.router.public_url = "https://wareroom.example.cn/"

    def ask(*args: str) -> str:
        return core.router.handle(CommandInvoked(platform="webchat", dedupe_key=f"r{args}", received_at=scenario.end,
                                                 actor=UserRef("webchat", "lina"), thread=None, name="复盘",
                                                 args=args)).text

    assert ask(str(scenario.incident_id)) == (
        f"事件 #{scenario.incident_id} 的复盘报告：https://wareroom.example.cn/api/v1/incidents/1/review.html\n"
        f"Post-incident review of #{scenario.incident_id}: https://wareroom.example.cn/api/v1/incidents/1/review.html")
    assert ask("77").startswith("没有编号为 #77 的事件")
    assert ask().startswith("请在事件的对话中使用 /review")


def test_a_printed_review_keeps_the_first_and_last_events_and_says_how_many_it_left_out(
        played: tuple[Database, Scenario], monkeypatch: pytest.MonkeyPatch) -> None:
    from integrations.export import render as render_module

    review = _review(*played)
    monkeypatch.setattr(render_module, "PRINT_TIMELINE_ROWS", 4)
    printed = render_module.render_html(review, for_print=True)
    on_screen = render_module.render_html(review)
    omitted = len(review.timeline) - 4
    assert omitted > 0
    assert f"{omitted} events omitted here" in printed and "events omitted" not in on_screen
    assert printed.count('<tr><td>') < on_screen.count('<tr><td>')
