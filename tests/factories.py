"""Factories and fakes of our own ports, shared by the tests."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from handlers.commands import ChatRouter
from handlers.context import CoreContext
from handlers.evidence_flow import EvidenceFlow
from handlers.incident_flow import IncidentFlow
from handlers.notify import Notifier
from handlers.playbook_flow import PlaybookFlow
from incidents import directory
from incidents.database import Database
from incidents.escalation import EscalationConfig, load_escalation
from incidents.evidence.images import EvidencePolicy
from incidents.evidence.store import EvidenceStore
from incidents.severity import Severity
from incidents.signals import AlertSignal, SignalKind
from playbooks.loader import LoadedPlaybook, load_library

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = load_library(ROOT / "playbooks" / "library")
ESCALATION = load_escalation(ROOT / "config" / "escalation.yaml")


def make_signal(**overrides: Any) -> AlertSignal:
    """A cold-room excursion on D1 unless told otherwise."""
    values: dict[str, Any] = {
        "kind": SignalKind.FIRING, "rule_id": "cold-room-high-temp", "fingerprint": "cold-room-high-temp:d1-probe-1",
        "severity": Severity.SEV2, "title_zh": "冷库 D1 温度 8.6 °C", "title_en": "Cold room D1 at 8.6 °C",
        "at": datetime(2026, 11, 25, 2, 0, tzinfo=UTC), "site": "SH-01", "zone": "D1", "sensor": "d1-probe-1",
        "metric": "temperature", "value": 8.6, "threshold": 8.0, "playbook": "cold-chain-excursion",
    }
    values.update(overrides)
    return AlertSignal(**values)


@dataclass
class FakeTimers:
    """Records what would be armed; the persistent scheduler has its own tests."""

    armed: dict[int, tuple[str, datetime]] = field(default_factory=dict)
    steps: dict[tuple[int, str], tuple[str, str, datetime]] = field(default_factory=dict)
    reminders: dict[tuple[int, str], tuple[str, datetime]] = field(default_factory=dict)
    drills: dict[str, tuple[datetime, dict[str, Any]]] = field(default_factory=dict)

    def arm_escalation(self, *, incident_id: int, token: str, run_at: datetime) -> None:
        self.armed[incident_id] = (token, run_at)

    def disarm_escalation(self, *, incident_id: int) -> None:
        self.armed.pop(incident_id, None)

    def arm_step(self, *, incident_id: int, step_id: str, kind: str, token: str, run_at: datetime) -> None:
        self.steps[(incident_id, token)] = (step_id, kind, run_at)

    def arm_reminder(self, *, incident_id: int, kind: str, token: str, run_at: datetime) -> None:
        self.reminders[(incident_id, kind)] = (token, run_at)

    def arm_drill(self, *, job_id: str, run_at: datetime, playbook_id: str, zone: str | None, note: str,
                  person_id: int | None) -> None:
        self.drills[job_id] = (run_at, {"playbook_id": playbook_id, "zone": zone, "note": note,
                                        "person_id": person_id})


@dataclass
class Core:
    ctx: CoreContext
    flow: IncidentFlow
    playbooks: PlaybookFlow
    router: ChatRouter
    timers: FakeTimers


def make_core(db: Database, *, platforms: tuple[str, ...] = ("webchat",), escalation: EscalationConfig | None = None,
              now: Any = None, evidence: EvidenceStore | None = None, policy: EvidencePolicy | None = None,
              library: Mapping[str, LoadedPlaybook] = LIBRARY) -> Core:
    """The platform-neutral core over a real database, with recorded timers; photos go to ``evidence``
    (none: the core answers that photo evidence is not set up)."""
    timers = FakeTimers()
    ctx = CoreContext(db=db, notifier=Notifier(platforms), escalation=escalation or ESCALATION, timers=timers,
                      timezone="Asia/Shanghai")
    if now is not None:
        ctx.now = now
    playbooks = PlaybookFlow(ctx, library)
    flow = IncidentFlow(ctx, playbooks)
    keeper = EvidenceFlow(ctx, playbooks, evidence, policy or EvidencePolicy()) if evidence is not None else None
    return Core(ctx, flow, playbooks, ChatRouter(ctx, flow, playbooks, evidence=keeper), timers)


def seed_people(db: Database) -> dict[str, int]:
    """Wang Wei (SL), Li Na (WM), Zhang Min (QA), each known on every platform.

    Web chat and WeCom user ids are the login names, Slack ids ``U-<name>``, Telegram ids 1001–1003.
    """
    ids: dict[str, int] = {}
    with db.unit_of_work() as session:
        people = [("王伟", "Wang Wei", ["SL"], "wangwei"), ("李娜", "Li Na", ["WM"], "lina"),
                  ("张敏", "Zhang Min", ["QA"], "zhangmin")]
        for number, (name_zh, name_en, roles, user) in enumerate(people, start=1001):
            identities = [("webchat", user), ("slack", f"U-{user}"), ("wecom", user), ("telegram", str(number))]
            person = directory.add_person(session, name_zh=name_zh, name_en=name_en, roles=roles,
                                          identities=identities)
            assert person.id is not None
            ids[user] = person.id
    return ids
