"""Publishing a command and knowing that the broker took it (issue 11, item 3).

Each publish opens its own connection with the configured credentials and TLS, waits for the broker's
CONNACK, publishes at QoS 1 and returns only on the PUBACK; a refused login, a refused publish (an MQTT 5
PUBACK reason code such as "Not authorized"), a timeout or a lost connection raises ``PublishFailed``
with the reason. A command is reported done only when this returned (MQTT 3.1.1 §4.3.2, MQTT 5 §3.4.2.1).
"""

import asyncio
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from integrations.mqtt.broker_config import BrokerConfig


class PublishFailed(Exception):
    """The broker did not confirm the publish; the message says why (bilingual)."""


def _settle(future: "asyncio.Future[Any]", *, error: Exception | None = None, value: object = None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class ConfirmedPublisher:
    def __init__(self, broker: BrokerConfig, *, timeout_seconds: float = 10.0, mqtt5: bool = True) -> None:
        """``mqtt5`` False for a broker that speaks only MQTT 3.1.1 (the embedded demo broker)."""
        self.broker = broker
        self.timeout_seconds = timeout_seconds
        self.protocol = mqtt.MQTTv5 if mqtt5 else mqtt.MQTTv311

    async def publish(self, topic: str, payload: str) -> str:
        """Publish at QoS 1; returns ``PUBACK <topic>`` once the broker confirmed it, else PublishFailed."""
        loop = asyncio.get_running_loop()
        connected: asyncio.Future[None] = loop.create_future()
        acked: asyncio.Future[None] = loop.create_future()
        awaited = [connected]  # what a lost connection fails: the step under way, never one not reached

        def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
            error = PublishFailed(f"代理拒绝连接 / the broker refused the connection: {reason}") \
                if reason.is_failure else None
            loop.call_soon_threadsafe(lambda: _settle(connected, error=error))

        def on_publish(_c: mqtt.Client, _u: object, _mid: int, reason: ReasonCode, _p: object) -> None:
            error = PublishFailed(f"代理拒绝发布 / the broker refused the publish: {reason}") \
                if reason.is_failure else None
            loop.call_soon_threadsafe(lambda: _settle(acked, error=error))

        def on_disconnect(_c: mqtt.Client, _u: object, _f: object, reason: ReasonCode, _p: object) -> None:
            error = PublishFailed(f"与代理的连接断开 / the connection to the broker was lost: {reason}")
            loop.call_soon_threadsafe(lambda: _settle(awaited[0], error=error))

        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=self.protocol)
        self.broker.apply(client)
        client.on_connect, client.on_publish, client.on_disconnect = on_connect, on_publish, on_disconnect
        try:
            try:
                await asyncio.to_thread(client.connect, self.broker.host, self.broker.port, 30)
            except OSError as exc:
                raise PublishFailed(f"无法连接代理 / cannot reach the broker {self.broker.host}:{self.broker.port}: "
                                    f"{exc}") from exc
            client.loop_start()
            await self._wait(connected, "CONNACK")
            awaited[0] = acked
            info = client.publish(topic, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise PublishFailed(f"发布失败 / the publish failed: {mqtt.error_string(info.rc)}")
            await self._wait(acked, "PUBACK")
        finally:
            client.on_disconnect = None
            client.disconnect()
            client.loop_stop()
        return f"PUBACK {topic}"

    async def _wait(self, future: "asyncio.Future[None]", what: str) -> None:
        try:
            await asyncio.wait_for(future, timeout=self.timeout_seconds)
        except TimeoutError as exc:
            raise PublishFailed(f"{self.timeout_seconds:g} 秒内未收到 {what} / no {what} from the broker within "
                                f"{self.timeout_seconds:g} s") from exc
