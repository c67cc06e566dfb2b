"""The FastAPI application and its lifespan: starts and stops every part in order."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Cookie, FastAPI, Header, HTTPException

from bot import api, db
from bot.bootstrap import Runtime, build
from bot.settings import Settings
from integrations.action_executor import ActionExecutor
from integrations.export import routes as review_routes
from integrations.inventory import routes as stock_routes
from integrations.inventory.sink import STOCK_TOPIC_PREFIX
from integrations.mqtt.broker import EmbeddedBroker
from integrations.mqtt.client import MqttSubscriber
from integrations.mqtt.ingest import batch_handler
from integrations.webchat.routes import build_router
from integrations.webhooks import routes as webhooks

log = logging.getLogger(__name__)


def token_guard(settings: Settings) -> object:
    """A dependency that requires the API token (header or cookie) when one is configured."""

    def require(authorization: Annotated[str | None, Header()] = None,
                wareroom_token: Annotated[str | None, Cookie()] = None) -> None:
        if settings.api_token is None:
            return
        expected = settings.api_token.get_secret_value()
        given = (authorization or "").removeprefix("Bearer ").strip() or (wareroom_token or "")
        if given != expected:
            raise HTTPException(status_code=401, detail="需要有效的 API 令牌 / A valid API token is required")

    return require


async def _tick_rules(runtime: Runtime) -> None:
    while True:
        await asyncio.sleep(runtime.settings.rules_tick_seconds)
        try:
            runtime.intake.tick()
        except Exception:
            log.exception("rules tick failed; the next tick runs as usual")


def create_app(settings: Settings | None = None) -> FastAPI:
    """The whole bot as one ASGI app."""
    settings = settings or Settings()
    runtime = build(settings)
    guard = token_guard(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db.upgrade(runtime.db.url)
        broker: EmbeddedBroker | None = None
        mqtt_url = settings.mqtt_url
        if not mqtt_url:
            broker = EmbeddedBroker()
            await broker.start()
            mqtt_url = broker.url
        app.state.mqtt_url = mqtt_url
        runtime.timers.start(on_escalation=runtime.flow.escalation_due, on_step=runtime.playbooks.timer_due)
        log.info("re-armed %d pending escalations and step timers", runtime.flow.rearm_all())
        executor = ActionExecutor(runtime.playbooks.actions, runtime.flow, mqtt_url=mqtt_url)
        runtime.ctx.wake_actions = executor.wake

        def stock(payload: bytes) -> None:
            runtime.stock_events.receive(payload, source="mqtt")

        handle = batch_handler(runtime.intake, runtime.decoder, others={STOCK_TOPIC_PREFIX: stock})
        topics = [*runtime.decoder.layout.subscriptions(), STOCK_TOPIC_PREFIX + "#"]
        subscriber = MqttSubscriber(mqtt_url, client_id=settings.mqtt_client_id, topics=topics, handle=handle,
                                    on_connection=runtime.intake.connection)
        app.state.subscriber = subscriber
        runtime.intake.connection(False)  # arms the dead-man: a broker that never answers is noticed too
        await subscriber.start()
        for platform in runtime.chat:
            await platform.start()
        tasks = [asyncio.create_task(runtime.dispatcher.run(), name="outbox"),
                 asyncio.create_task(executor.run(), name="actions"),
                 asyncio.create_task(_tick_rules(runtime), name="rules-tick")]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await subscriber.stop()
            for platform in runtime.chat:
                await platform.stop()
            runtime.timers.shutdown()
            if broker is not None:
                await broker.stop()
            runtime.db.dispose()

    app = FastAPI(title="WareRoom", version="0.1.0", lifespan=lifespan,
                  description="Warehouse incidents: alerts in, playbook-driven chat threads out, audited.")
    app.state.runtime = runtime
    app.include_router(api.build_router(runtime, guard))
    app.include_router(webhooks.build_router(runtime.intake, guard, runtime.routing))
    for platform in runtime.chat:
        app.include_router(platform.routes(runtime.router))
    app.include_router(build_router(runtime.webchat, runtime.router, guard))
    app.include_router(stock_routes.build_router(runtime.router.stock, runtime.stock_events, runtime.intake, guard))
    app.include_router(review_routes.build_router(runtime.db, runtime.playbooks.library, settings.site_timezone,
                                                  runtime.ctx.now, guard))
    return app
