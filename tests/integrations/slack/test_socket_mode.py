"""Slack Socket Mode: bolt's aiohttp Socket Mode client against the fake Slack's websocket, wired by bootstrap."""

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlmodel import col, select

from bot.bootstrap import ChatPlatform, chat_platforms
from bot.settings import Settings
from incidents.database import Database
from incidents.tables import AuditEvent, Incident
from integrations.outbox_dispatcher import OutboxDispatcher
from tests.factories import Core, make_core, make_signal, seed_people
from tests.fakes.live_server import live_server, until
from tests.fakes.slack_api import FakeSlack, click_body, socket_envelope, thread_message_body

CHANNEL = "C-OPS"


@dataclass
class Rig:
    fake: FakeSlack
    core: Core
    db: Database
    platform: ChatPlatform
    dispatcher: OutboxDispatcher

    async def deliver(self) -> None:
        while await self.dispatcher.drain_once():
            pass

    async def open(self) -> tuple[int, str]:
        incident_id = self.core.flow.on_signal(make_signal())
        assert incident_id is not None
        await self.deliver()
        root_ts = next(ts for (_, ts), m in self.fake.messages.items() if m["thread_ts"] is None)
        return incident_id, root_ts


@pytest.fixture
def fake() -> Iterator[tuple[FakeSlack, str]]:
    slack = FakeSlack()
    with live_server(slack.app) as url:
        yield slack, url


@pytest.fixture
async def rig(fake: tuple[FakeSlack, str], sqlite_url: str) -> AsyncIterator[Rig]:
    slack, url = fake
    db = Database(sqlite_url)
    seed_people(db)
    core = make_core(db, platforms=("slack",))
    settings = Settings(_env_file=None, slack_bot_token="xoxb-test", slack_channel=CHANNEL,
                        slack_app_token="xapp-1-A1-test", slack_api_url=f"{url}/api")
    [platform] = chat_platforms(settings, db)
    yield Rig(slack, core, db, platform, OutboxDispatcher(db, {"slack": platform.port}))
    await platform.stop()
    db.dispose()


def _click_payload(*, user: str, root_ts: str, token: str, action_ts: str) -> dict[str, Any]:
    body = click_body(user=user, channel=CHANNEL, message_ts=root_ts, token=token, action_ts=action_ts)
    return dict(json.loads(dict(parse_qsl(body))["payload"]))


def _status(db: Database, incident_id: int) -> str:
    with db.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return incident.status


def _acks(db: Database) -> list[str]:
    with db.reader() as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.acknowledge")
                            .order_by(col(AuditEvent.id))).all()
    return [row.platform_user_id or "" for row in rows]


async def test_socket_mode_serves_no_http_endpoint_and_connects_with_the_app_token(rig: Rig) -> None:
    assert rig.platform.routes(rig.core.router).routes == []
    await rig.platform.start()
    await until(lambda: bool(rig.fake.called("apps.connections.open")))
    assert [c.method for c in rig.fake.calls] == ["apps.connections.open"]


async def test_a_button_click_envelope_is_acked_and_acknowledges_the_incident(rig: Rig) -> None:
    rig.platform.routes(rig.core.router)
    incident_id, root_ts = await rig.open()
    click = _click_payload(user="U-wangwei", root_ts=root_ts, token=f"v1:ack:{incident_id}", action_ts="1700000500.1")
    rig.fake.socket_envelopes.append(socket_envelope("env-1", "interactive", click))
    await rig.platform.start()
    await until(lambda: bool(rig.fake.called("chat.postEphemeral")))
    assert rig.fake.socket_acks == [{"envelope_id": "env-1"}]
    [ephemeral] = rig.fake.called("chat.postEphemeral")
    assert (ephemeral["user"], ephemeral["thread_ts"], ephemeral["text"]) == (
        "U-wangwei", root_ts, "王伟 Wang Wei 已确认事件。\n王伟 Wang Wei acknowledged the incident.")
    assert _status(rig.db, incident_id) == "acknowledged"
    assert _acks(rig.db) == ["U-wangwei"]
    await rig.deliver()
    [update] = [u for u in rig.fake.called("chat.update") if u["ts"] == root_ts]
    assert "已确认 Acknowledged" in update["text"]


async def test_a_first_event_delivery_acts_and_its_redelivery_is_recognised(rig: Rig) -> None:
    rig.platform.routes(rig.core.router)
    incident_id, root_ts = await rig.open()
    event = json.loads(thread_message_body(event_id="Ev1", user="U-lina", channel=CHANNEL, thread_ts=root_ts,
                                           text="认领"))
    rig.fake.socket_envelopes += [socket_envelope("env-1", "events_api", event, retry_attempt=0),
                                  socket_envelope("env-2", "events_api", event, retry_attempt=1)]
    await rig.platform.start()
    await until(lambda: len(rig.fake.socket_acks) == 2 and len(rig.fake.called("chat.postEphemeral")) == 2)
    assert sorted(a["envelope_id"] for a in rig.fake.socket_acks) == ["env-1", "env-2"]
    assert sorted(e["text"].split("\n")[0] for e in rig.fake.called("chat.postEphemeral")) == [
        "李娜 Li Na 已确认事件。", "该操作已处理。"]
    assert _status(rig.db, incident_id) == "acknowledged"
    assert _acks(rig.db) == ["U-lina"]
