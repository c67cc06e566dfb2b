"""The FastAPI application and its lifespan: starts and stops every part in order."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI

from bot import api, db, health
from bot.bootstrap import Runtime, build
from bot.channels import dead_man
from bot.settings import Settings
from handlers.audit_watch import AuditWatch
from incidents import checkpoints, retention
from incidents.identity.sessions import Timeouts
from incidents.identity.tokens import Scope
from incidents.permissions import Permission
from integrations import contact_routes, evidence_routes, heartbeat, operations_routes
from integrations.action_executor import ActionExecutor
from integrations.export import routes as review_routes
from integrations.inventory import routes as stock_routes
from integrations.inventory.sink import STOCK_TOPIC_PREFIX
from integrations.mqtt.broker import EmbeddedBroker
from integrations.mqtt.broker_config import BrokerConfig
from integrations.mqtt.partitions import PartitionedIntake, Partitioning
from integrations.mqtt.publisher import ConfirmedPublisher
from integrations.operations_routes import ATTENDANCE_TOPIC_PREFIX, SCANS_TOPIC_PREFIX
from integrations.outbox_routes import build_router as outbox_router
from integrations.scheduler import NightlyAt
from integrations.webauth.admin import AdminPages
from integrations.webauth.caller import AuthConfig, WebAuth
from integrations.webauth.routes import WebPages
from integrations.webchat.fanout import PostgresFanout
from integrations.webchat.routes import build_router
from integrations.webhooks import routes as webhooks

log = logging.getLogger(__name__)
DEMO_PASSWORD = "wareroom-demo"  # every demo person's password, shown on the demo's sign-in page


def web_auth(runtime: Runtime) -> WebAuth:
    """The caller checks of every route, from the settings."""
    settings = runtime.settings
    config = AuthConfig(demo=settings.auth_mode == "demo",
                        timeouts=Timeouts(idle=timedelta(minutes=settings.session_idle_minutes),
                                          absolute=timedelta(hours=settings.session_absolute_hours)),
                        secure_cookies=settings.secure_cookies(), require_ingest_token=settings.require_ingest_token,
                        signin_per_minute=settings.signin_attempts_per_minute, base_url=settings.base_url(),
                        now=runtime.ctx.now)
    return WebAuth(runtime.db, config)


def audit_watch(runtime: Runtime) -> AuditWatch:
    """The audit watcher with its signing key (generated at first start, with a warning to back it up)."""
    path = runtime.settings.key_file()
    key, created = checkpoints.load_or_create_key(path)
    if created:
        log.warning("generated the audit signing key %s: BACK IT UP and keep it out of the database's backups; "
                    "without it the audit checkpoints cannot be checked", path)
    return AuditWatch(runtime.flow, key, runtime.settings.checkpoint_file())


async def _watch_audit(watch: AuditWatch, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await asyncio.to_thread(watch.tick)
        except Exception:
            log.exception("audit checkpoint failed; the next interval tries again")


async def _tick_rules(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(runtime.settings.rules_tick_seconds)
        try:
            runtime.intake.tick()
            runtime.staff.tick()  # check-ins missing by the deadline
        except Exception:
            log.exception("rules tick failed; the next tick runs as usual")


def _intake(runtime: Runtime, mqtt_url: str) -> PartitionedIntake:
    """The MQTT intake in partitions, each under a lease: stock events and every sensor layout to the intake."""

    def stock(payload: bytes) -> None:
        runtime.stock_events.receive(payload, source="mqtt")

    def attendance(payload: bytes) -> None:
        runtime.staff.receive(payload, source="mqtt")

    def scans(payload: bytes) -> None:
        operations_routes.scans_in(runtime.intake, payload)

    others = {STOCK_TOPIC_PREFIX: stock, ATTENDANCE_TOPIC_PREFIX: attendance, SCANS_TOPIC_PREFIX: scans}
    registry = runtime.intake.engine.registry
    partitioning = Partitioning({d: device.site for d, device in registry.devices.items()},
                                runtime.settings.mqtt_partitions)
    return PartitionedIntake(runtime.intake, runtime.layout, partitioning, url=mqtt_url,
                             client_id=runtime.settings.mqtt_client_id, others=others,
                             other_topics=[prefix + "#" for prefix in others], ca_file=runtime.settings.mqtt_ca_file)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole bot as one ASGI app."""
    settings = settings or Settings()
    runtime = build(settings)
    auth = web_auth(runtime)
    watch = audit_watch(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db.upgrade(runtime.db.url)
        verdict = await asyncio.to_thread(watch.tick, full=True)
        log.info("audit trail: %s", "intact, checkpoint signed" if verdict.ok else "ALTERED: " + "; ".join(
            verdict.problems))
        broker: EmbeddedBroker | None = None
        mqtt_url = settings.mqtt_url
        if not mqtt_url:
            broker = EmbeddedBroker()
            await broker.start()
            mqtt_url = broker.url
        app.state.mqtt_url = mqtt_url
        # Timers run where the scheduler lease is; it re-arms them from the database when taken.
        runtime.timers.start(on_escalation=runtime.flow.escalation_due, on_step=runtime.playbooks.timer_due,
                             on_reminder=runtime.flow.reminders.due, on_drill=runtime.router.drills.due,
                             rearm=runtime.flow.rearm_all, on_retention=lambda: retention.nightly(
                                 runtime.db, settings.retention_policy()),
                             nightly=NightlyAt(settings.retention_time.hour, settings.retention_time.minute,
                                               settings.site_timezone))
        publisher = ConfirmedPublisher(BrokerConfig.from_url(mqtt_url, ca_file=settings.mqtt_ca_file),
                                       mqtt5=broker is None)  # the embedded broker speaks MQTT 3.1.1
        executor = ActionExecutor(runtime.playbooks.actions, runtime.flow, publisher=publisher)
        runtime.ctx.wake_actions = executor.wake
        intake = _intake(runtime, mqtt_url)  # the holder of each partition reads it, and arms the dead-man
        app.state.intake = intake
        runtime.intake_leases = intake.leases(runtime.leases, holder=runtime.scheduler_lease.holder,
                                              ttl_seconds=settings.lease_ttl_seconds)
        for platform in runtime.chat:
            await platform.start()
        leases = runtime.lease_loops().items()
        tasks = [*(asyncio.create_task(loop.run(), name=f"lease-{name}") for name, loop in leases),
                 asyncio.create_task(executor.run(), name="actions"),
                 asyncio.create_task(_tick_rules(runtime), name="rules-tick"),
                 asyncio.create_task(_watch_audit(watch, settings.audit_checkpoint_seconds), name="audit"),
                 asyncio.create_task(dead_man(settings, runtime.heartbeats), name="dead-man")]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)  # a held lease is released on the way out
            for platform in runtime.chat:
                await platform.stop()
            await runtime.channels.close()
            runtime.timers.shutdown()
            if broker is not None:
                await broker.stop()
            try:
                await asyncio.to_thread(watch.tick)  # a last checkpoint at shutdown
            except Exception:
                log.exception("audit checkpoint at shutdown failed")
            runtime.leases.dispose()
            if isinstance(runtime.webchat.broadcaster, PostgresFanout):
                runtime.webchat.broadcaster.close()
            runtime.db.dispose()

    app = FastAPI(title="WareRoom", version="0.1.0", lifespan=lifespan,
                  description="Warehouse incidents: alerts in, playbook-driven chat threads out, audited.")
    app.state.runtime = runtime
    app.state.auth = auth
    app.state.audit_watch = watch
    _routes(app, runtime, auth)
    return app


def _routes(app: FastAPI, runtime: Runtime, auth: WebAuth) -> None:
    """Every route, each behind the caller check it needs."""
    settings = runtime.settings
    reader = auth.needs(Scope.READ, anonymous_in_demo=True)
    ingest = auth.needs(Scope.INGEST, anonymous=not settings.require_ingest_token or auth.config.demo)
    pages = WebPages(auth, runtime.playbooks, sso_label=settings.oidc_label if settings.oidc_issuer else "",
                     demo_password=DEMO_PASSWORD if auth.config.demo else "")
    pages.mount_static(app)
    app.include_router(pages.router())
    app.include_router(AdminPages(auth, timezone=settings.site_timezone).router())
    if settings.oidc_issuer:
        # Authlib's client brings httpx, and httpx its CLI's rich and Pygments (~6 MB): loaded only for single sign-on.
        from integrations.webauth.oidc import SingleSignOn, state_secret

        sso = SingleSignOn(auth, pages, issuer=settings.oidc_issuer, client_id=settings.oidc_client_id,
                           client_secret=settings.oidc_client_secret.get_secret_value()
                           if settings.oidc_client_secret else "")
        sso.install(app, secret=state_secret(settings.var_dir / "sso-state.key"))
    app.include_router(api.build_router(runtime, auth))
    app.include_router(health.build_router(runtime, broker_connected=lambda: health.broker_connected(app)))
    app.include_router(webhooks.build_router(runtime.intake, ingest, runtime.routing))
    app.include_router(heartbeat.build_router(runtime.heartbeats, ingest))
    for platform in runtime.chat:
        app.include_router(platform.routes(runtime.router))
    for router in runtime.channels.routers(runtime.contact_ack):
        app.include_router(router)
    app.include_router(contact_routes.build_router(runtime.db, runtime.contact_ack, runtime.channels.links,
                                                   runtime.channels.ports, auth.needs(Scope.ADMIN)))
    app.include_router(build_router(runtime.webchat, runtime.router, auth, runtime.intake,
                                    notice=settings.webchat_notice))
    app.include_router(outbox_router(runtime.db, auth.needs(Scope.ADMIN), runtime.dispatcher.wake))
    app.include_router(evidence_routes.build_router(runtime.router, runtime.evidence, auth))
    app.include_router(operations_routes.build_router(runtime.staff, runtime.intake, ingest))
    app.include_router(stock_routes.build_router(runtime.router.stock, runtime.stock_events, runtime.intake, reader,
                                                 ingest))
    app.include_router(review_routes.build_router(
        runtime.review, runtime.ctx.now,
        auth.needs_permission(Scope.READ, Permission.EXPORT_REVIEW, anonymous_in_demo=True)))
