"""Which readings to keep for reviews and charts (GSP-style: sparse normally, every reading when it matters).

Every sensor keeps one reading a minute; a sensor with an alert firing or warning keeps every
reading until the alert resolves, and the last reading thinned out before the alert (the value that
made it, when a ``for`` duration completed between readings) is kept too. The review's chart of an
incident is drawn from these samples.
"""

from collections.abc import Iterable
from datetime import datetime

from incidents.readings import Reading
from incidents.signals import AlertSignal, SignalKind

NORMAL_INTERVAL_S = 60.0


class SampleKeeper:
    def __init__(self, interval_s: float = NORMAL_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._last: dict[tuple[str, str], float] = {}
        self._watched: dict[str, set[str]] = {}  # sensor → fingerprints of its live alerts
        self._thinned: dict[tuple[str, str], Reading] = {}  # the last reading not kept, per (sensor, metric)
        self._due: list[Reading] = []  # thinned readings of sensors that have just become watched

    def watch(self, signal: AlertSignal) -> None:
        """Follow a sensor closely while one of its alerts fires or warns."""
        if signal.sensor is None:
            return
        alerts = self._watched.get(signal.sensor)
        if alerts is None:
            if signal.kind is SignalKind.RESOLVED:
                return
            alerts = self._watched[signal.sensor] = set()
            self._due += [r for (sensor, _), r in self._thinned.items() if sensor == signal.sensor]
        if signal.kind is SignalKind.RESOLVED:
            alerts.discard(signal.fingerprint)
            if not alerts:
                del self._watched[signal.sensor]
        else:
            alerts.add(signal.fingerprint)

    @property
    def watched(self) -> frozenset[str]:
        """Sensors with an alert firing or warning now (their readings are all kept)."""
        return frozenset(self._watched)

    def keep(self, readings: Iterable[Reading]) -> list[Reading]:
        """The readings to store: numeric or boolean values, thinned to one a minute unless watched."""
        kept: list[Reading] = []
        if self._due:
            kept, self._due = self._due, []
            for reading in kept:
                self._thinned.pop((reading.sensor, reading.metric), None)
        for reading in readings:
            key = (reading.sensor, reading.metric)
            t = _seconds(reading.ts)
            if reading.sensor in self._watched or t - self._last.get(key, float("-inf")) >= self.interval_s:
                self._last[key] = t
                kept.append(reading)
            else:
                self._thinned[key] = reading
        return kept


def _seconds(moment: datetime) -> float:
    return moment.timestamp()
