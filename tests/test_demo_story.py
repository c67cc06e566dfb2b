"""The demo's story, played through the real intake with the demo rules on a fake clock: the first incident
opens within the time the demo's notice promises, and the room comes back into range after the repair."""

from datetime import timedelta

import httpx
from sqlmodel import col, select

from bot.settings import PROJECT_ROOT, Settings
from handlers.intake import Intake
from handlers.text import CATALOGUE
from incidents.database import Database
from incidents.readings import Reading
from incidents.rules.config import load_registry, load_rules_file
from incidents.rules.engine import RuleEngine
from incidents.tables import Incident
from integrations.mqtt.simulator import PERIOD, REPAIRED_S, WARMING_STARTS_S, SiteSimulator
from tests.conftest import FakeClock
from tests.factories import make_core

FIRST_INCIDENT_BY_S = 15  # after the simulated site starts; the server itself starts in a few seconds more


def test_the_first_incident_opens_within_twenty_seconds_and_clears_after_the_repair(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    clock = FakeClock(FakeClock.start)
    core = make_core(database, now=clock)
    registry = load_registry(PROJECT_ROOT / "config" / "devices.yaml")
    rules = load_rules_file(PROJECT_ROOT / "config" / "demo" / "rules.yaml", registry)
    intake = Intake(database, RuleEngine(rules.rules, registry), core.flow, grouping=rules.grouping,
                    inhibit=rules.inhibit)
    probes = [d for d, dev in registry.devices.items() if dev.kind == "temperature-probe"]
    site = SiteSimulator("mqtt://127.0.0.1:1", probes)
    opened_at = cleared_at = None
    for second in range(0, int(REPAIRED_S) + 60):
        if second % PERIOD == 0:
            intake.readings(Reading(sensor=p, metric="temperature", value=site.value(p, second), ts=clock.now)
                            for p in probes)
        intake.tick()
        with database.reader() as session:
            incidents = list(session.exec(select(Incident).order_by(col(Incident.id))))
        if incidents and opened_at is None:
            opened_at, first = second, incidents[0]
        if incidents and incidents[0].cleared_at is not None and cleared_at is None:
            cleared_at = second
        clock.advance(seconds=1)
    assert opened_at is not None and WARMING_STARTS_S < opened_at <= FIRST_INCIDENT_BY_S
    assert (first.severity, first.zone, first.playbook_id) == ("SEV2", "D1", "cold-chain-excursion")
    assert "for <1 min" in first.title_en
    assert cleared_at is not None and REPAIRED_S < cleared_at < REPAIRED_S + 60
    assert len(incidents) == 1  # the far probe follows, damped, and never alarms on its own
    assert clock.now - FakeClock.start == timedelta(seconds=int(REPAIRED_S) + 60)


async def test_the_web_chat_shows_the_demo_notice(sqlite_url: str) -> None:
    from bot.app import create_app
    from bot.demo import demo_settings

    async def get(settings: Settings, path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://wareroom") as http:
            return await http.get(path)

    demo = demo_settings().model_copy(update={"database_url": sqlite_url})
    assert (await get(demo, "/webchat/notice")).json() == {"text": "\n".join(CATALOGUE["demo_notice"])}
    assert 'id="notice"' in (await get(demo, "/")).text
    assert (await get(Settings(database_url=sqlite_url), "/webchat/notice")).json() == {"text": ""}
