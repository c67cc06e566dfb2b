"""``wareroom stock import``: good files land through the ledger; a bad row stops the whole file, with reasons."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from incidents import audit
from incidents.actors import Actor
from incidents.database import Database
from incidents.inventory.catalog import item_by_sku
from incidents.inventory.csv_import import ImportRefused, RowError, import_stock
from incidents.inventory.ledger import quant_snapshot, rebuild_quants_from_ledger
from incidents.inventory.report import StockStatus, stock_report
from incidents.inventory.tables import Item, StockMove
from incidents.tables import AuditEvent

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads" / "stock"
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
ADMIN = Actor(person_id=None, name="test import")


def test_a_good_file_is_imported_through_the_ledger_and_a_second_import_changes_nothing(database: Database) -> None:
    text = (PAYLOADS / "good.csv").read_text(encoding="utf-8")
    with database.unit_of_work() as session:
        result = import_stock(session, text=text, actor=ADMIN, now=NOW, source="good.csv")
    assert (result.rows, result.items, result.moves) == (4, 2, 5)
    with database.reader() as session:
        report = stock_report(session, item=item_by_sku(session, "SKU-D0107"), now=NOW)
        imported = quant_snapshot(session)
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert (report.on_hand, report.reserved, report.available, report.hold) == (504, 60, 420, 24)
    assert report.status is StockStatus.LOW and report.gtin == "06901234567892"
    assert [(line.location, line.lot, line.status, line.on_hand) for line in report.lines] == [
        ("D1-02-03-1", "L2408A", "available", 300), ("D1-02-04-2", "L2409C", "available", 180),
        ("Q1-01-01-1", "L2407F", "quarantine", 24)]
    assert actions == ["stock.imported"]
    with database.unit_of_work() as session:
        again = import_stock(session, text=text, actor=ADMIN, now=NOW, source="good.csv")
        assert again.moves == 0
        rebuild_quants_from_ledger(session)
    with database.reader() as session:
        assert quant_snapshot(session) == imported
        assert audit.verify_chain(session).ok


def test_a_file_with_bad_rows_is_refused_whole_with_row_column_and_reason(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with pytest.raises(ImportRefused) as refused, database.unit_of_work() as session:
        import_stock(session, text=(PAYLOADS / "bad.csv").read_text(encoding="utf-8"), actor=ADMIN, now=NOW)
    assert refused.value.errors == [
        RowError(3, "qty", "'five' is not a number"),
        RowError(4, "gtin", "6901234567893 is not a valid GTIN (8, 12, 13 or 14 digits with a correct check digit)"),
        RowError(5, "sku", "is empty"),
        RowError(6, "expiry", "'2027-02-30' is not a date like 2026-08-31"),
        RowError(6, "lot", "an expiry date needs a lot number"),
        RowError(7, "qty", "must not be negative"),
        RowError(7, "storage_class", "'warm' is not one of ambient, cool_le20, cold_2_8, chill_0_4, frozen_m25_m15"),
        RowError(7, "status", "'lost' is not one of available, hold, quarantine, damaged"),
        RowError(8, "location", "same sku, location, lot and status as row 2"),
    ]
    with database.reader() as session:
        assert session.exec(select(Item)).all() == [] and session.exec(select(StockMove)).all() == []
    database.dispose()


def test_missing_and_unknown_columns_are_named() -> None:
    with pytest.raises(ImportRefused) as refused:
        import_stock(None, text="sku,name,location\nX,Y,A1-01\n", actor=ADMIN, now=NOW)  # type: ignore[arg-type]
    assert [str(e) for e in refused.value.errors] == [
        "row 1, column name_zh: required column is missing", "row 1, column qty: required column is missing",
        "row 1, column name: unknown column (known: sku, name_zh, location, qty, name_en, gtin, uom, "
        "storage_class, category, abc_class, lot, expiry, status, reserved, zone_kind, safety_stock, "
        "reorder_point, max_qty, reorder_qty)"]


def test_the_cli_imports_and_reports_bad_files(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREROOM_DATABASE_URL", sqlite_url)
    runner = CliRunner()
    good = runner.invoke(app, ["stock", "import", str(PAYLOADS / "good.csv")])
    assert good.exit_code == 0 and good.output == "imported 4 rows: 2 items, 5 ledger moves\n"
    bad = runner.invoke(app, ["stock", "import", str(PAYLOADS / "bad.csv")])
    assert bad.exit_code == 2
    assert f"{PAYLOADS / 'bad.csv'}: row 3, column qty: 'five' is not a number" in bad.output
    assert "nothing imported: 9 problem(s)" in bad.output
