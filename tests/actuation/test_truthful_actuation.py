"""Truthful actuation (issue 11, item 3): "start the standby generator" counts as done only when a real,
password-protected Mosquitto acknowledged it (PUBACK); a refusal is reported in the thread as a failure
with the reason, audited, and retried by a person; the person who asked cannot confirm it."""

import asyncio
import contextlib
import socket
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import col, select

from handlers.ports import ButtonClicked, CommandInvoked, Reply, UserRef
from incidents import directory
from incidents.database import Database
from incidents.tables import ActionRun, AuditEvent, OutboxMessage
from integrations.action_executor import ActionExecutor
from integrations.mqtt.broker_config import BrokerConfig
from integrations.mqtt.publisher import ConfirmedPublisher
from tests.actuation.conftest import Broker
from tests.conftest import FakeClock
from tests.factories import Core, make_core, seed_people

TOPIC = "wareroom/site/SH-01/generator/command"


def _people(database: Database) -> None:
    seed_people(database)
    with database.unit_of_work() as session:
        for name_zh, name_en, user in (("刘洋", "Liu Yang", "liuyang"), ("周涛", "Zhou Tao", "zhoutao"),
                                       ("吴刚", "Wu Gang", "wugang")):
            directory.add_person(session, name_zh=name_zh, name_en=name_en, roles=["MT"],
                                 identities=[("webchat", user)])


class Chat:
    def __init__(self, core: Core, clock: FakeClock) -> None:
        self.core, self.clock, self.count = core, clock, 0

    def command(self, user: str, text: str, incident_id: int | None = None) -> Reply:
        self.count += 1
        name, *args = text.lstrip("/").split()
        return self.core.router.handle(CommandInvoked(
            platform="webchat", dedupe_key=f"c{self.count}", actor=UserRef("webchat", user), thread=None,
            received_at=self.clock.now, incident_id=incident_id, name=name, args=tuple(args)))

    def click(self, user: str, token: str) -> Reply:
        self.count += 1
        return self.core.router.handle(ButtonClicked(
            platform="webchat", dedupe_key=f"b{self.count}", actor=UserRef("webchat", user), thread=None,
            received_at=self.clock.now, token=token))


def _generator_requested(chat: Chat) -> tuple[int, int]:
    """A declared power loss where the generator did not pick up the load: the start command awaits an MT."""
    declared = chat.command("wangwei", "/incident 停电 POWER")
    assert declared.ok, declared.text
    incident_id = int(declared.text.split()[0].lstrip("#"))
    assert chat.command("liuyang", "/done scope site_wide", incident_id).ok
    assert chat.command("liuyang", "/done generator-check 否", incident_id).ok
    with chat.core.ctx.db.reader() as session:
        run = session.exec(select(ActionRun).where(ActionRun.step_id == "start-generator")).one()
    assert run.id is not None and run.status == "awaiting_confirmation"
    return incident_id, run.id


async def _execute(core: Core, publisher: ConfirmedPublisher, run_id: int) -> ActionRun:
    """Run the executor until the run leaves pending/running."""
    executor = ActionExecutor(core.playbooks.actions, core.flow, publisher=publisher, poll_seconds=0.05)
    task = asyncio.create_task(executor.run())
    try:
        for _ in range(400):
            await asyncio.sleep(0.05)
            with core.ctx.db.reader() as session:
                run = session.get(ActionRun, run_id)
            assert run is not None
            if run.status not in ("pending", "running"):
                return run
        raise AssertionError("the action never finished")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _listen(broker: Broker) -> tuple[mqtt.Client, list[bytes]]:
    received: list[bytes] = []
    listener = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="actuation-test-listener")
    listener.username_pw_set(broker.user, broker.password)
    subscribed = threading.Event()
    listener.on_message = lambda _c, _u, message: received.append(bytes(message.payload))
    listener.on_subscribe = lambda *_: subscribed.set()
    listener.on_connect = lambda client, *_: client.subscribe(TOPIC, qos=1)
    listener.connect("127.0.0.1", broker.port)
    listener.loop_start()
    assert subscribed.wait(5)
    return listener, received


async def test_a_refused_publish_is_a_failure_and_a_retry_with_the_right_password_is_done(
        sqlite_url: str, password_broker: Broker, clock: FakeClock) -> None:
    database = Database(sqlite_url)
    _people(database)
    core = make_core(database, now=clock)
    chat = Chat(core, clock)
    incident_id, run_id = _generator_requested(chat)
    token = f"v1:act:{incident_id}:{run_id}"
    assert chat.click("zhoutao", token).ok
    listener, received = _listen(password_broker)
    try:
        wrong = BrokerConfig("127.0.0.1", password_broker.port, password_broker.user, "not-the-password")
        run = await _execute(core, ConfirmedPublisher(wrong, timeout_seconds=5), run_id)
        assert run.status == "failed" and run.error is not None and "Not authorized" in run.error, run.error
        with database.reader() as session:
            posts = [o.payload["message"] for o in session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
                     if o.op == "post"]
            failed = session.exec(select(AuditEvent).where(AuditEvent.action == "action.failed")).one()
        assert not any(m["title"].startswith("已执行") for m in posts)  # never "Done"
        failure = next(m for m in posts if m["title"].startswith("执行失败"))
        assert "Not authorized" in failure["title"]
        assert failure["buttons"][0]["token"] == f"v1:retry:{incident_id}:{run_id}"
        assert failed.after is not None and "Not authorized" in failed.after["error"]
        assert received == []
        # the person who asked for it may not retry it either; another technician may
        assert not chat.click("liuyang", f"v1:retry:{incident_id}:{run_id}").ok
        assert chat.click("wugang", f"v1:retry:{incident_id}:{run_id}").ok
        right = BrokerConfig("127.0.0.1", password_broker.port, password_broker.user, password_broker.password)
        run = await _execute(core, ConfirmedPublisher(right, timeout_seconds=5), run_id)
        assert run.status == "done" and run.error is None
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
        assert received == [b'{"command": "start", "reason": "power_loss"}']
        with database.reader() as session:
            done = session.exec(select(AuditEvent).where(AuditEvent.action == "action.executed")).one()
        assert done.after is not None and done.after["detail"] == f"PUBACK {TOPIC}"
    finally:
        listener.loop_stop()
        listener.disconnect()


async def test_an_unreachable_broker_is_a_failure_with_the_reason(sqlite_url: str, clock: FakeClock) -> None:
    database = Database(sqlite_url)
    _people(database)
    core = make_core(database, now=clock)
    chat = Chat(core, clock)
    incident_id, run_id = _generator_requested(chat)
    assert chat.click("zhoutao", f"v1:act:{incident_id}:{run_id}").ok
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    run = await _execute(core, ConfirmedPublisher(BrokerConfig("127.0.0.1", closed), timeout_seconds=2), run_id)
    assert run.status == "failed" and run.error is not None and "cannot reach the broker" in run.error


def test_a_self_confirmed_actuation_is_refused(database: Database, clock: FakeClock) -> None:
    _people(database)
    core = make_core(database, now=clock)
    chat = Chat(core, clock)
    incident_id, run_id = _generator_requested(chat)
    token = f"v1:act:{incident_id}:{run_id}"
    own = chat.click("liuyang", token)  # his answer asked for the generator
    assert not own.ok and "four eyes" in own.text
    # Zhou Tao completes the generator step himself: he may not also confirm its command
    done = chat.command("zhoutao", "/done start-generator 80", incident_id)
    assert done.ok, done.text
    completer = chat.click("zhoutao", token)
    assert not completer.ok and "four eyes" in completer.text
    with database.reader() as session:
        refusals = session.exec(select(AuditEvent).where(AuditEvent.action == "access.refused",
                                                         AuditEvent.object_type == "action")).all()
        assert session.get(ActionRun, run_id).status == "awaiting_confirmation"  # type: ignore[union-attr]
    assert len(refusals) == 2
    assert chat.click("wugang", token).ok  # a second, different technician
