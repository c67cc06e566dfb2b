"""Glue between the subscriber and the intake: decode each message, keep what cannot be decoded."""

from collections.abc import Callable

from handlers.intake import Intake, Rejected
from incidents.clock import utcnow
from incidents.readings import Reading
from integrations.mqtt.client import RawMessage
from integrations.mqtt.decode import DecodeError, decode


def batch_handler(intake: Intake) -> Callable[[list[RawMessage]], None]:
    """A handler for :class:`MqttSubscriber` that feeds decoded readings to ``intake``."""

    def handle(batch: list[RawMessage]) -> None:
        now = utcnow()
        readings: list[Reading] = []
        rejected: list[Rejected] = []
        for message in batch:
            try:
                readings.extend(decode(message.topic, message.payload, now=now))
            except DecodeError as exc:
                rejected.append(Rejected("mqtt", message.topic, message.payload.decode("utf-8", "replace"), str(exc)))
        intake.reject(rejected)
        intake.readings(readings)

    return handle
