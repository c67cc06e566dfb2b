"""A rate-limit storm for the fake platforms: every call of some methods is refused until a time on a clock."""

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Storm:
    """Until ``until`` (on ``clock``, seconds), each call of ``methods`` gets "too many requests"."""

    methods: frozenset[str]
    until: float
    clock: Callable[[], float]
    retry_after: int = 30
    refused: int = 0

    def retry(self, method: str) -> int | None:
        """The Retry-After to answer ``method`` with now, or None when it goes through."""
        now = self.clock()
        if method not in self.methods or now >= self.until:
            return None
        self.refused += 1
        return max(1, min(self.retry_after, math.ceil(self.until - now)))
