"""Stock rules: projected stock below safety stock or reorder point, count variance, negative stock."""

from typing import Literal

from pydantic import Field, model_validator

from incidents.readings import StockLevel
from incidents.rules.fields import ConfigModel, RuleBase, StrList


class StockMatch(ConfigModel):
    """Which stock a rule watches; every criterion given must hold, any item of a list will do."""

    skus: StrList | None = None
    locations: StrList | None = None
    zones: StrList | None = None

    def matches(self, level: StockLevel) -> bool:
        """Whether ``level`` is stock this rule watches."""
        return (
            (self.skus is None or level.sku in self.skus)
            and (self.locations is None or level.location in self.locations)
            and (self.zones is None or level.zone in self.zones)
        )


class StockBelowRule(RuleBase):
    """``quantity`` (projected by default) below the item's ``below`` level (safety stock or reorder point)."""

    type: Literal["stock_below"]
    match: StockMatch = Field(default_factory=StockMatch)
    quantity: Literal["projected", "on_hand"] = "projected"
    below: Literal["safety_stock", "reorder_point"] = "safety_stock"


class CountVarianceRule(RuleBase):
    """A cycle count differs from the book quantity by more than ``units`` or ``percent`` of it.

    The book is the quantity recorded before the count adjusted it (``StockLevel.book``), as a cycle-count
    variance is defined (APICS Dictionary, "cycle counting"; warehouse-domain §1.2).
    """

    type: Literal["count_variance"]
    match: StockMatch = Field(default_factory=StockMatch)
    units: float | None = Field(default=None, ge=0)
    percent: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_tolerance(self) -> "CountVarianceRule":
        if (self.units is None) == (self.percent is None):
            raise ValueError("give exactly one of units or percent")
        return self


class NegativeStockRule(RuleBase):
    """The book says less than nothing is on hand: a booking error to find before it ships."""

    type: Literal["negative_stock"]
    match: StockMatch = Field(default_factory=StockMatch)


StockRule = StockBelowRule | CountVarianceRule | NegativeStockRule


def stock_condition(rule: StockRule, level: StockLevel) -> tuple[bool, float, float] | None:
    """(breached, the quantity looked at, the limit it is held to), or None when ``level`` says nothing
    about ``rule`` (no count in the event, no safety stock for the item)."""
    if isinstance(rule, NegativeStockRule):
        return level.on_hand < 0, level.on_hand, 0.0
    if isinstance(rule, StockBelowRule):
        limit = level.safety_stock if rule.below == "safety_stock" else level.reorder_point
        quantity = level.projected if rule.quantity == "projected" else level.on_hand
        return None if limit is None else (quantity < limit, quantity, limit)
    if level.counted is None or level.book is None:
        return None
    # against the book BEFORE the count corrected it: after the correction the two are always equal
    tolerance = rule.units if rule.units is not None else abs(level.book) * (rule.percent or 0.0) / 100
    variance = level.counted - level.book
    return abs(variance) > tolerance, variance, tolerance
