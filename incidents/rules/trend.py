"""A sliding window of (time, value) samples with O(1) rate and least-squares line fit.

Samples live in two arrays of doubles (16 bytes a sample, not the ~100 of a tuple of floats), so
thousands of sensors with ten-minute windows stay small; dropped samples are compacted away.
"""

from array import array
from statistics import median

# Sums are kept relative to an origin; re-base when it drifts this many windows behind, so float
# error from adding and removing samples cannot build up.
_REBASE_AFTER_WINDOWS = 8
# The robust fit compares every pair of samples; beyond this many it uses an even spread of them.
_ROBUST_POINTS = 40
# Dropped samples at the head are removed once there are this many and they are a quarter of the arrays, so
# a window's arrays hold at most 4/3 of its samples (with half, a 10-minute window of 10 s readings held up
# to 120 samples for its 60); the move costs a few hundred bytes of memmove every 15 or so samples.
_COMPACT_AFTER = 8


class Trend:
    """Samples within ``window`` seconds of the newest one, with running sums for the fit."""

    __slots__ = ("_head", "_n", "_origin", "_st", "_stt", "_stv", "_sv", "_ts", "_vs", "window")

    def __init__(self, window: float, points: list[tuple[float, float]] | None = None) -> None:
        self.window = window
        self._ts = array("d")
        self._vs = array("d")
        self._head = 0
        self._origin = 0.0
        self._n = self._st = self._sv = self._stt = self._stv = 0.0
        for t, v in points or ():
            self.add(t, v)

    def add(self, t: float, v: float) -> None:
        """Add a sample at epoch seconds ``t`` and drop those older than the window."""
        ts, vs = self._ts, self._vs
        empty = self._head == len(ts)
        if not empty and t < ts[-1]:
            return  # out of order: a late duplicate must not bend the line
        if empty or t - self._origin > _REBASE_AFTER_WINDOWS * self.window:
            self._rebase(t)
        ts.append(t)
        vs.append(v)
        self._sum(t, v, 1.0)
        horizon, head = t - self.window, self._head
        while ts[head] < horizon:
            self._sum(ts[head], vs[head], -1.0)
            head += 1
        if head >= _COMPACT_AFTER and 4 * head >= len(ts):
            del ts[:head], vs[:head]
            head = 0
        self._head = head

    def points(self) -> list[tuple[float, float]]:
        """The samples in the window, oldest first."""
        head = self._head
        return list(zip(self._ts[head:], self._vs[head:], strict=True))

    def span(self) -> float:
        """Seconds between the oldest and the newest sample."""
        return self._ts[-1] - self._ts[self._head] if self._head < len(self._ts) else 0.0

    def rate_per_minute(self) -> float | None:
        """(newest − oldest) per minute, or None with less than half a window of history."""
        span = self.span()
        if span <= 0 or span < self.window / 2:
            return None
        return (self._vs[-1] - self._vs[self._head]) / span * 60.0

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
        newest = self._ts[-1] - self._origin
        return slope, mean_v + slope * (newest - mean_t)

    def robust_fit(self) -> tuple[float, float]:
        """(Theil–Sen slope per second, median level at the newest sample), for a window that ``fit`` accepted.

        The median of the slopes between every pair of samples ignores a short spike (a door left
        open for ten seconds) that bends a least-squares line towards it.
        """
        points = self.points()
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
        head = self._head
        self._origin = self._ts[head] if head < len(self._ts) else t
        self._n = self._st = self._sv = self._stt = self._stv = 0.0
        for pt, pv in zip(self._ts[head:], self._vs[head:], strict=True):
            self._sum(pt, pv, 1.0)
