"""Finding an item from what someone typed or scanned: SKU, GTIN, or a Chinese or English name (fuzzy).

Names are found through the database's text index (migration ``7c3e91b0d5a4``): an FTS5 table with the
trigram tokenizer on SQLite, pg_trgm GIN indexes on PostgreSQL. The index finds the items that contain
the query, or the few hundred that share the most trigrams with it; the fuzzy ranking (rapidfuzz WRatio)
then runs over those candidates only.
"""

from dataclasses import dataclass
from time import monotonic
from typing import Any

from rapidfuzz import fuzz, process, utils
from sqlalchemy import ColumnElement, case, func, literal_column, or_, text
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
RARE_BUDGET = 5_000  # the fuzzy step's candidates come from the query's rarest trigrams held by this many items
_FOLDED_LIMIT = 200  # up to this many containing names are checked in Python (casefold); more are counted in SQL


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


class NameIndex:
    """Name look-ups through the database's trigram index.

    Holds the PostgreSQL pg_trgm schema and, on SQLite, how many items held each trigram when it was
    last asked (``ttl`` seconds): the fuzzy step looks up its candidates by the query's rarest trigrams.
    """

    def __init__(self, ttl: float = 600.0) -> None:
        self.ttl = ttl
        self._trgm_schema: str | None = None
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
        containing = self._containing(session, text_)
        items = list(session.exec(select(Item).where(self._first(session, text_, containing))
                                  .order_by(col(Item.id))))
        if len(items) <= _FOLDED_LIMIT:
            within = [i for i in items if folded in i.name_zh.casefold() or folded in i.name_en.casefold()]
            exact = [i for i in within if folded in (i.name_zh.casefold(), i.name_en.casefold())]
            matches = len(within)
        else:  # count them, and find a name equal to the query, in one pass over the matches
            equal = or_(func.lower(Item.name_zh) == folded, func.lower(Item.name_en) == folded)
            count, equals, equal_id = session.exec(select(
                func.count(), func.coalesce(func.sum(case((equal, 1), else_=0)), 0),
                func.max(case((equal, Item.id), else_=None))).where(containing)).one()
            exact = [item for item in [session.get(Item, equal_id)] if item] if equals == 1 else []
            within, matches = items, int(count)
        if len(exact) == 1:
            return SearchResult(exact[0], "name")
        if matches == 1:
            return SearchResult(within[0], "name")
        if matches:  # a word many names share ("疫苗", "vaccine"): list them rather than guess
            return SearchResult(None, "several", tuple(Suggestion(i.sku, i.name_zh, i.name_en, 100.0)
                                                       for i in within[:SUGGESTIONS]), matches)
        return self._fuzzy(session, text_)

    @staticmethod
    def _rows(session: Session, ids: Any) -> list[_Row]:
        """Id, SKU and names of the items whose id is in the subquery ``ids``, in id order."""
        rows = session.exec(select(Item.id, Item.sku, Item.name_zh, Item.name_en).where(col(Item.id).in_(ids))
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
        rows = self._candidates(session, utils.default_process(text_))
        choices = [utils.default_process(f"{zh} {en} {sku}") for _, sku, zh, en in rows]
        found = process.extract(utils.default_process(text_), choices, scorer=fuzz.WRatio,
                                limit=SUGGESTIONS, score_cutoff=MIN_SCORE)
        suggestions = tuple(Suggestion(rows[i][1], rows[i][2], rows[i][3], round(score, 1)) for _, score, i in found)
        if suggestions and suggestions[0].score >= SURE_SCORE and (
                len(suggestions) == 1 or suggestions[0].score - suggestions[1].score >= CLEAR_LEAD):
            return SearchResult(session.get(Item, rows[found[0][2]][0]), "fuzzy", suggestions[1:])
        return SearchResult(None, "none", suggestions)

    def _candidates(self, session: Session, processed: str) -> list[_Row]:
        """Up to CANDIDATES items sharing the most trigrams with the query, in id order (the ranking's tie order)."""
        grams = _trigrams(processed)
        if grams and session.get_bind().dialect.name == "sqlite":
            match = " OR ".join(_phrase(g) for g in self._rarest(session, grams))
            return self._rows(session, text(
                "SELECT rowid FROM item_name_fts WHERE item_name_fts MATCH :match ORDER BY rank LIMIT :limit")
                .bindparams(match=match, limit=CANDIDATES))
        if grams:
            schema = self._pg_trgm_schema(session)
            session.execute(text("SELECT set_config('pg_trgm.word_similarity_threshold', '0.3', true)"))
            everything = col(Item.name_zh) + " " + col(Item.name_en) + " " + col(Item.sku)
            return self._rows(session, select(Item.id).where(everything.op(f"OPERATOR({schema}.%>)")(processed))
                              .order_by(everything.op(f"OPERATOR({schema}.<->>)")(processed), col(Item.id))
                              .limit(CANDIDATES))
        letters = list(dict.fromkeys(processed.replace(" ", "")))  # shorter than a trigram: names with its letters
        if not letters:
            return []
        hits: ColumnElement[int] = sum((case((or_(col(Item.name_zh).ilike(_like(c), escape="\\"),
                              col(Item.name_en).ilike(_like(c), escape="\\")), 1), else_=0) for c in letters),
                   start=literal_column("0"))
        return self._rows(session, select(Item.id).order_by(hits.desc(), col(Item.id)).limit(CANDIDATES))

    def _rarest(self, session: Session, grams: list[str]) -> list[str]:
        """The query's trigrams held by fewest items, together in at most RARE_BUDGET items (at least one)."""
        now = monotonic()
        for gram in grams:
            if gram not in self._doc_counts or now - self._doc_counts[gram][1] > self.ttl:
                docs = session.execute(text("SELECT doc FROM item_name_vocab WHERE term = :term"),
                                       {"term": gram}).scalar()
                self._doc_counts[gram] = (int(docs or 0), now)
        chosen: list[str] = []
        total = 0
        for gram in sorted((g for g in grams if self._doc_counts[g][0]), key=lambda g: self._doc_counts[g][0]):
            total += self._doc_counts[gram][0]
            if chosen and total > RARE_BUDGET:
                break
            chosen.append(gram)
        return chosen or grams

    def _pg_trgm_schema(self, session: Session) -> str:
        if self._trgm_schema is None:
            self._trgm_schema = str(session.execute(text(
                "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'")).scalar_one())
        return self._trgm_schema
