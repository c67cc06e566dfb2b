"""Headless Chromium (Debian's) opens the web chat, acknowledges an incident and sees the thread update."""

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from incidents.database import Database
from tests.e2e.server import app_settings, running, wait_for
from tests.factories import seed_people

pytestmark = [pytest.mark.browser, pytest.mark.mosquitto]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ALERT = {"title": {"zh": "冷库 D1 温度 8.6 °C，超过 8.0 °C 已 5 分钟",
                   "en": "Cold room D1 at 8.6 °C, above 8.0 °C for 5 min"},
         "severity": "SEV2", "dedup_key": "d1-excursion",
         "labels": {"site": "SH-01", "zone": "D1", "alertname": "cold-room-high-temp"}}


def test_acknowledge_from_the_web_chat(tmp_path: Path, sqlite_url: str) -> None:
    database = Database(sqlite_url)
    seed_people(database)
    database.dispose()
    settings = app_settings(tmp_path, sqlite_url)
    with running(settings) as http:
        [incident_id] = http.post("/api/v1/alerts", json=ALERT).json()["incidents"]
        wait_for(lambda: len(http.get(f"/webchat/incidents/{incident_id}/messages").json()) >= 3)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
            page.goto(str(http.base_url))
            page.select_option("#who", "wangwei")
            header = page.locator("article.msg.header")
            expect(header).to_contain_text("待确认 Triggered")
            expect(page.locator("#list .inc")).to_have_count(1)
            step = page.locator("article.msg:not(.header)", has_text="Verify the reading")
            expect(step).to_contain_text("手持温度计读数")
            header.get_by_role("button", name="确认 Acknowledge").click()
            # the header is edited in place, live, and the thread says who acknowledged
            expect(header).to_contain_text("已确认 Acknowledged")
            expect(header).to_contain_text("王伟 Wang Wei")
            expect(header.get_by_role("button", name="确认 Acknowledge")).to_have_count(0)
            expect(page.locator("article.msg", has_text="王伟 Wang Wei 已确认事件。")).to_have_count(1)
            # a command typed in the box answers in the toast
            page.fill("#cmdtext", "／状态")
            page.click("form#cmd button")
            expect(page.locator("#toast")).to_contain_text("已确认 Acknowledged")
            page.screenshot(path=str(tmp_path / "webchat.png"), full_page=True)
            browser.close()
