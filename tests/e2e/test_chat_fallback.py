"""Slack fails for longer than the threshold: the incident still reaches its people by their next channel,
/healthz and /metrics say Slack is degraded; when Slack comes back its backlog is delivered, nothing twice."""

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from incidents import directory
from incidents.clock import utcnow
from incidents.contacts import points, rules
from incidents.database import Database
from incidents.tables import OutboxMessage
from tests.e2e.server import ALERT_BODY, app_settings, running, wait_for
from tests.factories import seed_people
from tests.fakes.live_server import live_server
from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import FakeTwilio

pytestmark = pytest.mark.mosquitto
PHONE = "+8613800000001"


def _lead_texts_late(url: str) -> None:
    """Wang Wei (SL) on shift, verified phone; for SEV2 he wants chat, and an SMS only after 10 minutes."""
    database = Database(url)
    person = seed_people(database)["wangwei"]
    now = utcnow()
    with database.unit_of_work() as session:
        directory.add_shift(session, person_id=person, starts_at=now - timedelta(hours=1),
                            ends_at=now + timedelta(hours=8))
        point, code = points.add(session, person_id=person, kind=points.PHONE, address=PHONE, now=now)
        assert point.id is not None and points.verify(session, point_id=point.id, code=code, now=now)
        rules.set_rules(session, person_id=person, severity="SEV2", steps=[("chat", 0), ("sms", 600)])
    database.dispose()


def _slack_rows(url: str) -> list[OutboxMessage]:
    database = Database(url)
    with database.reader() as session:
        rows = list(session.exec(select(OutboxMessage).where(OutboxMessage.platform == "slack")).all())
    database.dispose()
    return rows


def test_a_slack_outage_reaches_people_by_sms_and_slack_gets_its_backlog_once(tmp_path: Path, sqlite_url: str) -> None:
    _lead_texts_late(sqlite_url)
    slack, twilio = FakeSlack(outage=503), FakeTwilio()
    with live_server(slack.app) as slack_url, live_server(twilio.app) as twilio_url:
        settings = app_settings(tmp_path, sqlite_url, slack_bot_token="xoxb-e2e", slack_signing_secret="s",
                                slack_channel="C-OPS", slack_api_url=f"{slack_url}/api",
                                twilio_account_sid=twilio.account_sid, twilio_auth_token=twilio.auth_token,
                                twilio_from_number="+15005550006", twilio_api_url=twilio_url,
                                fallback_after_seconds=1.0)
        with running(settings) as http:
            incident_id = http.post("/api/v1/alerts", json=ALERT_BODY).json()["incidents"][0]
            [sms] = wait_for(lambda: twilio.messages)
            assert sms["To"] == PHONE and f"#{incident_id}" in sms["Body"]
            health = http.get("/healthz").json()
            assert health["status"] == "warn" and health["degraded"] == ["slack"]
            assert 'wareroom_chat_platform_degraded{platform="slack"} 1.0' in http.get("/metrics").text
            wait_for(lambda: any("slack 投递失败已超过" in str(m) for m in
                                 http.get(f"/webchat/incidents/{incident_id}/messages").json()))
            assert slack.messages == {}

            slack.outage = 0  # Slack is back
            wait_for(lambda: any("slack 已恢复" in str(m["text"]) for m in slack.messages.values()), timeout=40)
            wait_for(lambda: all(r.status == "sent" for r in _slack_rows(sqlite_url)), timeout=40)
            assert http.get("/healthz").json()["degraded"] == []
            assert len(twilio.messages) == 1  # the fallback SMS went once; the 10-minute SMS is still to come
    roots = [m for m in slack.messages.values() if m["thread_ts"] is None]
    replies = [m["text"] for m in slack.messages.values() if m["thread_ts"] is not None]
    assert len(roots) == 1 and roots[0]["text"].startswith(f"🟠 SEV2 #{incident_id}")
    posts = [r for r in _slack_rows(sqlite_url) if r.op == "post"]
    assert len(replies) == len(posts) == len(set(replies))  # every post delivered, none twice
