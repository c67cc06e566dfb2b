"""Stock look-up latency over 100,000 SKUs and 1,000,000 ledger rows, on SQLite and on PostgreSQL.

Run: ``.venv/bin/python -m bench.stock_lookup`` (``--skip-postgres`` for SQLite only). Goal: p99 < 20 ms
for a look-up by SKU or scanned GTIN (the full /stock answer: totals, lines, pick rate, last move and
count, open incidents), p99 < 10 ms by name through the trigram index (FTS5 / pg_trgm). Name look-ups by
a whole name, a shared word and a misspelt name are timed; the baseline is the look-up before the index
(every name held in memory, substring scan, then WRatio over all of them) on the same names.
"""

import argparse
import random
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from rapidfuzz import fuzz, process, utils

from bench.common import percentile, report
from bot import db
from handlers.stock import StockDesk
from incidents.database import Database
from incidents.inventory.gs1 import with_check_digit
from incidents.inventory.ledger import rebuild_quants_from_ledger
from incidents.inventory.tables import Item, Location, ReorderRule, StockMove, Zone

ITEMS = 100_000
MOVES = 1_000_000
LOCATIONS = 2_000
NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
PG = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/test"
WORDS = [("矿泉水", "mineral water"), ("洗衣液", "laundry detergent"), ("胰岛素", "insulin"), ("疫苗", "vaccine"),
         ("酸奶", "yogurt"), ("水饺", "dumplings"), ("咖啡", "coffee"), ("纸巾", "tissue"), ("电池", "battery"),
         ("面霜", "cream")]


def _fill(database: Database, rng: random.Random) -> None:
    chunk = 50_000
    with database.unit_of_work() as session:
        session.add(Zone(id=1, code="A1", kind="ambient", name_zh="常温区", name_en="Ambient"))
        session.flush()
        session.execute(sa.insert(Location), [{"id": i + 1, "code": f"A1-{i // 300:02d}-{i % 300:03d}-1",
                                               "zone_id": 1, "kind": "pick"} for i in range(LOCATIONS)])
        for start in range(0, ITEMS, chunk):
            rows = []
            for i in range(start, min(ITEMS, start + chunk)):
                zh, en = WORDS[i % len(WORDS)]
                rows.append({"id": i + 1, "sku": f"SKU-{i:06d}", "gtin": with_check_digit(f"2{i:011d}").zfill(14),
                             "name_zh": f"{zh} {i}号", "name_en": f"{en} no. {i}", "category": "", "uom": "EA",
                             "storage_class": "ambient", "lot_tracked": False, "abc_class": "C"})
            session.execute(sa.insert(Item), rows)
            session.execute(sa.insert(ReorderRule), [{"item_id": r["id"], "safety_stock": 10.0, "reorder_point": 30.0,
                                                      "max_qty": 300.0, "reorder_qty": 100.0} for r in rows])
    home = {i: rng.randrange(LOCATIONS) + 1 for i in range(1, ITEMS + 1)}
    for start in range(0, MOVES, chunk):
        rows = []
        for n in range(start, min(MOVES, start + chunk)):
            item = n % ITEMS + 1
            receipt = n < ITEMS
            rows.append({"at": NOW - timedelta(minutes=rng.randrange(60 * 24 * 60)), "item_id": item, "lot_id": None,
                         "from_location_id": None if receipt else home[item], "from_status": "available",
                         "to_location_id": home[item] if receipt else None, "to_status": "available",
                         "qty": 500.0 if receipt else float(rng.randrange(1, 5)),
                         "kind": "receipt" if receipt else "pick", "reference": None, "actor": None,
                         "reason_code": None})
        with database.unit_of_work() as session:
            session.execute(sa.insert(StockMove), rows)
    with database.unit_of_work() as session:
        rebuild_quants_from_ledger(session)
    if database.is_postgres:  # a bulk load leaves the GIN trigram indexes' rows in their pending list
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE item"))


def _report(label: str, took: list[float], cpu: list[float]) -> None:
    """p50/p95/p99 of wall time, and of this thread's CPU time (the client's share: steadier on a shared machine;
    PostgreSQL's own work is in its server process, not in it)."""
    for p in (0.5, 0.95, 0.99):
        report(f"{label}_p{round(p * 100)}_ms", f"{percentile(took, p):.2f}")
    for p in (0.5, 0.99):
        report(f"{label}_cpu_p{round(p * 100)}_ms", f"{percentile(cpu, p):.2f}")


def _measure(label: str, desk: StockDesk, queries: list[str], expected: list[str] | None = None) -> None:
    """The whole answer (look-up and stock report); ``expected``: the SKU each query should find (as the answer
    or the first suggestion), counted in ``*_right``."""
    desk.search(queries[0])  # warm the name index and the caches
    took, cpu, right = [], [], 0
    for n, query in enumerate(queries):
        start, start_cpu = time.perf_counter(), time.thread_time()
        found, stock = desk.search(query)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        took.append((time.perf_counter() - start) * 1000)
        assert found.item is not None or found.suggestions, query
        assert stock is None or stock.sku
        first = found.item.sku if found.item else found.suggestions[0].sku
        right += expected is not None and first == expected[n]
    _report(label, took, cpu)
    if expected is not None:
        report(f"{label}_right", f"{right} of {len(queries)}")


def _index_only(label: str, desk: StockDesk, queries: list[str]) -> None:
    """The name look-up alone (SKU, GTIN, then the text index and the ranking), without the stock report."""
    took, cpu = [], []
    with desk.db.reader() as session:
        for query in queries:
            start, start_cpu = time.perf_counter(), time.thread_time()
            desk.index.search(session, query)
            cpu.append((time.thread_time() - start_cpu) * 1000)
            took.append((time.perf_counter() - start) * 1000)
    _report(label, took, cpu)


def _every_name(label: str, database: Database, queries: list[str]) -> None:
    """The baseline: the look-up before the text index, over names held in memory (no database time)."""
    with database.reader() as session:
        rows = session.exec(sa.select(Item.id, Item.name_zh, Item.name_en, Item.sku)).all()  # type: ignore[call-overload]
    zh, en = [r[1].casefold() for r in rows], [r[2].casefold() for r in rows]
    choices = [utils.default_process(f"{r[1]} {r[2]} {r[3]}") for r in rows]
    took = []
    for query in queries:
        start = time.perf_counter()
        folded = query.casefold()
        within = [i for i in range(len(rows)) if folded in zh[i] or folded in en[i]]
        if not within:
            process.extract(utils.default_process(query), choices, scorer=fuzz.WRatio, limit=5, score_cutoff=55.0)
        took.append((time.perf_counter() - start) * 1000)
    report(f"{label}_p50_ms", f"{percentile(took, 0.5):.2f}")
    report(f"{label}_p99_ms", f"{percentile(took, 0.99):.2f}")


def run(name: str, url: str) -> None:
    """Fill the database at ``url``, then time look-ups."""
    rng = random.Random(7)
    db.upgrade(url)
    database = Database(url)
    start = time.perf_counter()
    _fill(database, rng)
    report(f"{name}_load_seconds", f"{time.perf_counter() - start:.1f}")
    desk = StockDesk(database, timezone="Asia/Shanghai", now=lambda: NOW)
    _measure(f"{name}_by_sku", desk, [f"SKU-{rng.randrange(ITEMS):06d}" for _ in range(2000)])
    _measure(f"{name}_by_gtin", desk, [with_check_digit(f"2{rng.randrange(ITEMS):011d}") for _ in range(1000)])
    names = [f"{WORDS[i % 10][1]} no. {i}" for i in rng.sample(range(ITEMS), 100)]
    names += [f"{WORDS[i % 10][0]} {i}号" for i in rng.sample(range(ITEMS), 100)]
    words = [en for _, en in WORDS] + [zh for zh, _ in WORDS]
    misspelt = rng.sample(range(ITEMS), 50)
    typos = [f"{WORDS[i % 10][1][:-2]}{WORDS[i % 10][1][-1]} no {i}" for i in misspelt]
    _measure(f"{name}_by_name", desk, names)
    _measure(f"{name}_by_shared_word", desk, words * 5)
    _measure(f"{name}_by_misspelt_name", desk, typos, [f"SKU-{i:06d}" for i in misspelt])
    _index_only(f"{name}_index_only_by_name", desk, names)
    _index_only(f"{name}_index_only_by_misspelt_name", desk, typos)
    _every_name(f"{name}_baseline_every_name_by_name", database, names)
    _every_name(f"{name}_baseline_every_name_by_misspelt_name", database, typos)
    database.dispose()


@contextmanager
def scratch_schema() -> Iterator[str]:
    """A PostgreSQL schema on the ``test`` database, dropped afterwards."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    report("items", ITEMS)
    report("ledger_rows", MOVES)
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{Path(tmp) / 'stock.db'}")
    if not args.skip_postgres:
        with scratch_schema() as url:
            run("postgres", url)


if __name__ == "__main__":
    main()
