"""A sliding window of (time, value) samples with O(1) rate and least-squares line fit."""

from collections import deque
from statistics import median

# Sums are kept relative to an origin; re-base when it drifts this many windows behind, so float
# error from adding and removing samples cannot build up.
_REBASE_AFTER_WINDOWS = 8
# The robust fit compares every pair of samples; beyond this many it uses an even spread of them.
_ROBUST_POINTS = 40


class Trend:
    """Samples within ``window`` seconds of the newest one, with running sums for the fit."""

    __slots__ = ("_n", "_origin", "_st", "_stt", "_stv", "_sv", "points", "window")

    def __init__(self, window: float, points: list[tuple[float, float]] | None = None) -> None:
        self.window = window
        self.points: deque[tuple[float, float]] = deque()
        self._origin = 0.0
        self._n = self._st = self._sv = self._stt = self._stv = 0.0
        for t, v in points or ():
            self.add(t, v)

    def add(self, t: float, v: float) -> None:
        """Add a sample at epoch seconds ``t`` and drop those older than the window."""
        points = self.points
        if points and t < points[-1][0]:
            return  # out of order: a late duplicate must not bend the line
        if not points or t - self._origin > _REBASE_AFTER_WINDOWS * self.window:
            self._rebase(t)
        points.append((t, v))
        self._sum(t, v, 1.0)
        horizon = t - self.window
        while points[0][0] < horizon:
            old_t, old_v = points.popleft()
            self._sum(old_t, old_v, -1.0)

    def span(self) -> float:
        """Seconds between the oldest and the newest sample."""
        return self.points[-1][0] - self.points[0][0] if self.points else 0.0

    def rate_per_minute(self) -> float | None:
        """(newest − oldest) per minute, or None with less than half a window of history."""
        span = self.span()
        if span <= 0 or span < self.window / 2:
            return None
        return (self.points[-1][1] - self.points[0][1]) / span * 60.0

    def fit(self, min_samples: int) -> tuple[float, float] | None:
        """(slope per second, fitted value at the newest sample) by least squares, or None when the
        window holds fewer than ``min_samples`` or less than half a window of history."""
        n = self._n
        if n < min_samples or self.span() < self.window / 2:
            return None
        mean_t, mean_v = self._st / n, self._sv / n
        var_t = self._stt / n - mean_t * mean_t
        if var_t <= 0:
            return None
        slope = (self._stv / n - mean_t * mean_v) / var_t
        newest = self.points[-1][0] - self._origin
        return slope, mean_v + slope * (newest - mean_t)

    def robust_fit(self) -> tuple[float, float]:
        """(Theil–Sen slope per second, median level at the newest sample), for a window that ``fit`` accepted.

        The median of the slopes between every pair of samples ignores a short spike (a door left
        open for ten seconds) that bends a least-squares line towards it.
        """
        points = list(self.points)
        if len(points) > _ROBUST_POINTS:
            step = (len(points) - 1) / (_ROBUST_POINTS - 1)
            points = [points[round(i * step)] for i in range(_ROBUST_POINTS)]
        slope = median(
            (v2 - v1) / (t2 - t1) for i, (t1, v1) in enumerate(points) for t2, v2 in points[i + 1 :] if t2 > t1
        )
        newest = points[-1][0]
        return slope, median(v + slope * (newest - t) for t, v in points)

    def _sum(self, t: float, v: float, sign: float) -> None:
        x = t - self._origin
        self._n += sign
        self._st += sign * x
        self._sv += sign * v
        self._stt += sign * x * x
        self._stv += sign * x * v

    def _rebase(self, t: float) -> None:
        self._origin = self.points[0][0] if self.points else t
        self._n = self._st = self._sv = self._stt = self._stv = 0.0
        for pt, pv in self.points:
            self._sum(pt, pv, 1.0)
