"""Post-incident reviews in every format, from a real incident's record; statistics across incidents."""

import csv
import io
import json
import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from handlers.review import ReviewSetup, build_review, review_stats
from handlers.review_model import Review
from incidents.database import Database
from incidents.inventory.catalog import ensure_lot, location_by_code, upsert_item
from incidents.inventory.ledger import MoveKind, post_move
from integrations.export.chart import rows_for, spread
from integrations.export.formats import ReviewFormat
from integrations.export.pdfa import check_pdfa
from integrations.export.render import render
from integrations.export.seal import Seal, check_seal, load_seal
from integrations.export.stats import stats_csv, stats_table, write_stats
from tests.factories import LIBRARY
from tests.review.scenario import Scenario, play_cold_room_incident, registry_with_calibration

SETUP = ReviewSetup(library=LIBRARY, timezone="Asia/Shanghai", registry=registry_with_calibration())


@pytest.fixture
def played(database: Database) -> tuple[Database, Scenario]:
    return database, play_cold_room_incident(database)


@pytest.fixture(scope="module")
def seal(tmp_path_factory: pytest.TempPathFactory) -> Seal:
    return load_seal(p12=None, password=None, var_dir=tmp_path_factory.mktemp("var"), site="SH-01")


def _review(database: Database, scenario: Scenario, *, later: timedelta = timedelta(0)) -> Review:
    with database.reader() as session:
        return build_review(session, incident_id=scenario.incident_id, setup=SETUP, now=scenario.end + later)


def test_the_review_holds_metrics_steps_escalations_and_the_chain(played: tuple[Database, Scenario]) -> None:
    review = _review(*played, later=timedelta(hours=5))  # read long after: open steps stay frozen
    assert (review.severity, review.status, review.zone, review.playbook) == ("SEV2", "resolved", "D1",
                                                                              "cold-chain-excursion v1")
    assert (review.tta_seconds, review.ttm_seconds, review.ttr_seconds) == (780.0, 2340.0, 4800.0)
    assert [(s.step_id, s.status, s.by, s.seconds, s.due_seconds, s.overdue) for s in review.steps] == [
        ("verify", "done", "王伟 Wang Wei", 1980.0, 900.0, True),
        ("correct-cause", "done", "王伟 Wang Wei", 360.0, 1800.0, False),
        ("check-recovery", "done", "王伟 Wang Wei", 360.0, 1800.0, False),
        ("quarantine", "done", "王伟 Wang Wei", 300.0, 1800.0, False),
        ("qa-assessment", "done", "张敏 Zhang Min", 1200.0, 259200.0, False),
        ("shipped-check", "active", None, 600.0, 14400.0, False)]  # timed to the resolution, not to now
    assert review.steps[-1].status_text.en == "Still open when the incident was resolved"
    assert [s.answer.en if s.answer else None for s in review.steps] == [
        "9.1 °C", "Compressor", "yes", "1 photo(s)", "Release", None]
    assert (review.cause and review.cause.en, review.disposition and review.disposition.en) == ("Compressor",
                                                                                                  "Release")
    assert (review.acknowledged_by, review.resolved_by) == ("王伟 Wang Wei", "李娜 Li Na")
    assert [(e.level, e.role, e.role_name and e.role_name.en) for e in review.escalations] == [
        (1, "WM", "Warehouse manager")]
    assert [m.key for m in review.milestones] == ["opened", "acknowledged", "mitigating", "cleared", "resolved"]
    assert [(t.value, t.above, t.sources) for t in review.thresholds] == [
        (2.0, False, ("zone-min",)), (8.0, True, ("zone-max", "cold-room-high-temp"))]
    # the header's count and the timeline agree: every event of the incident is in the timeline
    assert review.chain.ok and review.chain.incident_events == len(review.timeline) == 20
    assert review.chain.checked >= review.chain.incident_events


def test_the_timeline_and_summary_are_plain_words_with_units(played: tuple[Database, Scenario]) -> None:
    review = _review(*played)
    texts = [(e.text.zh, e.text.en) for e in review.timeline]
    assert texts[0] == ("事件开启：D1 温度探头 1（门侧）读数 8.4 °C，高于上限 8 °C。",
                        "Incident opened: D1 probe 1 (door side) read 8.4 °C, above the 8 °C limit.")
    assert ("无人确认，第 1 级升级：通知仓库经理 (WM)。",
            "Not acknowledged: escalation level 1, Warehouse manager (WM) paged.") in texts
    assert ("完成步骤「核实温度读数」：手持温度计读数 9.1 °C。",
            "Completed \"Verify the reading\": Handheld reading 9.1 °C.") in texts
    assert ("读数恢复到范围内：D1 温度探头 1（门侧） 7.4 °C。",
            "Reading back in range: D1 probe 1 (door side) at 7.4 °C.") in texts
    assert texts[-1] == ("事件状态由「处置中」改为「已解决」。", "Incident status changed from Mitigating to Resolved.")
    assert not any(re.search(r"\w=\S", zh + en) for zh, en in texts)  # no key=value developer text
    summary = review.summary.en
    for fact in ("peaking at 9.37 °C at 11-25 11:07", "above the 8 °C limit from 11-25 10:51", "29 min 14 s above it",
                 "23.4 °C·min", "Cause chosen in the playbook: Compressor", "Product disposition: Release",
                 "Acknowledged by 王伟 Wang Wei at 11-25 11:05", "resolved by 李娜 Li Na at 11-25 12:12",
                 "signed by 张敏 Zhang Min", "Quarantine the affected product (1 photo(s))"):
        assert fact in summary, fact
    assert "峰值 9.37 °C（11-25 11:07）" in review.summary.zh and "产品处置：放行" in review.summary.zh


def test_exposure_per_probe_with_mkt_and_calibration(played: tuple[Database, Scenario]) -> None:
    exposure = _review(*played).exposure
    assert exposure is not None and exposure.unit == "°C" and exposure.activation_energy_kj == 83.144
    door, back = exposure.probes
    assert (door.sensor, door.samples, back.sensor, back.samples) == ("d1-probe-1", 171, "d1-probe-2", 34)
    assert door.high is not None and door.high[1] == 9.37 and back.high is not None and back.high[1] < 8
    above = door.beyond[1]
    assert (above.limit, above.above) == (8.0, True) and 1740 < above.seconds < 1770
    assert back.beyond[1].seconds == 0 and door.beyond[0].seconds == 0  # never below 2 °C
    assert exposure.excursion_start == above.first_at and exposure.excursion_end == above.last_at
    assert door.mkt_excursion is not None and 8.0 < door.mkt_excursion < 9.37
    assert door.mkt_period is not None and back.mkt_period is not None and door.mkt_period > back.mkt_period
    assert (door.calibration.state, door.calibration.due, back.calibration.state) == ("ok", date(2027, 3, 31),
                                                                                    "unknown")
    assert back.calibration.text.en == "not recorded"


def test_stock_is_what_was_in_the_zone_at_the_time_and_expired_lots_are_flagged(
        played: tuple[Database, Scenario]) -> None:
    database, scenario = played
    with database.unit_of_work() as session:
        item = upsert_item(session, sku="SKU-TEST", name_zh="测试疫苗", name_en="Test vaccine", lot_tracked=True)
        d1, a1 = location_by_code(session, "D1-01-01-1"), location_by_code(session, "A1-01-01-1")
        gone, during, later = (ensure_lot(session, item=item, lot_no=n, expiry=date(2027, 1, 1))
                               for n in ("GONE", "DURING", "LATER"))
        assert item.id and d1.id and a1.id and gone.id and during.id and later.id
        post_move(session, item_id=item.id, qty=5, kind=MoveKind.RECEIPT, to_location_id=d1.id, lot_id=gone.id,
                  at=scenario.start - timedelta(days=2))
        post_move(session, item_id=item.id, qty=5, kind=MoveKind.TRANSFER, from_location_id=d1.id,
                  to_location_id=a1.id, lot_id=gone.id, at=scenario.start - timedelta(days=1))
        post_move(session, item_id=item.id, qty=7, kind=MoveKind.RECEIPT, to_location_id=d1.id, lot_id=during.id,
                  at=scenario.start + timedelta(minutes=70))
        post_move(session, item_id=item.id, qty=9, kind=MoveKind.RECEIPT, to_location_id=d1.id, lot_id=later.id,
                  at=scenario.end + timedelta(hours=1))
    review = _review(database, scenario, later=timedelta(hours=2))
    assert [(s.lot, s.qty) for s in review.stock if s.sku == "SKU-TEST"] == [("DURING", 7.0)]
    assert all(s.location.startswith("D1-") for s in review.stock)
    first = review.stock[0]
    assert (first.sku, first.expired, first.status, first.status_text.en) == ("SKU-D0101", True, "available",
                                                                             "Expired")
    assert not any(s.expired for s in review.stock[1:])
    # the demo's lots of SKU-D0102..D0104 expire 12, 21 and 28 days after its day: near expiry, flagged so
    expiring = sorted(s.sku for s in review.stock if s.expiring)
    assert expiring and set(expiring) <= {"SKU-D0102", "SKU-D0103", "SKU-D0104"} and not first.expiring
    html = render(review, ReviewFormat.HTML).decode()
    assert html.count('<span class="warn">近效期 expiring</span>') == len(expiring)


def test_markdown_json_and_csv(played: tuple[Database, Scenario]) -> None:
    review = _review(*played)
    markdown = render(review, ReviewFormat.MD).decode()
    assert "| 13 min | 39 min | 1 h 20 min | 1 | 0 |" in markdown
    assert ("| 核实温度读数 / Verify the reading | SL | 已完成 Done 超时 overdue | 王伟 Wang Wei | 2026-11-25 10:52 | "
            "2026-11-25 11:25 | 33 min | 15 min | 9.1 °C |") in markdown
    assert "- 2026-11-25 11:02 — 第 1 级 level 1 → 仓库经理 Warehouse manager (WM)" in markdown
    assert "| SKU-D0101 | 胰岛素笔芯 3ml 1支装 / Insulin cartridge 3 ml, pack of 1 |" in markdown
    assert "**已过期 Expired**" in markdown
    assert "✔ 审计链完整" in markdown and "| 质量负责人 QA manager (QA) | | | |" in markdown
    english = render(review, ReviewFormat.MD, lang="en").decode()
    assert "Verify the reading | SL | Done overdue" in english and "核实" not in english
    bundle = json.loads(render(review, ReviewFormat.JSON))
    assert bundle["incident_id"] == played[1].incident_id and bundle["chain"]["ok"] is True
    assert bundle["opened_at"] == "2026-11-25T02:52:00+00:00" and len(bundle["timeline"]) == 20
    assert bundle["exposure"]["probes"][0]["mkt_excursion"] == pytest.approx(8.8, abs=0.1)
    rows = list(csv.reader(io.StringIO(render(review, ReviewFormat.CSV).decode())))
    assert rows[0] == ["at_utc", "at_local", "who", "action", "text_zh", "text_en", "object", "detail", "reason"]
    assert rows[5] == ["2026-11-25T03:25:00+00:00", "2026-11-25 11:25", "王伟 Wang Wei", "step.done",
                       "完成步骤「核实温度读数」：手持温度计读数 9.1 °C。",
                       "Completed \"Verify the reading\": Handheld reading 9.1 °C.", "verify",
                       "status=active → status=done, answer=9.1", ""]


def test_html_in_one_language_with_the_chart_and_headers_that_repeat(played: tuple[Database, Scenario]) -> None:
    review = _review(*played)
    html = render(review, ReviewFormat.HTML).decode()
    assert 'src="data:image/svg+xml;base64,' in html and "事件复盘 Post-incident review · #1" in html
    assert html.count("<thead>") == 9  # every table: exposure … sign-off
    chinese = render(review, ReviewFormat.HTML, lang="zh").decode()
    assert "已完成" in chinese and "Done" not in chinese and "Post-incident" not in chinese
    english = render(review, ReviewFormat.HTML, lang="en").decode()
    assert "Still open when the incident was resolved" in english and "已完成" not in english


def test_the_pdf_is_pdfa_sealed_and_its_seal_catches_a_change(played: tuple[Database, Scenario], seal: Seal,
                                                              tmp_path: Path) -> None:
    pdf = render(_review(*played), ReviewFormat.PDF, seal=seal)
    assert check_pdfa(pdf) == []
    verdict = check_seal(pdf, trust=[seal.certificate])
    assert (verdict.intact, verdict.valid, verdict.trusted, verdict.whole_file) == (True, True, True, True)
    assert verdict.signer is not None and "WareRoom review seal SH-01" in verdict.signer
    changed = pdf.replace(b"/Type /Page", b"/Type /Page ", 1)
    assert len(changed) != len(pdf) and not check_seal(changed, trust=[seal.certificate]).whole_file
    flipped = bytearray(pdf)
    middle = len(pdf) // 3
    flipped[middle] ^= 0x01
    assert not check_seal(bytes(flipped), trust=[seal.certificate]).intact
    (tmp_path / "review.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(tmp_path / "review.pdf"),
                    str(tmp_path / "page")], check=True)
    page = Image.open(next(tmp_path.glob("page*.png"))).convert("L")
    stats = ImageStat.Stat(page)
    assert page.size[0] > 250 and stats.stddev[0] > 20  # text, tables and the chart, not an empty page
    assert stats.mean[0] > 150  # mostly white paper


def test_limit_and_milestone_labels_are_moved_apart() -> None:
    assert spread([100.0, 103.0, 300.0], 12) == [100.0, 112.0, 300.0]
    assert spread([103.0, 100.0], 12) == [112.0, 100.0]
    assert rows_for([(0, 50), (40, 90), (95, 130), (120, 160)], pad=4) == [0, 1, 0, 1]


def test_stats_across_incidents(played: tuple[Database, Scenario], tmp_path: Path) -> None:
    database, scenario = played
    with database.reader() as session:
        stats = review_stats(session, since=scenario.start - timedelta(days=30), now=scenario.end, library=LIBRARY)
    assert stats.total == 1 and stats.noisy_rules == (("cold-room-high-temp", 2),)
    group = stats.groups[0]
    assert (group.incident_type, group.site, group.count, group.mtta_seconds, group.mttr_seconds,
            group.overdue_steps) == ("cold-chain-excursion", "SH-01", 1, 780.0, 4800.0, 1)
    assert stats_csv(stats).splitlines() == [
        "incident_type,site,count,mtta_seconds,mttr_seconds,overdue_steps,edited_milestones",
        "cold-chain-excursion,SH-01,1,780,4800,1,0"]
    assert "cold-chain-excursion  SH-01" in stats_table(stats)
    paths = write_stats(stats, tmp_path)
    assert [p.name for p in paths] == ["stats.csv", "stats.png", "stats.svg"]
    assert paths[1].read_bytes().startswith(b"\x89PNG") and b"<svg" in paths[2].read_bytes()


def test_review_in_chat_offers_every_format(played: tuple[Database, Scenario]) -> None:
    from handlers.ports import CommandInvoked, UserRef
    from tests.factories import make_core

    database, scenario = played
    core = make_core(database)
    core.router.public_url = "https://wareroom.example.cn/"

    def ask(*args: str) -> str:
        return core.router.handle(CommandInvoked(platform="webchat", dedupe_key=f"r{args}", received_at=scenario.end,
                                                 actor=UserRef("webchat", "lina"), thread=None, name="复盘",
                                                 args=args)).text

    base = f"https://wareroom.example.cn/api/v1/incidents/{scenario.incident_id}/review"
    assert ask(str(scenario.incident_id)).splitlines() == [
        f"事件 #{scenario.incident_id} 的复盘报告（网页、签章 PDF/A、Markdown、JSON、CSV）：",
        f"Post-incident review of #{scenario.incident_id} (web page, sealed PDF/A, Markdown, JSON, CSV):",
        f"HTML: {base}.html", f"PDF: {base}.pdf", f"MD: {base}.md", f"JSON: {base}.json", f"CSV: {base}.csv"]
    assert ask("77").startswith("没有编号为 #77 的事件")
    assert ask().startswith("请在事件的对话中使用 /review")


def test_the_printed_html_leaves_the_timeline_to_its_drawn_pages(played: tuple[Database, Scenario]) -> None:
    from integrations.export.render import render_html

    review = _review(*played)
    printed = render_html(review, for_print=True)
    on_screen = render_html(review)
    assert '<div id="printed-timeline" class="printed-timeline"></div>' in printed  # the page the rows are drawn on
    assert f'bookmark-label: "时间线 Timeline ({len(review.timeline)})"' in printed
    assert "omitted" not in printed and 'class="timeline' not in printed
    rows = '<tr><td class="nowrap">'  # timeline rows, and some rows of other tables
    assert on_screen.count(rows) - printed.count(rows) == len(review.timeline)


def test_the_cli_exports_a_sealed_pdf_that_verifies(played: tuple[Database, Scenario], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    database, scenario = played
    monkeypatch.setenv("WAREROOM_DATABASE_URL", database.url)
    monkeypatch.setenv("WAREROOM_VAR_DIR", str(tmp_path))
    runner = CliRunner()
    out = tmp_path / "review.pdf"
    exported = runner.invoke(app, ["review", "export", str(scenario.incident_id), "--format", "pdf", "--lang", "en",
                                   "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "seal" / "review-seal.cert.pem").is_file()
    verified = runner.invoke(app, ["review", "verify", str(out)])
    assert verified.exit_code == 0, verified.output
    assert "signed by Organization: WareRoom, Common Name: WareRoom review seal SH-01" in verified.output
    unknown = runner.invoke(app, ["review", "export", "77"])
    assert unknown.exit_code == 2 and "#77" in unknown.output
    bundle = runner.invoke(app, ["review", "export", str(scenario.incident_id), "--format", "json",
                                 "--mkt-period", "2h"])
    exposure = json.loads(bundle.stdout)["exposure"]
    assert (exposure["period_start"], exposure["period_end"]) == ("2026-11-25T02:12:00+00:00",
                                                                  "2026-11-25T04:12:00+00:00")
