"""Builds the object graph from settings: ports → handlers → adapters. Wires; decides nothing."""

from dataclasses import dataclass

from bot.settings import Settings
from handlers.commands import ChatRouter
from handlers.context import CoreContext
from handlers.incident_flow import IncidentFlow
from handlers.intake import Intake
from handlers.notify import Notifier
from handlers.playbook_flow import PlaybookFlow
from handlers.ports import ChatPort
from incidents.database import Database
from incidents.escalation import load_escalation
from incidents.rules.config import load_registry, load_rules
from incidents.rules.engine import RuleEngine
from integrations.outbox_dispatcher import OutboxDispatcher
from integrations.scheduler import PersistentTimers
from integrations.webchat.adapter import Broadcaster, WebChat
from playbooks.loader import load_library


@dataclass
class Runtime:
    settings: Settings
    db: Database
    ctx: CoreContext
    flow: IncidentFlow
    playbooks: PlaybookFlow
    router: ChatRouter
    intake: Intake
    webchat: WebChat
    dispatcher: OutboxDispatcher
    timers: PersistentTimers


def build(settings: Settings) -> Runtime:
    """Everything the app runs, not yet started. Broken configuration raises here, before serving."""
    db = Database(settings.resolved_database_url())
    library = load_library(settings.playbook_dir)
    registry = load_registry(settings.devices_file)
    rules = load_rules(settings.rules_file, registry)
    timers = PersistentTimers(db.engine)
    broadcaster = Broadcaster()
    webchat = WebChat(db, broadcaster)
    ports: dict[str, ChatPort] = {webchat.platform: webchat}
    ctx = CoreContext(db=db, notifier=Notifier(tuple(ports)), escalation=load_escalation(settings.escalation_file),
                      timers=timers, timezone=settings.site_timezone)
    dispatcher = OutboxDispatcher(db, ports, poll_seconds=settings.dispatcher_poll_seconds)
    ctx.wake_outbox = dispatcher.wake
    playbooks = PlaybookFlow(ctx, library)
    flow = IncidentFlow(ctx, playbooks)
    return Runtime(settings=settings, db=db, ctx=ctx, flow=flow, playbooks=playbooks,
                   router=ChatRouter(ctx, flow, playbooks), intake=Intake(db, RuleEngine(rules, registry), flow),
                   webchat=webchat, dispatcher=dispatcher, timers=timers)
