"""Inhibition (Alertmanager semantics) in memory: while a source alert fires, matching targets are muted."""

from dataclasses import dataclass

from incidents.rules.noise import Inhibition, label_value
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind


@dataclass(frozen=True, slots=True)
class ActiveSource:
    """A firing source alert, the incident it belongs to, and the ``equal`` values it covers."""

    fingerprint: str
    incident_id: int
    inhibition: Inhibition
    scope: tuple[str | None, ...]


class Inhibitor:
    """Knows which source alerts fire now and answers whether a target alert is muted by one of them."""

    def __init__(self, inhibitions: list[Inhibition]) -> None:
        self.inhibitions = tuple(inhibitions)
        self._active: dict[tuple[str, str], ActiveSource] = {}

    def observe(self, signal: AlertSignal, incident_id: int | None) -> None:
        """Track a delivered signal: a firing source starts muting, a resolved one stops."""
        for inhibition in self.inhibitions:
            if not inhibition.source.matches(signal):
                continue
            key = (inhibition.id, signal.fingerprint)
            if signal.kind is SignalKind.RESOLVED:
                self._active.pop(key, None)
            elif incident_id is not None:
                scope = tuple(label_value(signal, name) for name in inhibition.equal)
                self._active[key] = ActiveSource(signal.fingerprint, incident_id, inhibition, scope)

    def muted_by(self, signal: AlertSignal) -> ActiveSource | None:
        """The source that mutes ``signal``, or None. Life-safety (SEV1) alerts are never muted."""
        if signal.severity is Severity.SEV1 or not self._active:
            return None
        for source in self._active.values():
            inhibition = source.inhibition
            if source.fingerprint == signal.fingerprint or not inhibition.target.matches(signal):
                continue
            if tuple(label_value(signal, name) for name in inhibition.equal) == source.scope:
                return source
        return None
