"""``wareroom demo``: the whole loop on one machine with no tokens.

Embedded MQTT broker (a free port when 1883 is taken), SQLite under ./var/demo, the web chat,
a demo directory of people, and a simulated site whose cold room D1 warms up.
"""

import asyncio
import logging

import uvicorn
from sqlmodel import select

from bot import db
from bot.app import DEMO_PASSWORD, create_app
from bot.settings import PROJECT_ROOT, Settings
from handlers.text import say
from incidents import directory
from incidents.actors import SYSTEM
from incidents.clock import utcnow
from incidents.database import Database
from incidents.identity import passwords
from incidents.inventory.demo import load_demo_stock
from incidents.rules.config import load_registry
from incidents.tables import Person
from integrations.mqtt.broker import pick_port
from integrations.mqtt.simulator import SiteSimulator

log = logging.getLogger(__name__)

DEMO_PEOPLE = [
    ("王伟", "Wang Wei", ["SL"], "wangwei"),
    ("李娜", "Li Na", ["WM"], "lina"),
    ("张敏", "Zhang Min", ["QA"], "zhangmin"),
    ("刘洋", "Liu Yang", ["MT"], "liuyang"),
    ("陈静", "Chen Jing", ["OD"], "chenjing"),
    ("赵磊", "Zhao Lei", ["SO", "FW"], "zhaolei"),
]


def demo_settings() -> Settings:
    """Demo defaults; any WAREROOM_* variable still wins."""
    settings = Settings()
    overrides: dict[str, object] = {}
    if "database_url" not in settings.model_fields_set:
        overrides["var_dir"] = settings.var_dir / "demo"
    if "rules_file" not in settings.model_fields_set:
        overrides["rules_file"] = PROJECT_ROOT / "config" / "demo" / "rules.yaml"
    if "escalation_file" not in settings.model_fields_set:
        overrides["escalation_file"] = PROJECT_ROOT / "config" / "demo" / "escalation.yaml"
    if "http_port" not in settings.model_fields_set:
        overrides["http_port"] = pick_port(settings.http_host, 8000)
    if "webchat_notice" not in settings.model_fields_set:
        overrides["webchat_notice"] = say("demo_notice")
    overrides["rules_tick_seconds"] = 1.0
    overrides["auth_mode"] = "demo"  # pick-a-person, said plainly on screen
    return settings.model_copy(update=overrides)


def seed_people(database: Database) -> None:
    """Add the demo responders once, each with a web chat identity, a login and the demo password
    (so that signing in and electronic signatures can be tried); 李娜 (WM) is also the admin."""
    with database.unit_of_work() as session:
        if session.exec(select(Person.id).limit(1)).first() is not None:
            return
        for name_zh, name_en, roles, user in DEMO_PEOPLE:
            person = directory.add_person(session, name_zh=name_zh, name_en=name_en, roles=roles, login=user,
                                          identities=[("webchat", user)], admin=user == "lina")
            assert person.id is not None
            passwords.set_password(session, person_id=person.id, password=DEMO_PASSWORD, by=SYSTEM, now=utcnow())


async def _serve(settings: Settings, play_scenario: bool) -> None:
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.http_host, port=settings.http_port, log_level="info"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            return
        await asyncio.sleep(0.1)
    print(f"\n  WareRoom demo: open http://{settings.http_host}:{settings.http_port}/  (Ctrl+C stops)\n\n"
          f"  {settings.webchat_notice.replace(chr(10), chr(10) + '  ')}\n", flush=True)
    simulation = None
    if play_scenario:
        registry = load_registry(settings.devices_file)
        probes = [d for d, dev in registry.devices.items() if dev.kind == "temperature-probe"]
        simulation = asyncio.create_task(SiteSimulator(app.state.mqtt_url, probes).run())
    try:
        await serving
    finally:
        if simulation is not None:
            simulation.cancel()


def run_demo(*, play_scenario: bool = True) -> None:
    """Set up and serve the demo until interrupted."""
    settings = demo_settings()
    url = settings.resolved_database_url()
    db.upgrade(url)
    database = Database(url)
    seed_people(database)
    with database.unit_of_work() as session:
        load_demo_stock(session, now=utcnow())
    database.dispose()
    asyncio.run(_serve(settings, play_scenario))
