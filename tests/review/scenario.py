"""A realistic cold-room incident, from alarm to resolution, for review tests and the export benchmark."""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from handlers.commands import ChatRouter
from handlers.ports import CommandInvoked, UserRef
from incidents import directory
from incidents.actors import Actor
from incidents.database import Database
from incidents.inventory.demo import load_demo_stock
from incidents.inventory.samples import record_samples
from incidents.lifecycle import Transition
from incidents.readings import Reading
from tests.conftest import FakeClock
from tests.factories import make_core, make_signal, seed_people

START = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scenario:
    incident_id: int
    start: datetime
    end: datetime


def probe_readings(start: datetime, minutes: int, *, sensor: str = "d1-probe-1") -> list[Reading]:
    """One reading a minute: 5 °C, warming from minute 100 to a 9.2 °C peak at minute 130, back by minute 160."""
    readings = []
    for minute in range(minutes):
        warm = 4.2 * math.sin(math.pi * (minute - 100) / 60) if 100 <= minute <= 160 else 0.0
        readings.append(Reading(sensor=sensor, metric="temperature", value=round(5.0 + warm + 0.2 * math.sin(minute),
                                                                               2),
                                ts=start + timedelta(minutes=minute)))
    return readings


def _say(router: ChatRouter, user: str, name: str, args: tuple[str, ...], *, incident_id: int, key: str,
         at: datetime) -> str:
    reply = router.handle(CommandInvoked(platform="webchat", dedupe_key=key, actor=UserRef("webchat", user),
                                              thread=None, received_at=at, incident_id=incident_id, name=name,
                                              args=args))
    return reply.text


def play_cold_room_incident(database: Database) -> Scenario:
    """D1 warms up at 02:50, is escalated, acknowledged, worked through its playbook and resolved at 04:10."""
    clock = FakeClock(START)
    seed_people(database)
    with database.unit_of_work() as session:
        load_demo_stock(session, now=START)
        record_samples(session, probe_readings(START - timedelta(minutes=60), 300))
    core = make_core(database, now=clock)
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
    _say(core.router, "lina", "skip", ("供应商已到场 vendor already on site",), incident_id=incident_id, key="k2",
         at=clock.now)
    clock.advance(minutes=9)
    core.flow.change(incident_id=incident_id, change=Transition.RESOLVE, actor=_actor(database, "lina"))
    return Scenario(incident_id, START, clock.now)


def _actor(database: Database, user: str) -> Actor:
    with database.reader() as session:
        actor = directory.resolve(session, platform="webchat", platform_user_id=user)
    assert actor is not None
    return actor

