"""The corpus of real payloads (tests/payloads/real/corpus.yaml): loading, and building a decoder per entry."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from integrations.mqtt.decode import MqttDecoder
from integrations.mqtt.layouts import TopicLayout

REAL = Path(__file__).resolve().parent.parent / "payloads" / "real"
CORPUS: dict[str, Any] = yaml.safe_load((REAL / "corpus.yaml").read_text(encoding="utf-8"))
DEVICES = REAL / "devices.yaml"


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    expect: dict[str, Any]


def mqtt_entries() -> list[dict[str, Any]]:
    """The MQTT entries of the corpus."""
    return list(CORPUS["mqtt"])


def webhook_entries() -> list[dict[str, Any]]:
    """The webhook entries of the corpus."""
    return list(CORPUS["webhooks"])


def messages(entry: dict[str, Any]) -> list[Message]:
    """An entry's messages, in order, with their payloads read."""
    return [Message(m["topic"], (REAL / m["file"]).read_bytes(), m) for m in entry["messages"]]


def layout(entry: dict[str, Any]) -> TopicLayout:
    """The topic layout an entry's site uses (the defaults unless it says otherwise)."""
    given = entry.get("layout", {})
    return TopicLayout.build(given.get("zigbee2mqtt", ["zigbee2mqtt"]), given.get("tasmota", ["%prefix%/%topic%/"]))


def decoder(entry: dict[str, Any]) -> MqttDecoder:
    """A fresh decoder for an entry."""
    return MqttDecoder(layout(entry))


def body(entry: dict[str, Any]) -> bytes:
    """A webhook entry's body."""
    path: Path = REAL / str(entry["file"])
    return path.read_bytes()
