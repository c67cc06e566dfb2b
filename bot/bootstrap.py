"""Builds the object graph from settings: ports → handlers → adapters. Wires; decides nothing."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from fastapi import APIRouter

from bot.channels import ContactChannels, build_channels
from bot.evidence import evidence_policy, evidence_store
from bot.heap import trim
from bot.reviews import review_exporter
from bot.settings import Settings
from handlers import i18n
from handlers.commands import ChatRouter
from handlers.contact_ack import ContactAck
from handlers.context import CoreContext
from handlers.evidence_flow import EvidenceFlow
from handlers.heartbeats import HeartbeatWatch
from handlers.incident_flow import IncidentFlow
from handlers.intake import Intake
from handlers.notify import Notifier
from handlers.playbook_flow import PlaybookFlow
from handlers.ports import ChatPort
from handlers.staff_desk import StaffDesk
from incidents.database import Database
from incidents.escalation import load_escalation
from incidents.leases import HeldLease, LeaseBackend, backend_for, holder_id
from incidents.rules.config import AlertmanagerRouting, load_registry, load_rules_file
from incidents.rules.engine import RuleEngine
from incidents.staffing import load_staffing
from integrations.export.routes import ReviewExporter
from integrations.fallback_watch import FallbackWatch
from integrations.inventory.sink import StockEventSink
from integrations.lease_loop import LeaseLoop
from integrations.mqtt.layouts import TopicLayout
from integrations.outbound import RateLimitedChat
from integrations.outbox_dispatcher import OutboxDispatcher
from integrations.scheduler import SCHEDULER_LEASE, PersistentTimers
from integrations.webchat.adapter import WebChat
from integrations.webchat.fanout import broadcaster_for
from playbooks.loader import load_library

CONTACTS_LEASE = "outbox:contacts"
"""The lease under which SMS, calls, e-mail (the contact dispatcher) and the chat fallback watch run: one process
at a time, like each chat platform's ``outbox:<platform>``."""


async def _nothing() -> None:
    return None


@dataclass
class ChatPlatform:
    """An enabled chat adapter: its outbound port, its inbound routes (given the router), start and stop."""

    port: ChatPort
    routes: Callable[[ChatRouter], APIRouter]
    start: Callable[[], Awaitable[None]] = _nothing
    stop: Callable[[], Awaitable[None]] = _nothing


def chat_platforms(settings: Settings, db: Database) -> list[ChatPlatform]:
    """Slack, Telegram and WeCom, each switched on when its credentials are set; one notification-only
    platform per Apprise URL. A platform's SDK is imported only when that platform is configured (the chat
    SDKs weigh about 32 MB of resident memory together)."""
    found: list[ChatPlatform] = []
    inbound_slack = settings.slack_signing_secret or settings.slack_app_token
    if settings.slack_bot_token and settings.slack_channel and inbound_slack:
        found.append(_slack(settings))
    telegram = settings.telegram_bot_token and settings.telegram_chat_id
    if telegram and (settings.telegram_mode == "polling" or settings.telegram_webhook_secret):
        found.append(_telegram(settings))
    if (settings.wecom_corp_id and settings.wecom_secret and settings.wecom_agent_id and settings.wecom_token
            and settings.wecom_aes_key):
        found.append(_wecom(settings, db))
    if settings.apprise_urls:
        from integrations.apprise_notify.adapter import AppriseNotify

        found += [ChatPlatform(AppriseNotify(f"apprise-{n}", url), lambda _router: APIRouter())
                  for n, url in enumerate(settings.apprise_urls, start=1)]
    return found


def _slack(settings: Settings) -> ChatPlatform:
    """Slack over Socket Mode when the app token is set, else over signed HTTP callbacks."""
    from slack_sdk.web.async_client import AsyncWebClient

    from integrations.slack import inbound as slack_inbound
    from integrations.slack import routes as slack_routes
    from integrations.slack.adapter import SlackChat
    from integrations.slack.socket_mode import SlackSocketMode

    assert settings.slack_bot_token and settings.slack_channel  # checked by chat_platforms
    public = settings.base_url()
    slack = AsyncWebClient(token=settings.slack_bot_token.get_secret_value(),
                           base_url=settings.slack_api_url.rstrip("/") + "/")  # without the slash the path is lost
    port = RateLimitedChat(SlackChat(slack, settings.slack_channel), public_url=public)
    if settings.slack_app_token:  # Socket Mode: no public URL needed
        socket_mode = SlackSocketMode(slack, settings.slack_app_token.get_secret_value())
        return ChatPlatform(port, socket_mode.routes, start=socket_mode.start, stop=socket_mode.stop)
    assert settings.slack_signing_secret  # checked by chat_platforms
    signing = settings.slack_signing_secret.get_secret_value()
    return ChatPlatform(port, lambda router: slack_routes.build_router(slack_inbound.build_app(slack, signing, router)))


def _telegram(settings: Settings) -> ChatPlatform:
    """Telegram by long polling (``telegram_mode == "polling"``), else by webhook."""
    from telegram import Bot

    from integrations.telegram import routes as telegram_routes
    from integrations.telegram.adapter import TelegramChat
    from integrations.telegram.inbound import TelegramInbound
    from integrations.telegram.photos import file_url
    from integrations.telegram.polling import ALLOWED_UPDATES, TelegramPolling

    assert settings.telegram_bot_token and settings.telegram_chat_id  # checked by chat_platforms
    public = settings.base_url()
    bot = Bot(settings.telegram_bot_token.get_secret_value(), base_url=settings.telegram_api_url,
              base_file_url=file_url(settings.telegram_api_url))
    port = RateLimitedChat(TelegramChat(bot, settings.telegram_chat_id), public_url=public)
    if settings.telegram_mode == "polling":
        polling = TelegramPolling(bot)
        return ChatPlatform(port, polling.routes, start=polling.start, stop=polling.stop)
    assert settings.telegram_webhook_secret  # checked by chat_platforms
    webhook_secret = settings.telegram_webhook_secret.get_secret_value()

    async def start_telegram() -> None:
        await bot.initialize()  # getMe: the bot's username, for ``/cmd@bot`` in groups
        if settings.public_url:  # Telegram calls only a public HTTPS address
            await bot.set_webhook(f"{public}/telegram/webhook", secret_token=webhook_secret,
                                  allowed_updates=list(ALLOWED_UPDATES))

    return ChatPlatform(port, lambda router: telegram_routes.build_router(TelegramInbound(bot, router), webhook_secret),
                        start=start_telegram, stop=bot.shutdown)


def _wecom(settings: Settings, db: Database) -> ChatPlatform:
    """WeCom (企业微信): the agent's API client and the encrypted callback."""
    from wechatpy.enterprise.crypto import WeChatCrypto

    from integrations.wecom import routes as wecom_routes
    from integrations.wecom.adapter import WeComChat, WeComClient
    from integrations.wecom.inbound import WeComInbound

    assert settings.wecom_secret and settings.wecom_agent_id and settings.wecom_token and settings.wecom_aes_key
    if not settings.wecom_agent_id.isdigit():
        raise ValueError(f"WAREROOM_WECOM_AGENT_ID must be a number, got {settings.wecom_agent_id!r}")
    agent = int(settings.wecom_agent_id)
    wecom = WeComClient(settings.wecom_corp_id, settings.wecom_secret.get_secret_value(),
                        api_url=settings.wecom_api_url)
    crypto = WeChatCrypto(settings.wecom_token.get_secret_value(), settings.wecom_aes_key.get_secret_value(),
                          settings.wecom_corp_id)
    callbacks: list[WeComInbound] = []

    def wecom_router(router: ChatRouter) -> APIRouter:
        callbacks.append(WeComInbound(crypto, wecom, agent, router))
        return wecom_routes.build_router(callbacks[-1])

    async def stop_wecom() -> None:
        for inbound in callbacks:
            await inbound.drain()

    return ChatPlatform(RateLimitedChat(WeComChat(wecom, db, agent), public_url=settings.base_url()),
                        wecom_router, stop=stop_wecom)


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
    stock_events: StockEventSink
    review: ReviewExporter
    leases: LeaseBackend
    scheduler_lease: LeaseLoop
    outbox_leases: dict[str, LeaseLoop]  # one per configured platform, by lease name
    layout: TopicLayout  # where sensors publish: every intake partition reads all of it
    routing: AlertmanagerRouting
    channels: ContactChannels
    contact_ack: ContactAck
    evidence: EvidenceFlow
    heartbeats: HeartbeatWatch
    staff: StaffDesk
    chat: list[ChatPlatform] = field(default_factory=list)
    intake_leases: dict[str, LeaseLoop] = field(default_factory=dict)  # the MQTT partitions, once the broker is known

    def lease_loops(self) -> dict[str, LeaseLoop]:
        """Every lease this process contends for, by lease name: what the app runs and ``/livez`` reports."""
        return {self.scheduler_lease.name: self.scheduler_lease, **self.outbox_leases, **self.intake_leases}


def build(settings: Settings) -> Runtime:
    """Everything the app runs, not yet started. Broken configuration raises here, before serving."""
    i18n.configure(shared=settings.thread_language, extra_dirs=settings.locale_dirs)
    db = Database(settings.resolved_database_url())
    library = load_library(settings.playbook_dir)
    registry = load_registry(settings.devices_file)
    rules = load_rules_file(settings.rules_file, registry)
    timers = PersistentTimers(db.engine, poll_seconds=settings.scheduler_poll_seconds)
    leases = backend_for(db.url)
    holder = holder_id()
    broadcaster = broadcaster_for(db)  # across processes on PostgreSQL
    webchat = WebChat(db, broadcaster)
    ports: dict[str, ChatPort] = {webchat.platform: webchat}
    chat = chat_platforms(settings, db)
    ports.update({platform.port.platform: platform.port for platform in chat})
    channels = build_channels(settings, db)
    ctx = CoreContext(db=db, notifier=Notifier(tuple(ports)), escalation=load_escalation(settings.escalation_file),
                      timers=timers, timezone=settings.site_timezone, public_url=settings.base_url(),
                      contact_channels=tuple(channels.ports))
    dispatcher = OutboxDispatcher(db, ports, poll_seconds=settings.dispatcher_poll_seconds,
                                  on_outcome=channels.health.record)

    def wake_outbox() -> None:
        dispatcher.wake()
        channels.dispatcher.wake()

    ctx.wake_outbox = wake_outbox
    playbooks = PlaybookFlow(ctx, library)
    flow = IncidentFlow(ctx, playbooks)
    intake = Intake(db, RuleEngine(rules.rules, registry), flow, grouping=rules.grouping, inhibit=rules.inhibit,
                    system=rules.system)
    store = evidence_store(settings)
    evidence = EvidenceFlow(ctx, playbooks, store, evidence_policy(settings))
    router = ChatRouter(ctx, flow, playbooks, public_url=settings.base_url(), evidence=evidence)
    staff = StaffDesk(flow, load_staffing(settings.staffing_file))
    for name, command in {**intake.commands(), **staff.commands()}.items():
        router.register(name, command)
    ttl = settings.lease_ttl_seconds

    async def contacts(_lease: HeldLease) -> None:
        await asyncio.gather(channels.dispatcher.run(),
                             FallbackWatch(ctx, channels.health, poll_seconds=settings.dispatcher_poll_seconds,
                                           wake=wake_outbox).run())

    outbox_leases = dispatcher.leases(leases, holder=holder, ttl_seconds=ttl)
    outbox_leases[CONTACTS_LEASE] = LeaseLoop(leases, name=CONTACTS_LEASE, holder=holder, ttl_seconds=ttl,
                                              work=contacts)
    trim()  # the parsers' freed memory (the registry's YAML nodes) back to the OS
    return Runtime(settings=settings, db=db, ctx=ctx, flow=flow, playbooks=playbooks,
                   router=router, intake=intake,
                   webchat=webchat, dispatcher=dispatcher, timers=timers,
                   stock_events=StockEventSink(db, intake, now=ctx.now), layout=settings.topic_layout(),
                   routing=rules.alertmanager, channels=channels, contact_ack=ContactAck(ctx, flow),
                   evidence=evidence, staff=staff,
                   heartbeats=HeartbeatWatch(flow, settings.expected_heartbeats),
                   review=review_exporter(settings, db, library, registry, store), chat=chat, leases=leases,
                   scheduler_lease=LeaseLoop(leases, name=SCHEDULER_LEASE, holder=holder, ttl_seconds=ttl,
                                             work=timers.hold),
                   outbox_leases=outbox_leases)
