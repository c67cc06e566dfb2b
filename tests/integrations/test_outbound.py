"""RateLimitedChat over a recording port: token buckets on a fake clock, back-off, splitting and trimming."""

from dataclasses import dataclass, field
from datetime import datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot

from handlers.ports import Button, Capabilities, MessageRef, OutboundMessage, RateLimited, ThreadRef
from incidents.database import Database
from integrations.outbound import DeliveryLimits, LimitedPort, Rate, RateLimitedChat, Unit, fit_text
from integrations.slack import render as slack_render
from integrations.slack.adapter import SlackChat
from integrations.telegram.adapter import TelegramChat
from integrations.wecom import render as wecom_render
from integrations.wecom.adapter import WeComChat, WeComClient

CAPABILITIES = Capabilities(can_edit=True, max_buttons=5, max_text_bytes=100, has_threads=True)


@dataclass
class RecordingPort:
    """A LimitedPort that records what it is asked to send; ``refuse`` makes a send answer like a 429."""

    limits: DeliveryLimits
    platform: str = "test"
    capabilities: Capabilities = CAPABILITIES
    sent: list[tuple[str, OutboundMessage, str]] = field(default_factory=list)
    refuse: dict[str, float] = field(default_factory=dict)  # key -> retry_after of its first send

    def destination(self, native: str | None) -> str:
        return (native or "home").split(":")[0]

    def measure(self, message: OutboundMessage) -> int:
        return self.limits.size(message.plain_text())

    async def find(self, key: str, thread: ThreadRef | None, *, since: datetime) -> tuple[ThreadRef, MessageRef] | None:
        return None

    def _record(self, op: str, message: OutboundMessage, key: str) -> MessageRef:
        if key in self.refuse:
            raise RateLimited(self.refuse.pop(key))
        self.sent.append((op, message, key))
        return MessageRef(self.platform, f"chan:{len(self.sent)}")

    async def open_thread(self, incident_id: int, first: OutboundMessage, *, key: str) -> tuple[ThreadRef, MessageRef]:
        return ThreadRef(self.platform, "chan:root"), self._record("open", first, key)

    async def post(self, thread: ThreadRef, message: OutboundMessage, *, key: str) -> MessageRef:
        return self._record("post", message, key)

    async def update(self, ref: MessageRef, message: OutboundMessage, *, key: str) -> MessageRef:
        self._record("update", message, key)
        return ref


@dataclass
class Clock:
    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


THREAD = ThreadRef("test", "chan:root")


def _chat(port: RecordingPort, clock: Clock, public_url: str = "") -> RateLimitedChat:
    return RateLimitedChat(port, public_url=public_url, clock=clock, sleep=clock.sleep)


async def test_a_burst_is_sent_then_the_bucket_paces_one_per_second() -> None:
    clock = Clock()
    chat = _chat(RecordingPort(DeliveryLimits(rates=(Rate(burst=3, per_seconds=3.0),), max_size=100)), clock)
    for n in range(5):
        await chat.post(THREAD, OutboundMessage(title=f"m{n}"), key=f"k{n}")
    assert clock.slept == [1.0, 1.0]
    other = ThreadRef("test", "elsewhere:root")  # another destination has its own bucket
    await chat.post(other, OutboundMessage(title="x"), key="x")
    assert clock.slept == [1.0, 1.0]


async def test_a_global_rate_counts_every_destination() -> None:
    clock = Clock()
    limits = DeliveryLimits(rates=(Rate(burst=2, per_seconds=60.0, per_destination=False),), max_size=100)
    chat = _chat(RecordingPort(limits), clock)
    await chat.post(ThreadRef("test", "a:1"), OutboundMessage(title="1"), key="1")
    await chat.post(ThreadRef("test", "b:1"), OutboundMessage(title="2"), key="2")
    with pytest.raises(RateLimited) as raised:  # 30 s away: longer than max_wait, so the dispatcher retries later
        await chat.post(ThreadRef("test", "c:1"), OutboundMessage(title="3"), key="3")
    assert raised.value.retry_after == pytest.approx(30.0)


async def test_the_platform_back_off_blocks_the_destination_until_it_has_passed() -> None:
    clock = Clock()
    port = RecordingPort(DeliveryLimits(rates=(Rate(burst=10, per_seconds=10.0),), max_size=100), refuse={"u1": 12.0})
    chat = _chat(port, clock)
    with pytest.raises(RateLimited):
        await chat.update(MessageRef("test", "chan:5"), OutboundMessage(title="t"), key="u1")
    assert chat.wait_for("chan") == pytest.approx(12.0) and chat.wait_for("other") == 0.0
    with pytest.raises(RateLimited):
        await chat.post(THREAD, OutboundMessage(title="t"), key="p1")
    assert port.sent == []
    clock.now += 12.0
    await chat.post(THREAD, OutboundMessage(title="t"), key="p1")
    assert [key for _, _, key in port.sent] == ["p1"]


async def test_a_long_post_is_split_and_a_retry_resends_only_the_missing_parts() -> None:
    clock = Clock()
    port = RecordingPort(DeliveryLimits(rates=(Rate(burst=10, per_seconds=1.0),), max_size=100))
    chat = _chat(port, clock)
    body = "\n".join(f"line {n:02d} of the report" for n in range(6))  # 6 x 22 chars
    button = Button("Done", "v1:done:1:s")
    message = OutboundMessage(title="Report", body=body, buttons=(button,), fields=(("Zone", "D1"),), incident_id=1)
    parts = chat.split(message)
    assert [p.buttons for p in parts] == [(button,), ()]
    assert "\n".join(p.body.split("\n", 2)[2] if n else p.body for n, p in enumerate(parts)) == body
    assert parts[1].body.startswith("（续 2/2）\n(continued 2/2)\n")
    assert all(len(p.plain_text()) <= 100 for p in parts)
    await chat.post(THREAD, message, key="long")
    assert [key for _, _, key in port.sent] == ["long", "long:part2"]
    port.sent.clear()
    port.refuse = {"again:part2": 5.0}  # the second part is refused: the row is retried later
    with pytest.raises(RateLimited):
        await chat.post(THREAD, message, key="again")
    clock.now += 5.0
    second = await chat.post(THREAD, message, key="again")
    assert [key for _, _, key in port.sent] == ["again", "again:part2"]
    assert second == MessageRef("test", "chan:1")  # the first part, sent by the earlier attempt


async def test_an_edit_over_the_limit_is_trimmed_with_a_link_to_the_full_text() -> None:
    clock = Clock()
    port = RecordingPort(DeliveryLimits(rates=(Rate(burst=10, per_seconds=1.0),), max_size=250, unit=Unit.BYTES))
    chat = _chat(port, clock, public_url="https://wareroom.example/")
    message = OutboundMessage(title="冷库 D1", body="温度" * 100)
    await chat.update(MessageRef("test", "chan:1"), message, key="e1")
    [(_, sent, _)] = port.sent
    assert 240 < len(sent.plain_text().encode()) <= 250
    assert sent.body.endswith("……（内容过长已截断）\n… (too long, trimmed)\n全文见 https://wareroom.example/\n"
                              "Full text at https://wareroom.example/")
    assert sent.body.startswith("温度温度")


async def test_when_not_even_the_note_fits_the_body_is_cut_alone() -> None:
    port = RecordingPort(DeliveryLimits(rates=(Rate(burst=10, per_seconds=1.0),), max_size=60, unit=Unit.BYTES))
    chat = _chat(port, Clock(), public_url="https://wareroom.example")
    await chat.open_thread(1, OutboundMessage(title="冷库 D1", body="温度" * 100), key="o1")
    [(_, sent, _)] = port.sent
    assert sent.body == "温度" * 8 and len(sent.plain_text().encode()) == 58


def test_each_platform_counts_in_its_own_unit() -> None:
    text = "冷库🌡️"  # two Chinese characters, an emoji with a variation selector
    assert (Unit.CHARS.size(text), Unit.UTF16.size(text), Unit.BYTES.size(text)) == (4, 5, 13)
    assert fit_text("温度" * 10, 9, Unit.BYTES) == "温度…"  # 6 bytes + the 3-byte ellipsis
    assert fit_text("🌡" * 10, 5, Unit.UTF16) == "🌡🌡…"


def _real_ports(sqlite_url: str) -> list[LimitedPort]:
    db = Database(sqlite_url)
    return [SlackChat(AsyncWebClient(token="xoxb-none"), "C-OPS"), TelegramChat(Bot("1:none"), "-100"),
            WeComChat(WeComClient("ww", "s", api_url="http://127.0.0.1:9/cgi-bin/"), db, 1)]


@pytest.mark.parametrize("body", ["温度偏高，请检查。" * 400, "🌡️🔥" * 1500, ("冷库 D1 🌡️ 8.6 °C\n" * 300)])
def test_every_platform_message_fits_in_the_platform_unit_with_a_link(sqlite_url: str, body: str) -> None:
    title = "🟠 SEV2 #7 " + "冷库温度超过上限" * 130  # a 1,000-character title, as a long alert summary gives
    message = OutboundMessage(title=title, body=body, fields=(("状态 Status", "待确认 Triggered"),),
                              buttons=(Button("确认 Acknowledge", "v1:ack:7"),), incident_id=7)
    for port in _real_ports(sqlite_url):
        chat = RateLimitedChat(port, public_url="https://wareroom.example")
        fitted = chat.fit(message)
        assert port.measure(fitted) <= port.limits.max_size, port.platform
        assert fitted.body.endswith("全文见 https://wareroom.example/?incident=7\n"
                                    "Full text at https://wareroom.example/?incident=7"), port.platform
        assert fitted.title.startswith("🟠 SEV2 #7 冷库温度") and fitted.buttons == message.buttons
        parts = chat.split(message)
        assert all(port.measure(p) <= port.limits.max_size for p in parts), port.platform
        assert "".join(p.body.split("\n", 2)[-1] if n else p.body for n, p in enumerate(parts)).replace("\n", "") in (
            body.replace("\n", ""), fitted.body.replace("\n", ""))


def test_slack_blocks_and_wecom_cards_stay_within_their_field_limits() -> None:
    long = "冷库🌡️" * 1000
    message = OutboundMessage(title=long, body=long, fields=tuple((f"字段{n}", long) for n in range(12)),
                              buttons=tuple(Button(long, f"v1:done:7:s{n}") for n in range(30)), incident_id=7)
    blocks = slack_render.blocks(message)
    assert len(blocks) <= 50 and len(blocks[0]["text"]["text"]) <= 3000
    assert all(len(f["text"]) <= 2000 for f in blocks[1]["fields"]) and len(blocks[1]["fields"]) <= 10
    assert all(len(e["text"]["text"]) <= 75 for e in blocks[2]["elements"]) and len(blocks[2]["elements"]) <= 25
    assert len(slack_render.fallback(message)) <= 3000
    card = wecom_render.card(message, "inc_7_x")
    assert len(card["main_title"]["title"]) <= 36 and len(card["sub_title_text"]) <= 112
    assert all(len(i["value"]) <= 26 for i in card["horizontal_content_list"]) and len(card["button_list"]) <= 6
