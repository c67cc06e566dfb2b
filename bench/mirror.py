"""A click on one platform → the incident's message updated on every other platform.

    .venv/bin/python -m bench.mirror [--incidents 20] [--pause 0]

The whole app runs with Slack, Telegram and WeCom configured against the fake platform servers of the
tests (real client libraries, the platforms' wire formats, on loopback) and its own web chat. Each
incident is opened by an alert (``POST /api/v1/alerts``) and waited for on all four platforms; then a
signed Slack click acknowledges it, and the time until Telegram's header message, WeCom's card and the
web chat's header show who acknowledged is measured (polled every 2 ms; the web chat over its HTTP API
every 10 ms). Incidents follow each other at once unless ``--pause`` gives the rate limits (Telegram
allows a group 20 messages a minute, 3 in 3 s) time to refill before the click. Prints p50 and p95
per platform and for the last of the three, and ``telegram_budget_wait``: how long, from the click,
Telegram's budget for the chat (``integrations.telegram.adapter.LIMITS``, as the app's limiter
counts it) allowed no message at all: the earliest the edit could legally go. The same-run
reference is the click's own answer time (Bolt answers Slack at once; the acknowledgement is handled
after the answer).
"""

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import httpx
from fastapi import FastAPI

from bench.common import mosquitto, percentile, report
from bot import db
from incidents.database import Database
from integrations.outbound import RateLimitedChat
from tests.e2e.server import ALERT_BODY, app_settings, running, wait_for
from tests.e2e.test_all_platforms import SLACK_SECRET, _fakes
from tests.factories import seed_people
from tests.fakes.slack_api import FakeSlack, click_body, signed_headers
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.wecom_api import FakeWeCom

ACKED_BY = "王伟 Wang Wei"
PLATFORMS = ("telegram", "wecom", "webchat")


def _when(check: Callable[[], bool], start: float, every: float, out: dict[str, float], name: str) -> threading.Thread:
    def watch() -> None:
        deadline = start + 30
        while time.perf_counter() < deadline:
            if check():
                out[name] = (time.perf_counter() - start) * 1000
                return
            time.sleep(every)

    thread = threading.Thread(target=watch)
    thread.start()
    return thread


def _one(http: httpx.Client, fakes: tuple[FakeSlack, FakeTelegram, FakeWeCom], n: int,
         pause: float, telegram_budget: Callable[[], float]) -> dict[str, float]:
    """Open incident ``n``, wait until every platform shows it, click acknowledge on Slack: ms per platform."""
    slack, telegram, wecom = fakes
    body = ALERT_BODY | {"dedup_key": f"mirror-{n}", "labels": {"site": "SH-01", "zone": f"M{n}",
                                                                "alertname": "cold-room-high-temp"}}
    assert http.post("/api/v1/alerts", json=body).status_code == 202
    incident_id = wait_for(lambda: next((i["id"] for i in http.get("/api/v1/incidents").json()
                                         if i["zone"] == f"M{n}"), None))
    title = f"#{incident_id} "
    root_ts = wait_for(lambda: next((ts for (_, ts), m in list(slack.messages.items())
                                     if m["thread_ts"] is None and title in m["text"]), None))
    tg_id = wait_for(lambda: next((i for i, m in list(telegram.messages.items())
                                   if "reply_to_message" not in m and title in m["text"]), None))
    wait_for(lambda: any(title in c["main_title"]["title"] for c in list(wecom.cards.values())))
    wait_for(lambda: any(m["header"] for m in http.get(f"/webchat/incidents/{incident_id}/messages").json()))
    time.sleep(pause)

    def on_wecom() -> bool:
        return any(title in c["main_title"]["title"] and any(i["keyname"] == "确认人"
                                                            for i in c["horizontal_content_list"])
                   for c in list(wecom.cards.values()))

    def on_webchat() -> bool:
        return any(m["header"] and ACKED_BY in json.dumps(m, ensure_ascii=False)
                   for m in http.get(f"/webchat/incidents/{incident_id}/messages").json())

    click = click_body(user="U-wangwei", channel="C-OPS", message_ts=root_ts, token=f"v1:ack:{incident_id}",
                       action_ts=f"1700000700.{n}")
    headers = signed_headers(click, SLACK_SECRET, "application/x-www-form-urlencoded")
    took: dict[str, float] = {}
    start = time.perf_counter()
    took["telegram_budget_wait"] = telegram_budget() * 1000
    watchers = [_when(lambda: ACKED_BY in telegram.messages[tg_id]["text"], start, 0.002, took, "telegram"),
                _when(on_wecom, start, 0.002, took, "wecom"), _when(on_webchat, start, 0.01, took, "webchat")]
    answer = http.post("/slack/events", content=click, headers=headers)
    took["click_answer"] = (time.perf_counter() - start) * 1000
    assert answer.status_code == 200, answer.text
    for watcher in watchers:
        watcher.join()
    missing = [p for p in PLATFORMS if p not in took]
    if missing:
        raise RuntimeError(f"incident {incident_id}: not updated within 30 s on {', '.join(missing)}")
    took["all"] = max(took[p] for p in PLATFORMS)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.0,
                        help="seconds between an incident shown everywhere and the click (lets rate limits refill)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        directory = Path(tmp)
        url = f"sqlite:///{directory / 'wareroom.db'}"
        db.upgrade(url)
        database = Database(url)
        seed_people(database)
        database.dispose()
        slack, telegram, wecom, chat = _fakes(stack)
        broker = stack.enter_context(mosquitto(""))
        apps: list[FastAPI] = []
        http = stack.enter_context(running(app_settings(directory, url, mqtt_url=broker, **chat),
                                           on_app=apps.append))
        limiter = apps[0].state.runtime.dispatcher.ports["telegram"]
        assert isinstance(limiter, RateLimitedChat)

        def telegram_budget() -> float:
            return limiter.wait_for(limiter.inner.destination(None))

        runs: dict[str, list[float]] = {}
        for n in range(args.incidents):
            for name, ms in _one(http, (slack, telegram, wecom), n, args.pause, telegram_budget).items():
                runs.setdefault(name, []).append(ms)
    report("mirror_incidents", args.incidents)
    report("mirror_pause_before_click_s", args.pause)
    for name in ("click_answer", *PLATFORMS, "all", "telegram_budget_wait"):
        report(f"mirror_{name}_p50_ms", f"{percentile(runs[name], 0.5):.0f}")
        report(f"mirror_{name}_p95_ms", f"{percentile(runs[name], 0.95):.0f}")


if __name__ == "__main__":
    main()
