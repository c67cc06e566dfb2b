"""A realistic cold-room incident, from alarm to resolution, for review tests and the export benchmark."""

import math
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from handlers.commands import ChatRouter
from handlers.ports import CommandInvoked, Download, PhotoSent, UserRef
from handlers.signing import Signing
from incidents import directory
from incidents.actors import SYSTEM, Actor
from incidents.database import Database
from incidents.evidence.store import EvidenceStore, LocalStore
from incidents.identity import passwords
from incidents.inventory.demo import load_demo_stock
from incidents.inventory.samples import record_samples
from incidents.lifecycle import Transition
from incidents.readings import Reading
from incidents.rules.config import DeviceRegistry, parse_registry
from incidents.signals import SignalKind
from tests.conftest import FakeClock
from tests.evidence.pictures import camera_jpeg
from tests.factories import ROOT, make_core, make_signal, seed_people

START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
QA_PASSWORD = "qa-signs-this-1"
READINGS_FROM = START - timedelta(minutes=60)


@dataclass(frozen=True)
class Scenario:
    incident_id: int
    start: datetime
    end: datetime


def door_probe(minute: int) -> float:
    """D1's door-side probe: 5 °C, warming from minute 95 to a 9.2 °C peak at minute 125, back by minute 155."""
    warm = 4.2 * math.sin(math.pi * (minute - 95) / 60) if 95 <= minute <= 155 else 0.0
    return round(5.0 + warm + 0.2 * math.sin(minute), 2)


def probe_readings(start: datetime, minutes: int, *, sensor: str = "d1-probe-1") -> list[Reading]:
    """One reading a minute of the door-side probe."""
    return [Reading(sensor=sensor, metric="temperature", value=door_probe(minute), ts=start + timedelta(minutes=minute))
            for minute in range(minutes)]


def back_wall_readings(start: datetime, minutes: int) -> list[Reading]:
    """D1's back-wall probe, one reading every five minutes: it follows the door side, damped, and stays in range."""
    return [Reading(sensor="d1-probe-2", metric="temperature", value=round(5.0 + (door_probe(m) - 5.0) * 0.55, 2),
                    ts=start + timedelta(minutes=m)) for m in range(0, minutes, 5)]


def registry_with_calibration() -> DeviceRegistry:
    """The shipped device registry, with a calibration due date recorded for D1's door-side probe only."""
    document = yaml.safe_load((ROOT / "config" / "devices.yaml").read_text(encoding="utf-8"))
    document["devices"]["d1-probe-1"]["labels"]["calibration_due"] = "2027-03-31"
    return parse_registry(yaml.safe_dump(document, allow_unicode=True), source=str(Path("devices.yaml")))


def _say(router: ChatRouter, user: str, name: str, args: tuple[str, ...], *, incident_id: int, key: str,
         at: datetime) -> str:
    reply = router.handle(CommandInvoked(platform="webchat", dedupe_key=key, actor=UserRef("webchat", user),
                                         thread=None, received_at=at, incident_id=incident_id, name=name, args=args))
    assert reply.ok, reply.text
    return reply.text


def play_cold_room_incident(database: Database, evidence: EvidenceStore | None = None) -> Scenario:
    """D1 warms up; its alarm opens an incident at 02:52 that escalates, is acknowledged, worked through its
    playbook (handheld 9.1 °C, compressor, back in range, quarantine with a photo kept in ``evidence`` (default:
    a new temporary directory), QA releases) and resolved at 04:10 with the shipped-check step still open."""
    clock = FakeClock(START)
    people = seed_people(database)
    with database.unit_of_work() as session:
        passwords.set_password(session, person_id=people["zhangmin"], password=QA_PASSWORD, by=SYSTEM, now=START)
        load_demo_stock(session, now=START)
        record_samples(session, probe_readings(READINGS_FROM, 300))
        record_samples(session, back_wall_readings(READINGS_FROM, 300))
    store = evidence or LocalStore(Path(tempfile.mkdtemp(prefix="wareroom-scenario-evidence-")))
    core = make_core(database, now=clock, evidence=store)
    clock.advance(minutes=52)
    incident_id = core.flow.on_signal(make_signal(at=clock.now, value=8.4))
    assert incident_id is not None
    clock.advance(minutes=10)
    token, _ = core.timers.armed[incident_id]
    core.flow.escalation_due(incident_id=incident_id, token=token)
    clock.advance(minutes=3)
    core.flow.change(incident_id=incident_id, change=Transition.ACKNOWLEDGE, actor=_actor(database, "wangwei"))
    clock.advance(minutes=20)
    _say(core.router, "wangwei", "done", ("9.1",), incident_id=incident_id, key="k1", at=clock.now)
    clock.advance(minutes=6)
    core.flow.change(incident_id=incident_id, change=Transition.MITIGATE, actor=_actor(database, "lina"))
    _say(core.router, "wangwei", "done", ("compressor",), incident_id=incident_id, key="k2", at=clock.now)
    clock.advance(minutes=2)
    core.flow.on_signal(make_signal(kind=SignalKind.RESOLVED, at=clock.now, value=7.4))
    clock.advance(minutes=4)
    _say(core.router, "wangwei", "done", ("yes",), incident_id=incident_id, key="k3", at=clock.now)
    clock.advance(minutes=5)
    photo = core.router.handle(PhotoSent(
        platform="webchat", dedupe_key="k4", actor=UserRef("webchat", "wangwei"), thread=None, received_at=clock.now,
        incident_id=incident_id, download=Download(camera_jpeg(), "quarantine.jpg")))
    assert photo.ok, photo.text
    clock.advance(minutes=20)
    signed = core.playbooks.complete(  # the QA disposition is an electronic signature, not a chat /done
        incident_id=incident_id, step_id="qa-assessment", actor=_actor(database, "zhangmin"), dedupe_key="k5",
        answer="release",
        signing=Signing(password=QA_PASSWORD, totp_code="", reason="在稳定性数据范围内 within stability data"))
    assert signed.ok, signed.text
    clock.advance(minutes=10)
    resolved = core.flow.change(incident_id=incident_id, change=Transition.RESOLVE, actor=_actor(database, "lina"),
                                override=True, reason="出库核查转由客服跟进 shipped-check handed to customer service")
    assert resolved.ok, resolved.text
    return Scenario(incident_id, START, clock.now)


def _actor(database: Database, user: str) -> Actor:
    with database.reader() as session:
        actor = directory.resolve(session, platform="webchat", platform_user_id=user)
    assert actor is not None
    return actor
