"""Sliding windows of (time, value) samples with O(1) rate and least-squares line fit.

The samples of one sensor's metric live once, in two arrays of doubles (16 bytes a sample, not the ~100 of a
tuple of floats) that every window over that metric shares: a probe's 10-minute time-to-breach trend and its
5-minute rate-of-change trend read the same ``Samples`` (two copies were ~5 MB at 5,000 sensors). Samples
older than the longest window are compacted away.
"""

from array import array
from bisect import bisect_left
from statistics import median

# Sums are kept relative to an origin; re-base when it drifts this many windows behind, so float
# error from adding and removing samples cannot build up.
_REBASE_AFTER_WINDOWS = 8
# The robust fit compares every pair of samples; beyond this many it uses an even spread of them.
_ROBUST_POINTS = 40
# Samples older than the longest window are removed once there are this many and they are a quarter of the
# arrays, so the arrays hold at most 4/3 of the longest window's samples (with half, a 10-minute window of 10 s
# readings held up to 120 samples for its 60); the move costs a few hundred bytes of memmove every 15 or so samples.
_COMPACT_AFTER = 8


class Samples:
    """One sensor's samples of one metric, oldest first, shared by the ``Trend`` windows over them.

    ``dropped`` counts the samples compacted away from the front, so ``dropped + i`` names sample ``i`` for as
    long as the samples live; ``window`` (seconds) is the longest window of the trends that joined.
    """

    __slots__ = ("dropped", "ts", "vs", "window")

    def __init__(self, window: float) -> None:
        self.ts = array("d")
        self.vs = array("d")
        self.dropped = 0
        self.window = window

    @property
    def end(self) -> int:
        """How many samples were ever appended."""
        return self.dropped + len(self.ts)

    def append(self, t: float, v: float) -> None:
        """Append a sample, first removing those the longest window left behind. Every trend over the samples
        took the previous sample in (the engine hands each reading to all of them), so none still reads one."""
        ts = self.ts
        if ts:
            old = bisect_left(ts, ts[-1] - self.window)
            if old >= _COMPACT_AFTER and 4 * old >= len(ts):
                del ts[:old], self.vs[:old]
                self.dropped += old
        ts.append(t)
        self.vs.append(v)


class Trend:
    """The samples within ``window`` seconds of the newest one, with running sums for the fit.

    ``samples``: those of another trend over the same sensor and metric, to share them; the new trend takes in
    the samples from number ``start`` on (``Samples.end``, the ones that come after it, by default). Its own
    samples by default.
    """

    __slots__ = ("_end", "_head", "_n", "_origin", "_st", "_stt", "_stv", "_sv", "samples", "window")

    def __init__(self, window: float, points: list[tuple[float, float]] | None = None,
                 samples: Samples | None = None, start: int | None = None) -> None:
        self.window = window
        self.samples = samples = samples if samples is not None else Samples(window)
        samples.window = max(samples.window, window)
        # sample numbers (``Samples.dropped`` + index): the window's first, and the first not yet taken in
        self._head = self._end = samples.end if start is None else start
        self._origin = 0.0
        self._n = self._st = self._sv = self._stt = self._stv = 0.0
        for t, v in points or ():
            self.add(t, v)

    def add(self, t: float, v: float) -> None:
        """Add a sample at epoch seconds ``t`` and drop those older than the window. A trend sharing the
        samples may have appended this reading already: then it is only taken in."""
        samples = self.samples
        if self._end == samples.end:
            if samples.ts and t < samples.ts[-1]:
                return  # out of order: a late duplicate must not bend the line
            samples.append(t, v)
        ts, vs, base = samples.ts, samples.vs, samples.dropped
        head, end = self._head - base, self._end - base
        if head < 0:  # behind samples compacted away (never for a trend fed every reading): start again
            head = end = 0
        window = self.window
        while end < len(ts):
            t, v = ts[end], vs[end]
            if head == end or t - self._origin > _REBASE_AFTER_WINDOWS * window:
                self._rebase(head, end, t)
            self._sum(t, v, 1.0)
            end += 1
            horizon = t - window
            while ts[head] < horizon:
                self._sum(ts[head], vs[head], -1.0)
                head += 1
        self._head, self._end = head + base, end + base

    def join(self, samples: Samples) -> bool:
        """Read ``samples`` instead of this trend's own when this trend's samples are their newest ones (as
        after a restore of two trends over one metric); False, and nothing changed, when they are not."""
        mine = self.points()
        if samples.end == 0 or samples is self.samples or self._end - self._head == 0:
            return False
        newest = len(samples.ts)
        first = newest - len(mine)
        if first < 0 or list(zip(samples.ts[first:], samples.vs[first:], strict=True)) != mine:
            return False
        self.samples = samples
        samples.window = max(samples.window, self.window)
        self._head, self._end = samples.dropped + first, samples.end
        self._rebase(first, newest, samples.ts[-1])
        return True

    def _window(self) -> "tuple[array[float], array[float], int, int]":
        samples = self.samples
        base = samples.dropped
        return samples.ts, samples.vs, self._head - base, self._end - base

    def points(self) -> list[tuple[float, float]]:
        """The samples in the window, oldest first."""
        ts, vs, head, end = self._window()
        return list(zip(ts[head:end], vs[head:end], strict=True))

    def span(self) -> float:
        """Seconds between the oldest and the newest sample."""
        ts, _, head, end = self._window()
        return ts[end - 1] - ts[head] if head < end else 0.0

    def rate_per_minute(self) -> float | None:
        """(newest − oldest) per minute, or None with less than half a window of history."""
        span = self.span()
        if span <= 0 or span < self.window / 2:
            return None
        _, vs, head, end = self._window()
        return (vs[end - 1] - vs[head]) / span * 60.0

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
        ts, _, _, end = self._window()
        newest = ts[end - 1] - self._origin
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

    def _rebase(self, head: int, end: int, t: float) -> None:
        """Sums of the samples at indices [head, end) anew, relative to the oldest (``t`` when there is none)."""
        ts, vs = self.samples.ts, self.samples.vs
        self._origin = ts[head] if head < end else t
        self._n = self._st = self._sv = self._stt = self._stv = 0.0
        for pt, pv in zip(ts[head:end], vs[head:end], strict=True):
            self._sum(pt, pv, 1.0)
