"""Headless Chromium (Debian's) as people use WareRoom: sign in, act in the web chat and sign out; the same on a
phone; an electronic signature with a wrong and then the right password; an admin linking a Slack account."""

import re
import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlmodel import select

from incidents import directory
from incidents.actors import SYSTEM
from incidents.database import Database
from incidents.tables import AuditEvent, ChatIdentity, StepRun
from tests.e2e.server import ALERT_BODY, act_as, app_settings, running, wait_for
from tests.evidence.pictures import camera_jpeg
from tests.factories import seed_people
from tests.fakes.live_server import live_server
from tests.fakes.slack_api import FakeSlack, command_body, signed_headers
from tests.identity.web import PASSWORD, give_logins

pytestmark = [pytest.mark.browser, pytest.mark.mosquitto]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SLACK_SECRET = "browser-signing-secret"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


def _people(url: str) -> dict[str, int]:
    database = Database(url)
    people = seed_people(database)
    give_logins(database, people)
    database.dispose()
    return people


def _sign_in(page: Page, base: str, login: str, password: str = PASSWORD, path: str = "/") -> None:
    page.goto(base + path)
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    page.fill("#login", login)
    page.fill("#password", password)
    page.get_by_role("button", name="登录 Sign in").click()


def test_sign_in_acknowledge_and_sign_out(tmp_path: Path, sqlite_url: str, browser: Browser) -> None:
    _people(sqlite_url)
    with running(app_settings(tmp_path, sqlite_url)) as http:
        [incident_id] = http.post("/api/v1/alerts", json=ALERT_BODY).json()["incidents"]
        wait_for(lambda: len(http.get(f"/webchat/incidents/{incident_id}/messages").json()) >= 3)
        page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="zh-CN")
        base = str(http.base_url)
        _sign_in(page, base, "wangwei", "not-the-password")
        expect(page.get_by_role("alert")).to_contain_text("Wrong user name, password or code")
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="登录 Sign in").click()
        expect(page.locator("#me")).to_have_text("王伟 Wang Wei")
        expect(page.locator("#who")).to_have_count(0)  # no drop-down: the page acts as the signed-in person
        expect(page.locator("#demo")).to_be_hidden()
        header = page.locator("article.msg.header")
        expect(header).to_contain_text("待确认 Triggered")
        header.get_by_role("button", name="确认 Acknowledge").click()
        expect(header).to_contain_text("已确认 Acknowledged")
        expect(header).to_contain_text("王伟 Wang Wei")
        page.fill("#cmdtext", "/close")
        page.click("form#cmd button")
        expect(page.locator("article.msg.reply").last).to_contain_text("do not allow you to close incidents")
        page.screenshot(path=str(tmp_path / "webchat-signed-in.png"), full_page=True)
        page.get_by_role("button", name="退出 Sign out").click()
        expect(page).to_have_url(re.compile(r"/signin$"))
        page.goto(base + "/")
        expect(page).to_have_url(re.compile(r"/signin\?next="))
        page.close()
    database = Database(sqlite_url)
    with database.reader() as session:
        acked = session.exec(select(AuditEvent).where(AuditEvent.action == "incident.acknowledge")).one()
        ended = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.session_ended")).one()
    assert (acked.actor_name, acked.platform) == ("王伟 Wang Wei", "webchat")
    assert acked.platform_user_id is not None and acked.platform_user_id.startswith("session:")
    assert ended.reason == "signed out"
    database.dispose()


def test_on_a_phone(tmp_path: Path, sqlite_url: str, browser: Browser) -> None:
    _people(sqlite_url)
    with running(app_settings(tmp_path, sqlite_url)) as http:
        [incident_id] = http.post("/api/v1/alerts", json=ALERT_BODY).json()["incidents"]
        wait_for(lambda: len(http.get(f"/webchat/incidents/{incident_id}/messages").json()) >= 3)
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, locale="zh-CN")
        page = context.new_page()
        page.goto(str(http.base_url))
        page.screenshot(path=str(tmp_path / "phone-signin.png"))
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        box = page.locator("#login").bounding_box()
        assert box is not None and box["width"] > 300  # the form fills the phone's width
        _sign_in(page, str(http.base_url), "zhangmin")
        expect(page.locator("#me")).to_have_text("张敏 Zhang Min")
        expect(page.locator("#list .inc:not(.mine)")).to_have_count(1)  # the incidents, then my replies
        page.goto(str(http.base_url) + "/account")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(tmp_path / "phone-account.png"), full_page=True)
        context.close()


def test_an_electronic_signature_with_a_wrong_then_the_right_password(tmp_path: Path, sqlite_url: str,
                                                                       browser: Browser) -> None:
    _people(sqlite_url)
    with running(app_settings(tmp_path, sqlite_url)) as http:
        [incident_id] = http.post("/api/v1/alerts", json=ALERT_BODY).json()["incidents"]
        shift_lead = act_as(sqlite_url, "wangwei")
        for text in ("/ack 冷机门已关 door closed", "/done verify 7.9", "/done correct-cause door",
                     "/done check-recovery yes"):
            answer = http.post("/api/v1/commands", json={"text": text, "incident_id": incident_id},
                               headers=shift_lead).json()
            assert answer["ok"], answer
        photo = http.post(f"/api/v1/incidents/{incident_id}/steps/quarantine/photo", headers=shift_lead,
                          files={"file": ("q1.jpg", camera_jpeg(), "image/jpeg")})
        assert photo.status_code == 200, photo.text
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        base = str(http.base_url)
        _sign_in(page, base, "zhangmin")
        # the step card carries a Sign button that opens the signing page
        sign = page.locator("article.msg", has_text="QA assessment and disposition").get_by_role("link",
                                                                                                 name="签名 Sign")
        expect(sign).to_have_attribute("href", re.compile(f"/sign/step/{incident_id}/qa-assessment$"))
        page.goto(str(sign.get_attribute("href")))
        expect(page.locator("dl.facts")).to_contain_text("QA disposition decision")
        page.select_option("#answer", "release")
        page.fill("#reason", "在稳定性数据范围内 within stability data")
        page.fill("#password", "not-my-password")
        page.get_by_role("button", name="签名 Sign").click()
        expect(page.get_by_role("alert")).to_contain_text("nothing was signed or changed")
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="签名 Sign").click()
        expect(page.get_by_role("status")).to_contain_text("signed \"QA disposition decision\"")
        page.screenshot(path=str(tmp_path / "signed.png"), full_page=True)
        review = http.get(f"/api/v1/incidents/{incident_id}/review.html").text
        page.close()
    assert "张敏 Zhang Min" in review and "QA disposition decision" in review and "冷机门已关 door closed" in review
    database = Database(sqlite_url)
    with database.reader() as session:
        step = session.exec(select(StepRun).where(StepRun.step_id == "qa-assessment")).one()
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "signature.refused")).one()
        signed = session.exec(select(AuditEvent).where(AuditEvent.action == "signature.signed")).one()
    assert step.status == "done" and refused.actor_name == signed.actor_name == "张敏 Zhang Min"
    assert signed.after is not None and len(signed.after["content_sha256"]) == 64
    database.dispose()


def test_an_admin_links_a_persons_slack_account_with_a_one_time_code(tmp_path: Path, sqlite_url: str,
                                                                    browser: Browser) -> None:
    people = _people(sqlite_url)
    database = Database(sqlite_url)
    with database.unit_of_work() as session:
        zhao = directory.add_person(session, name_zh="赵磊", name_en="Zhao Lei", roles=["SO"])
        directory.edit_person(session, person_id=people["lina"], admin=True, by=SYSTEM)
    with ExitStack() as stack:
        slack = FakeSlack()
        slack_url = stack.enter_context(live_server(slack.app))
        settings = app_settings(tmp_path, sqlite_url, slack_bot_token="xoxb-browser",
                                slack_signing_secret=SLACK_SECRET, slack_channel="C-OPS",
                                slack_api_url=f"{slack_url}/api")
        http = stack.enter_context(running(settings))
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        base = str(http.base_url)
        _sign_in(page, base, "lina", path=f"/admin/people/{zhao.id}")
        expect(page.locator("h1")).to_contain_text("赵磊 Zhao Lei")
        page.get_by_role("button", name="获取关联码 Get a link code").click()
        code = re.search(r"/link ([A-Z2-9]{8})", page.locator("#secret").inner_text())
        assert code is not None
        body = command_body(user="U-ZHAOLEI", command="/link", text=code.group(1),
                            response_url=f"{slack_url}/hooks/link", trigger="trig-link-1")
        answer = httpx.post(f"{base}/slack/events", content=body,
                            headers=signed_headers(body, SLACK_SECRET, "application/x-www-form-urlencoded"))
        assert answer.status_code == 200
        reply = wait_for(lambda: slack.hooks)
        assert "Linked: this slack account now acts as 赵磊 Zhao Lei." in reply[0]["text"]
        page.reload()
        expect(page.locator("section.card", has_text="Linked accounts")).to_contain_text("slack: U-ZHAOLEI")
        page.goto(base + "/admin/links")
        expect(page.locator("table")).to_contain_text("U-ZHAOLEI")
        page.screenshot(path=str(tmp_path / "admin-links.png"), full_page=True)
        page.close()
        # a person who is not an admin cannot open the admin pages
        other = browser.new_page()
        _sign_in(other, base, "wangwei", path="/admin")
        expect(other.get_by_role("alert")).to_contain_text("Only admins may open this page")
        other.close()
    with database.reader() as session:
        link = session.exec(select(ChatIdentity).where(ChatIdentity.platform == "slack",
                                                       ChatIdentity.platform_user_id == "U-ZHAOLEI")).one()
        added = session.exec(select(AuditEvent).where(AuditEvent.action == "directory.link_added")).all()
    assert link.person_id == zhao.id and people["lina"] != zhao.id
    assert added[-1].after == {"identity": "slack:U-ZHAOLEI", "display_name": "u-zhaolei"}
    database.dispose()
