"""Grouping (Alertmanager semantics) in memory: which incident an alert joins and when chat hears of it.

A routed alert joins the incident of its group. The group's first chat message waits
``group_wait`` to collect the burst; once a group has spoken, alerts that join it are announced
together every ``group_interval``. Life-safety (SEV1) alerts never wait.
"""

from dataclasses import dataclass, field, replace

from incidents.rules.noise import GroupRoute, label_value
from incidents.severity import Severity
from incidents.signals import AlertSignal


@dataclass(frozen=True, slots=True)
class GroupFlush:
    """Alerts of one group to apply now; ``first`` when the group has not spoken yet."""

    key: str
    route: GroupRoute
    signals: tuple[AlertSignal, ...]
    first: bool


@dataclass(slots=True)
class _Group:
    route: GroupRoute
    due: float
    spoke: bool = False
    held: dict[str, AlertSignal] = field(default_factory=dict)


class Grouper:
    """Holds grouped alerts until their group is due; times are epoch seconds."""

    def __init__(self, routes: list[GroupRoute]) -> None:
        self.routes = tuple(routes)
        self._groups: dict[str, _Group] = {}

    def route(self, signal: AlertSignal) -> AlertSignal:
        """``signal`` with its group set when a route matches (the first matching route wins)."""
        for route in self.routes:
            if route.match.matches(signal):
                values = "/".join(label_value(signal, name) or "-" for name in route.group_by)
                return replace(signal, group=f"group:{route.id}:{values}")
        return signal

    def hold(self, signal: AlertSignal, now: float) -> bool:
        """Keep a routed signal until its group is due; False when it must be applied now (not grouped,
        life-safety, or a group with nothing to wait for)."""
        if signal.group is None:
            return False
        group = self._groups.get(signal.group)
        if group is None:
            route = next(r for r in self.routes if signal.group.startswith(f"group:{r.id}:"))
            group = self._groups[signal.group] = _Group(route, now + route.group_wait)
        if signal.severity is Severity.SEV1 or (not group.spoke and group.route.group_wait <= 0):
            group.spoke = True
            return False
        group.held[signal.fingerprint] = signal
        return True

    def discard(self, signal: AlertSignal) -> bool:
        """Drop a held alert (routed) that resolved before anyone heard of it; True if it was held."""
        group = self._groups.get(signal.group) if signal.group is not None else None
        return group is not None and group.held.pop(signal.fingerprint, None) is not None

    def due(self, now: float) -> list[GroupFlush]:
        """The groups whose wait or interval is over, with the alerts they held (oldest first)."""
        flushes: list[GroupFlush] = []
        for key, group in list(self._groups.items()):
            if now < group.due:
                continue
            if group.held:
                signals = tuple(sorted(group.held.values(), key=lambda s: s.at))
                flushes.append(GroupFlush(key, group.route, signals, first=not group.spoke))
                group.held.clear()
                group.spoke = True
                group.due = now + group.route.group_interval
            else:
                # Nothing held: a quiet interval, or every alert resolved before the group spoke.
                del self._groups[key]
        return flushes

    def held_count(self) -> int:
        """How many alerts wait for their group."""
        return sum(len(group.held) for group in self._groups.values())
