"""Finding an item from what someone typed or scanned: SKU, GTIN, or a Chinese or English name (fuzzy).

Names are found through the database's text index (migration ``7c3e91b0d5a4``): an FTS5 table with the
trigram tokenizer on SQLite, pg_trgm GIN indexes on PostgreSQL. A name that contains the query holds
every trigram of it, so the names holding the query's three rarest-looking trigrams (digits before
Chinese before rare letters) are a short superset, checked in Python; only a query so common that
more than ``_FOLDED_LIMIT`` names hold those trigrams is counted in SQL. A query no name contains is
ranked fuzzily: the index hands over the ``CANDIDATES`` items sharing most of the query's rarest
trigrams (trigrams that no name holds, the misspelt ones, are left out), and rapidfuzz's WRatio
ranks them by their best-matching name (Chinese, English or SKU).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, literal_column, or_, text
from sqlmodel import Session, col, select

from incidents.inventory.gs1 import gtin_from_scan
from incidents.inventory.tables import Item

SUGGESTIONS = 5
SURE_SCORE = 90.0  # a fuzzy match this good, and clearly ahead of the next, is taken as the answer
CLEAR_LEAD = 5.0
MIN_SCORE = 55.0
CANDIDATES = 200  # items the index hands to the fuzzy ranking
TRIGRAM = 3  # the shortest query the trigram index can answer; shorter ones scan the names
TEXT_INDEX_PREFIX = "item_name_"  # the index's tables, triggers and indexes (made by the migration, not the models)
RARE_BUDGET = 1_000  # the fuzzy step's candidates come from the query's rarest trigrams held by this many items
KEY_TRIGRAMS = 3  # trigrams of the query that a containing name must all hold (the rarest-looking ones)
_FOLDED_LIMIT = 200  # up to this many containing names are checked in Python (casefold); more are counted in SQL
_EVERYTHING = "(item.name_zh || ' ' || item.name_en || ' ' || item.sku)"  # the expression of item_name_trgm_all
_LETTERS = "etaoinsrhldcumfpgwybvkxjqz"  # English letters, most frequent first: later ones make rarer trigrams


@dataclass(frozen=True, slots=True)
class Suggestion:
    sku: str
    name_zh: str
    name_en: str
    score: float


@dataclass(frozen=True, slots=True)
class SearchResult:
    """``item`` when the query named one item; otherwise the closest ``suggestions``."""

    item: Item | None
    matched_by: str  # sku | gtin | name | fuzzy | several | none
    suggestions: tuple[Suggestion, ...] = ()
    matches: int = 0  # how many names contain the query, when there are several


_Row = tuple[int, str, str, str]  # id, sku, name_zh, name_en


def _like(text_: str) -> str:
    escaped = text_.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _phrase(text_: str) -> str:
    return '"' + text_.replace('"', '""') + '"'


def _in_names(text_: str) -> str:
    return "{name_zh name_en}: " + _phrase(text_)


def _trigrams(folded: str) -> list[str]:
    return list(dict.fromkeys(folded[i:i + TRIGRAM] for i in range(len(folded) - TRIGRAM + 1)))


def _looks_rare(gram: str) -> tuple[int, int, int]:
    """Sort key, rarest-looking first: more digits, then more non-Latin letters, then rarer English letters."""
    digits = sum(c.isdigit() for c in gram)
    wide = sum(ord(c) > 0x2E7F for c in gram)
    letters = sum(_LETTERS.find(c) for c in gram)
    return -digits, -wide, -letters


def _index_grams(session: Session, grams: list[str]) -> list[str]:
    """The trigrams the index can look up: on PostgreSQL only letters and digits (pg_trgm splits at the rest)."""
    if session.get_bind().dialect.name == "sqlite":
        return grams
    return [g for g in grams if g.isalnum()]


def _held(part: str) -> ColumnElement[bool]:
    """The item's Chinese or English name holds ``part`` (ILIKE; found through the GIN trigram index on PostgreSQL)."""
    pattern = _like(part)
    return or_(col(Item.name_zh).ilike(pattern, escape="\\"), col(Item.name_en).ilike(pattern, escape="\\"))


def _held_by_any(part: str) -> ColumnElement[bool]:
    """The item's names or SKU hold ``part`` (PostgreSQL: through the GIN trigram index of the three together)."""
    return literal_column(_EVERYTHING).ilike(_like(part), escape="\\")


def rank_names(processed: str, rows: Sequence[_Row]) -> list[tuple[int, float]]:
    """(row position, score) of the SUGGESTIONS best rows: WRatio of ``processed`` (``utils.default_process``)
    against each row's best name of Chinese name, English name and SKU, at least MIN_SCORE; ties in row order."""
    from rapidfuzz import fuzz, process, utils  # 3.2 MB: loaded with the first fuzzy look-up (README "Performance")

    choices = [utils.default_process(name) for _, sku, zh, en in rows for name in (zh, en, sku)]
    best: dict[int, float] = {}
    for _, score, n in process.extract_iter(processed, choices, scorer=fuzz.WRatio, score_cutoff=MIN_SCORE):
        if score > best.get(n // 3, -1.0):
            best[n // 3] = score
    return [(i, round(best[i], 1)) for i in sorted(best, key=lambda i: (-best[i], i))[:SUGGESTIONS]]


class NameIndex:
    """Name look-ups through the database's trigram index.

    Holds how many items held each trigram when it was last asked
    (``ttl`` seconds; counted up to RARE_BUDGET + 1): the fuzzy step looks up its candidates by the
    query's rarest trigrams.
    """

    def __init__(self, ttl: float = 600.0) -> None:
        self.ttl = ttl
        self._doc_counts: dict[str, tuple[int, float]] = {}

    def search(self, session: Session, query: str) -> SearchResult:
        """Exact SKU, then GTIN, then a name that is or contains the query once, then the best fuzzy matches."""
        text_ = query.strip()
        item = session.exec(select(Item).where(col(Item.sku).in_({text_, text_.upper()}))).first()
        if item is not None:
            return SearchResult(item, "sku")
        gtin = gtin_from_scan(text_)
        if gtin is not None:
            item = session.exec(select(Item).where(Item.gtin == gtin)).first()
            return SearchResult(item, "gtin") if item else SearchResult(None, "none")
        folded = text_.casefold()
        if not folded:
            return SearchResult(None, "none")
        rows = self._holding_key_trigrams(session, text_)
        if rows is not None and len(rows) <= _FOLDED_LIMIT:
            within = [r for r in rows if folded in r[2].casefold() or folded in r[3].casefold()]
            exact = [r[0] for r in within if folded in (r[2].casefold(), r[3].casefold())]
            matches = len(within)
        else:  # count them, and find a name equal to the query, in one pass over the matches
            containing = self._containing(session, text_)
            within = self._rows(session, self._first(session, text_, containing))
            equal = or_(func.lower(Item.name_zh) == folded, func.lower(Item.name_en) == folded)
            count, equals, equal_id = session.exec(select(
                func.count(), func.coalesce(func.sum(case((equal, 1), else_=0)), 0),
                func.max(case((equal, Item.id), else_=None))).where(containing)).one()
            exact = [int(equal_id)] if equals == 1 else []
            matches = int(count)
        if len(exact) == 1:
            return SearchResult(session.get(Item, exact[0]), "name")
        if matches == 1:
            return SearchResult(session.get(Item, within[0][0]), "name")
        if matches:  # a word many names share ("疫苗", "vaccine"): list them rather than guess
            return SearchResult(None, "several", tuple(Suggestion(sku, zh, en, 100.0)
                                                       for _, sku, zh, en in within[:SUGGESTIONS]), matches)
        return self._fuzzy(session, text_)

    def _holding_key_trigrams(self, session: Session, text_: str) -> list[_Row] | None:
        """In id order, up to _FOLDED_LIMIT + 1 items whose names hold the query's KEY_TRIGRAMS rarest-looking
        trigrams (every name containing the query is among them when there are no more); None when the
        index cannot look the query up by trigrams (too short; on PostgreSQL no trigram of letters or digits)."""
        grams = sorted(_index_grams(session, _trigrams(text_.lower())), key=_looks_rare)[:KEY_TRIGRAMS]
        if not grams:
            return None
        if session.get_bind().dialect.name == "sqlite":
            match = "{name_zh name_en}: (" + " AND ".join(_phrase(g) for g in grams) + ")"
            ids: Any = text("SELECT rowid FROM item_name_fts WHERE item_name_fts MATCH :match LIMIT :limit"
                            ).bindparams(match=match, limit=_FOLDED_LIMIT + 1)
            return self._rows(session, col(Item.id).in_(ids))
        held = and_(*(_held(g) for g in grams))
        # no ORDER BY: the bitmap scan of the trigram indexes stops at the limit (sorted here instead)
        rows = session.exec(select(Item.id, Item.sku, Item.name_zh, Item.name_en).where(held)
                            .limit(_FOLDED_LIMIT + 1))
        return sorted((int(i or 0), sku, zh, en) for i, sku, zh, en in rows)

    @staticmethod
    def _rows(session: Session, where: ColumnElement[bool]) -> list[_Row]:
        """Id, SKU and names of the items ``where`` holds for, in id order."""
        rows = session.exec(select(Item.id, Item.sku, Item.name_zh, Item.name_en).where(where)
                            .order_by(col(Item.id)))
        return [(int(i or 0), sku, zh, en) for i, sku, zh, en in rows]

    @staticmethod
    def _containing(session: Session, text_: str) -> ColumnElement[bool]:
        """Items whose Chinese or English name contains ``text_`` (a superset: case folding is checked after)."""
        sqlite = session.get_bind().dialect.name == "sqlite"
        if sqlite and len(text_) >= TRIGRAM:
            return col(Item.id).in_(text("SELECT rowid FROM item_name_fts WHERE item_name_fts MATCH :phrase")
                                    .bindparams(phrase=_in_names(text_)))
        pattern = _like(text_)
        if not sqlite and text_.lower() != text_.upper():
            return or_(col(Item.name_zh).ilike(pattern, escape="\\"), col(Item.name_en).ilike(pattern, escape="\\"))
        # SQLite's LIKE already ignores ASCII case, and text without case (Chinese) needs no ILIKE: lower()
        # or ILIKE on every row would double the scan of a query too short for SQLite's trigram index
        return or_(col(Item.name_zh).like(pattern, escape="\\"), col(Item.name_en).like(pattern, escape="\\"))

    @staticmethod
    def _first(session: Session, text_: str, containing: ColumnElement[bool]) -> ColumnElement[bool]:
        """The first _FOLDED_LIMIT + 1 items by id of ``containing`` (FTS5 hands rowids in order and stops early)."""
        if session.get_bind().dialect.name == "sqlite" and len(text_) >= TRIGRAM:
            return col(Item.id).in_(text(
                "SELECT rowid FROM item_name_fts WHERE item_name_fts MATCH :phrase ORDER BY rowid LIMIT :limit")
                .bindparams(phrase=_in_names(text_), limit=_FOLDED_LIMIT + 1))
        return col(Item.id).in_(select(Item.id).where(containing).order_by(col(Item.id)).limit(_FOLDED_LIMIT + 1))

    def _fuzzy(self, session: Session, text_: str) -> SearchResult:
        from rapidfuzz import utils  # see rank_names

        processed = utils.default_process(text_)
        rows, every_trigram = self._candidates(session, processed)
        found = rank_names(processed, rows)
        suggestions = tuple(Suggestion(rows[i][1], rows[i][2], rows[i][3], score) for i, score in found)
        # sure only when the candidates came from all the query's trigrams: with common ones left out, a close
        # second (the same name with another number) may not be among them
        if every_trigram and suggestions and suggestions[0].score >= SURE_SCORE and (
                len(suggestions) == 1 or suggestions[0].score - suggestions[1].score >= CLEAR_LEAD):
            return SearchResult(session.get(Item, rows[found[0][0]][0]), "fuzzy", suggestions[1:])
        return SearchResult(None, "none", suggestions)

    def _candidates(self, session: Session, processed: str) -> tuple[list[_Row], bool]:
        """Up to CANDIDATES items sharing the most of the query's rarest trigrams, in id order (the ranking's tie
        order), and whether every trigram of the query that some item holds was used."""
        grams = _index_grams(session, _trigrams(processed))
        if grams:
            rarest, every_trigram = self._rarest(session, grams)
            if not rarest:
                return [], True
        if grams and session.get_bind().dialect.name == "sqlite":
            match = " OR ".join(_phrase(g) for g in rarest)
            return self._rows(session, col(Item.id).in_(text(
                "SELECT rowid FROM item_name_fts WHERE item_name_fts MATCH :match ORDER BY rank LIMIT :limit")
                .bindparams(match=match, limit=CANDIDATES))), every_trigram
        if grams:  # PostgreSQL: the items holding most of the rarest trigrams, each looked up in the GIN index
            held = [_held_by_any(g) for g in rarest]
            hits: ColumnElement[int] = sum((case((h, 1), else_=0) for h in held), start=literal_column("0"))
            return self._rows(session, col(Item.id).in_(select(Item.id).where(or_(*held))
                                                        .order_by(hits.desc(), col(Item.id))
                                                        .limit(CANDIDATES))), every_trigram
        letters = list(dict.fromkeys(processed.replace(" ", "")))  # shorter than a trigram: names with its letters
        if not letters:
            return [], True
        scan: ColumnElement[int] = sum((case((_held(c), 1), else_=0) for c in letters), start=literal_column("0"))
        return self._rows(session, col(Item.id).in_(select(Item.id).order_by(scan.desc(), col(Item.id))
                                                    .limit(CANDIDATES))), True

    def _rarest(self, session: Session, grams: list[str]) -> tuple[list[str], bool]:
        """The query's trigrams that some item holds, fewest holders first, together held by at most RARE_BUDGET
        items (at least one), and whether that is all of them. Counts are kept for ``ttl`` seconds."""
        now = monotonic()
        docs = {g: self._doc_counts[g][0] if g in self._doc_counts and now - self._doc_counts[g][1] <= self.ttl
                else self._count(session, g, now) for g in grams}
        chosen: list[str] = []
        total = 0
        for gram in sorted((g for g in grams if docs[g]), key=docs.__getitem__):
            if chosen and total + docs[gram] > RARE_BUDGET:
                return chosen, False
            total += docs[gram]
            chosen.append(gram)
        return chosen, True

    def _count(self, session: Session, gram: str, now: float) -> int:
        """How many items hold ``gram`` (on PostgreSQL counted up to RARE_BUDGET + 1)."""
        if session.get_bind().dialect.name == "sqlite":
            docs = session.execute(text("SELECT doc FROM item_name_vocab WHERE term = :term"), {"term": gram}).scalar()
        else:
            held = select(Item.id).where(_held_by_any(gram)).limit(RARE_BUDGET + 1)
            docs = session.exec(select(func.count()).select_from(held.subquery())).one()
        self._doc_counts[gram] = (int(docs or 0), now)
        return int(docs or 0)
