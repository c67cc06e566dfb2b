"""Finding an item from what someone typed or scanned: SKU, GTIN, or a Chinese or English name (fuzzy)."""

from dataclasses import dataclass
from time import monotonic

from rapidfuzz import fuzz, process, utils
from sqlalchemy import func
from sqlmodel import Session, col, select

from incidents.inventory.gs1 import gtin_from_scan
from incidents.inventory.tables import Item

SUGGESTIONS = 5
SURE_SCORE = 90.0  # a fuzzy match this good, and clearly ahead of the next, is taken as the answer
CLEAR_LEAD = 5.0
MIN_SCORE = 55.0


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


@dataclass(frozen=True, slots=True)
class _Entry:
    item_id: int
    sku: str
    name_zh: str
    name_en: str


class NameIndex:
    """Item names held in memory for fuzzy matching, reloaded when items are added or after ``ttl`` seconds."""

    def __init__(self, ttl: float = 60.0) -> None:
        self.ttl = ttl
        self._entries: list[_Entry] = []
        self._choices: list[str] = []
        self._signature: tuple[int, int] | None = None
        self._loaded_at = 0.0

    def _fresh(self, session: Session) -> None:
        count, top = session.exec(select(func.count(col(Item.id)), func.max(Item.id))).one()
        signature = (int(count), int(top or 0))
        if signature == self._signature and monotonic() - self._loaded_at < self.ttl:
            return
        rows = session.exec(select(Item.id, Item.sku, Item.name_zh, Item.name_en)).all()
        self._entries = [_Entry(item_id or 0, sku, zh, en) for item_id, sku, zh, en in rows]
        self._choices = [utils.default_process(f"{e.name_zh} {e.name_en} {e.sku}") for e in self._entries]
        self._signature, self._loaded_at = signature, monotonic()

    def search(self, session: Session, query: str) -> SearchResult:
        """Exact SKU, then GTIN, then a name that is or contains the query once, then the best fuzzy matches."""
        text = query.strip()
        item = session.exec(select(Item).where(col(Item.sku).in_({text, text.upper()}))).first()
        if item is not None:
            return SearchResult(item, "sku")
        gtin = gtin_from_scan(text)
        if gtin is not None:
            item = session.exec(select(Item).where(Item.gtin == gtin)).first()
            return SearchResult(item, "gtin") if item else SearchResult(None, "none")
        self._fresh(session)
        folded = text.casefold()
        exact = [e for e in self._entries if folded in (e.name_zh.casefold(), e.name_en.casefold())]
        if len(exact) == 1:
            return SearchResult(session.get(Item, exact[0].item_id), "name")
        within = [e for e in self._entries if folded in e.name_zh.casefold() or folded in e.name_en.casefold()]
        if len(within) == 1:
            return SearchResult(session.get(Item, within[0].item_id), "name")
        if within:  # a word many names share ("疫苗", "vaccine"): list them rather than guess
            return SearchResult(None, "several", tuple(Suggestion(e.sku, e.name_zh, e.name_en, 100.0)
                                                       for e in within[:SUGGESTIONS]), len(within))
        return self._fuzzy(session, text)

    def _fuzzy(self, session: Session, text: str) -> SearchResult:
        found = process.extract(utils.default_process(text), self._choices, scorer=fuzz.WRatio,
                                limit=SUGGESTIONS, score_cutoff=MIN_SCORE)
        suggestions = tuple(Suggestion(self._entries[i].sku, self._entries[i].name_zh, self._entries[i].name_en,
                                       round(score, 1)) for _, score, i in found)
        if suggestions and suggestions[0].score >= SURE_SCORE and (
                len(suggestions) == 1 or suggestions[0].score - suggestions[1].score >= CLEAR_LEAD):
            best = self._entries[found[0][2]]
            return SearchResult(session.get(Item, best.item_id), "fuzzy", suggestions[1:])
        return SearchResult(None, "none", suggestions)
