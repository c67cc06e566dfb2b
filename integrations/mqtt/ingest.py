"""Glue between the subscriber and the intake: every message of a batch decoded and handled on its own.

Per-message isolation: a message that cannot be decoded (DecodeError: broken input, with the limit
it broke where one applies), or whose decoding or handling raises anything else (a poison message),
is kept as a dead letter with its text made storable and the reason, and the rest of its batch
proceeds; the whole batch is then acknowledged. If even the dead letter cannot be written, the
message is logged with its topic and a SHA-256 digest. Valid messages with nothing for the rules
(an empty retained payload, a bridge log, a Zigbee2MQTT attribute repeating its JSON) are counted.
"""

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from handlers.intake import Intake, Rejected
from incidents.readings import Reading
from integrations.mqtt.client import RawMessage
from integrations.mqtt.decode import DecodeError, MqttDecoder

log = logging.getLogger(__name__)

# Handlers for other topics (prefix → handler of the payload); a ValueError they raise refuses the message.
OtherTopics = Mapping[str, Callable[[bytes], object]]


@dataclass(frozen=True, slots=True)
class _Refused:
    message: RawMessage
    reason: str
    poison: bool


def digest(payload: bytes) -> str:
    """The SHA-256 of a payload, in hex: how a message that could not be stored is named in the log."""
    return hashlib.sha256(payload).hexdigest()


def batch_handler(intake: Intake, decoder: MqttDecoder | None = None, others: OtherTopics | None = None, *,
                  keep: Callable[[Reading], bool] | None = None,
                  rest: bool = True) -> Callable[[list[RawMessage]], None]:
    """A handler for :class:`MqttSubscriber` that feeds decoded readings to ``intake``; it never raises.

    Intake partitions (``integrations.mqtt.partitions``): only readings for which ``keep`` holds are fed;
    with ``rest`` False, what is not a reading (gateway states, broker drops, refused messages) is left to
    the partition that has ``rest``."""
    decoder = decoder or MqttDecoder()
    others = dict(others or {})
    prefixes = tuple(others)

    def handle(batch: list[RawMessage]) -> None:
        now = intake.ctx.now()
        refused: list[_Refused] = []
        groups: list[list[Reading]] = []
        owners: list[RawMessage] = []

        def feed() -> None:
            fed = intake.feed(groups)
            refused.extend(_Refused(owners[n], f"handling raised {_describe(exc)}", True) for n, exc in fed.failed)
            groups.clear()
            owners.clear()

        for message in batch:
            try:
                if prefixes and message.topic.startswith(prefixes):
                    other = next(h for prefix, h in others.items() if message.topic.startswith(prefix))
                    if groups:
                        feed()
                    try:
                        other(message.payload)
                    except ValueError as exc:  # the handler refused it (a stock event), with a reason
                        refused.append(_Refused(message, str(getattr(exc, "reason", exc)), False))
                    continue
                decoded = decoder.decode(message.topic, message.payload, now=now)
                if decoded.readings:
                    readings = decoded.readings if keep is None else [r for r in decoded.readings if keep(r)]
                    if readings:
                        groups.append(readings)
                        owners.append(message)
                    continue
                if not rest:
                    continue
                if decoded.gateway is not None or decoded.broker_dropped is not None:
                    if groups:
                        feed()  # in order: the readings before a gateway's state, then the state
                    if decoded.gateway is not None:
                        intake.gateway(decoded.gateway)
                    else:
                        intake.broker_dropped(decoded.broker_dropped or 0)
                elif decoded.ignored is not None:
                    intake.ignored(decoded.ignored)
            except DecodeError as exc:
                refused.append(_Refused(message, exc.reason, False))
            except Exception as exc:
                refused.append(_Refused(message, f"decoding or handling raised {_describe(exc)}", True))
        if groups:
            feed()
        settle(intake, refused, rest=rest)

    return handle


def settle(intake: Intake, refused: list["_Refused"], *, rest: bool) -> None:
    """Keep the refused messages of a batch; a partition without ``rest`` keeps only those whose handling
    raised (its own readings): a message no partition could read is the ``rest`` partition's to keep."""
    if not rest:
        refused = [r for r in refused if r.reason.startswith("handling raised")]
    if refused:
        keep_refused(intake, refused)


def keep_refused(intake: Intake, refused: list["_Refused"]) -> None:
    """Dead-letter refused messages; one that cannot be written is logged with its topic and digest."""
    intake.stats.poison += sum(r.poison for r in refused)
    rows = [Rejected("mqtt", r.message.topic, r.message.payload.decode("utf-8", "backslashreplace"), r.reason)
            for r in refused]
    try:
        intake.reject(rows)
        return
    except Exception:
        log.warning("writing %d dead letters together failed; trying one by one", len(rows))
    for row, item in zip(rows, refused, strict=True):
        try:
            intake.reject([row])
        except Exception as exc:
            intake.stats.dead_letter_failures += 1
            log.error("dead letter not written (%s): topic %r, %d bytes, sha256 %s: %s; acknowledged",
                      _describe(exc), item.message.topic, len(item.message.payload), digest(item.message.payload),
                      item.reason)


def _describe(exc: BaseException) -> str:
    text = str(exc).replace("\n", " ")
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__
