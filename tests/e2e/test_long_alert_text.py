"""Case 14: a PagerDuty event with a 1,024-character Chinese summary, WeCom switched on. Every platform's message
stays within that platform's limit in its own unit (UTF-8 bytes for WeCom), with a link to the full text, and
the title is not repeated."""

import json
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from incidents.database import Database
from tests.decode.corpus import REAL
from tests.e2e.server import app_settings, running, wait_for
from tests.e2e.test_all_platforms import _fakes
from tests.factories import seed_people

pytestmark = pytest.mark.mosquitto
CASE = REAL / "pagerduty" / "case-14-1024-char-summary.json"


def test_case_14_a_1024_character_chinese_summary_fits_every_platform(tmp_path: Path, sqlite_url: str) -> None:
    database = Database(sqlite_url)
    seed_people(database)
    body = CASE.read_bytes()
    summary = json.loads(body)["payload"]["summary"]
    assert len(summary) == 1024
    with ExitStack() as stack:
        slack, telegram, wecom, chat_settings = _fakes(stack)
        settings = app_settings(tmp_path, sqlite_url, public_url="https://wareroom.example", **chat_settings)
        http = stack.enter_context(running(settings))
        answer = http.post("/api/v1/alerts/events", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 202, answer.text
        [incident] = wait_for(lambda: http.get("/api/v1/incidents").json())
        wait_for(lambda: wecom.cards and telegram.messages and slack.called("chat.postMessage"))
        time.sleep(1.5)  # the opening's follow-up messages
    link = f"https://wareroom.example/?incident={incident['id']}"
    markdown = [b["markdown"]["content"] for b in wecom.called("appchat/send")]
    assert markdown and all(len(m.encode()) <= 2048 for m in markdown)
    header = markdown[0]
    assert link in header and f" / {summary[:20]}" not in header  # once, not "zh / en" of the same text
    assert all(len(c["main_title"]["title"]) <= 36 for c in wecom.cards.values())
    assert all(len(b["name"]) <= 50 for b in wecom.called("appchat/create"))
    shown = [m["text"] for m in telegram.messages.values()]
    assert shown and all(len(t.encode("utf-16-le")) // 2 <= 4096 for t in shown)
    assert shown[0].count(summary) == 1  # Telegram's 4,096 hold it whole, once
    posts = slack.called("chat.postMessage")
    assert all(len(p["blocks"][0]["text"]["text"]) <= 3000 for p in posts)
    assert posts[0]["text"].count(summary) == 1  # and Slack's 3,000
    database.dispose()
