"""OutboundMessage.to_json, built field by field for the alarm path, is what dataclasses.asdict gives."""

from dataclasses import asdict

from handlers.ports import Button, ButtonStyle, OutboundMessage


def test_to_json_is_asdict_and_reads_back() -> None:
    message = OutboundMessage("火警 Fire", "D1", (("区域 Zone", "D1"), ("值 Value", "1")),
                              (Button("完成 Done", "tok-1", ButtonStyle.PRIMARY), Button("签名 Sign", "tok-2", url="https://x")),
                              incident_id=7, tone="alert")
    assert message.to_json() == asdict(message)
    assert OutboundMessage.from_json(message.to_json()) == message
    assert OutboundMessage("t").to_json() == asdict(OutboundMessage("t"))
