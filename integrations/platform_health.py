"""Which chat platforms are failing, and since when: a platform whose deliveries have failed (API errors,
5xx, timeouts, a revoked token) with no success for ``threshold`` is degraded. Rate-limit waits are not
failures. Fed by the outbox dispatcher's outcomes; read by the fallback watch, ``/healthz`` and ``/metrics``."""

from collections import Counter
from collections.abc import Callable
from datetime import datetime

from incidents.clock import utcnow


class DeliveryHealth:
    def __init__(self, threshold_seconds: float, *, now: Callable[[], datetime] = utcnow) -> None:
        self.threshold_seconds = threshold_seconds
        self.now = now
        self.failing_since: dict[str, datetime] = {}
        self.last_error: dict[str, str] = {}
        self.failures: Counter[str] = Counter()
        self.outages: Counter[str] = Counter()  # how often each platform became degraded
        self._degraded: set[str] = set()

    def record(self, platform: str, error: str | None) -> None:
        """A delivery outcome: ``error`` None for a success."""
        if error is None:
            self.failing_since.pop(platform, None)
            self._degraded.discard(platform)
            return
        self.failures[platform] += 1
        self.last_error[platform] = error[:300]
        self.failing_since.setdefault(platform, self.now())

    def degraded(self) -> dict[str, datetime]:
        """Degraded platforms and when their failures began."""
        now = self.now()
        found = {platform: since for platform, since in self.failing_since.items()
                 if (now - since).total_seconds() >= self.threshold_seconds}
        for platform in found.keys() - self._degraded:
            self.outages[platform] += 1
        self._degraded |= found.keys()
        return found
