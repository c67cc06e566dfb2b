"""The web app in headless Chromium (Debian's) at a phone's size (390×844) and a desk's (1366×900): the list
and a 60-message thread as two views on a phone and side by side on a desk, the composer always on screen,
answers kept in the thread, a closed incident read-only, the dashboard's sensors, a photo step's upload.

Screenshots go to ``WAREROOM_SHOTS`` when set (e.g. /tmp/webapp-shots), else to the test's own folder."""

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize, expect

from handlers.text import CATALOGUE
from incidents.clock import utcnow
from incidents.database import Database
from incidents.inventory.demo import load_demo_stock
from tests.e2e.server import ALERT_BODY, act_as, app_settings, running, service_token, wait_for
from tests.e2e.test_webchat_browser import _people, browser
from tests.evidence.pictures import camera_jpeg
from tests.identity.web import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.mosquitto]
PHONE = ViewportSize(width=390, height=844)
DESK = ViewportSize(width=1366, height=900)
__all__ = ["browser"]  # the module's Chromium, shared with the other browser tests


def text(key: str) -> str:
    """A catalogue text as the page shows it: Chinese, then English."""
    return " ".join(CATALOGUE[key])


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("WAREROOM_SHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _context(browser: Browser, size: str) -> BrowserContext:
    if size == "phone":
        return browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
                                   locale="zh-CN")
    return browser.new_context(viewport=DESK, locale="zh-CN")


def _sign_in(page: Page, base: str, login: str, path: str = "/") -> None:
    page.goto(base + path)
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录 Sign in").click()
    expect(page.locator("#me")).to_be_visible()


def _on_screen(page: Page, selector: str) -> bool:
    """Whether the element is wholly inside the viewport (not scrolled away, not below the fold)."""
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    return box["y"] >= 0 and box["y"] + box["height"] <= size["height"] and box["x"] >= 0 and \
        box["x"] + box["width"] <= size["width"]


@pytest.fixture
def incident(tmp_path: Path, sqlite_url: str) -> Iterator[tuple[str, int, str]]:
    """The app with the seeded people and one cold-room incident acknowledged by the shift lead, whose
    handheld reading (``/done verify 7.9``) is recorded: (base URL, incident id, database URL)."""
    _people(sqlite_url)
    database = Database(sqlite_url)
    with database.unit_of_work() as session:
        load_demo_stock(session, now=utcnow())
    database.dispose()
    with running(app_settings(tmp_path, sqlite_url)) as http:
        [incident_id] = http.post("/api/v1/alerts", json=ALERT_BODY).json()["incidents"]
        lead = act_as(sqlite_url, "wangwei")
        for command in ("/ack 冷机门已关 door closed", "/done verify 7.9"):
            assert http.post("/api/v1/commands", json={"text": command, "incident_id": incident_id},
                             headers=lead).json()["ok"]
        wait_for(lambda: len(http.get(f"/webchat/incidents/{incident_id}/messages").json()) >= 4)
        yield str(http.base_url).rstrip("/"), incident_id, sqlite_url


@pytest.mark.parametrize("size", ["phone", "desk"])
def test_a_60_message_thread_keeps_the_composer_and_the_list_in_reach(
        incident: tuple[str, int, str], browser: Browser, shots: Path, size: str) -> None:
    base, incident_id, _ = incident
    context = _context(browser, size)
    page = context.new_page()
    _sign_in(page, base, "wangwei")
    row = page.locator(f"#incidents .inc[data-id='{incident_id}']")
    expect(row).to_be_visible()
    page.screenshot(path=str(shots / f"list-{size}.png"))
    row.click()
    expect(page.locator("article.msg.header")).to_contain_text("已确认 Acknowledged")
    # the handheld reading typed with /done 7.9 is shown on its step
    expect(page.locator("article.msg[data-step='verify'] .recorded")).to_contain_text("7.9 °C")
    page.evaluate("""async ([id, csrf]) => {
        for (let n = 0; n < 58; n++) {
          await fetch("/webchat/command", {method: "POST", headers: {"Content-Type": "application/json",
            "X-CSRF-Token": csrf}, body: JSON.stringify({text: "/status", incident_id: id,
            event_id: crypto.randomUUID()})});
        }}""", [incident_id, page.locator("#app").get_attribute("data-csrf")])
    page.fill("#cmdtext", "/stock SKU-D0101")
    page.get_by_role("button", name="发送 Send").click()
    reply = page.locator("article.msg.reply").last
    expect(reply).to_contain_text("/stock SKU-D0101")
    expect(reply).to_contain_text(text("web_only_you"))
    expect(reply).to_contain_text("已过期，不可用 EXPIRED, not usable")  # the demo's expired lot is not "OK"
    # the lots are a table, so their columns stay aligned on a phone (it scrolls sideways inside the card)
    lots = reply.locator(".table-wrap table")
    expect(lots.locator("th").first).to_have_text("库位 Location")
    widths = lots.evaluate("t => [...t.rows].map(r => r.cells.length)")
    assert len(widths) >= 2 and len(set(widths)) == 1, widths
    reply.screenshot(path=str(shots / f"stock-{size}.png"))
    page.reload()  # the answers stay in the thread: kept, not a toast
    expect(page.locator("article.msg.reply")).to_have_count(59)
    assert page.locator("#messages article.msg").count() >= 60
    expect(page.locator("article.msg.reply").last).to_contain_text("/stock SKU-D0101")
    page.locator("#messages").evaluate("box => box.scrollTop = box.scrollHeight")
    assert _on_screen(page, "#cmdtext") and _on_screen(page, "#cmd button")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(shots / f"thread-{size}.png"))
    if size == "phone":
        expect(page.locator("#list")).to_be_hidden()  # one view at a time…
        page.get_by_role("button", name=re.compile("← 事件 Incidents")).click()  # …and the list one tap away
        expect(row).to_be_visible()
        assert _on_screen(page, "#cmdtext")
        expect(page.locator("#thread")).to_be_hidden()
    else:
        list_box, thread_box = page.locator("#list").bounding_box(), page.locator("#thread").bounding_box()
        assert list_box is not None and thread_box is not None
        assert list_box["x"] + list_box["width"] <= thread_box["x"] + 1  # side by side
        expect(row).to_be_visible()
    context.close()


def test_a_command_outside_an_incident_answers_in_my_replies(incident: tuple[str, int, str],
                                                             browser: Browser, shots: Path) -> None:
    base, _, _ = incident
    context = _context(browser, "phone")
    page = context.new_page()
    _sign_in(page, base, "lina")
    page.fill("#cmdtext", "/help")
    page.get_by_role("button", name="发送 Send").click()
    expect(page.locator("#thread-title")).to_contain_text(text("web_my_replies"))
    expect(page.locator("article.msg.reply")).to_contain_text("/help")
    page.screenshot(path=str(shots / "my-replies-phone.png"))
    context.close()


def test_a_closed_incident_is_read_only(incident: tuple[str, int, str], browser: Browser, shots: Path) -> None:
    base, _, database_url = incident
    declared = httpx.post(f"{base}/api/v1/commands", headers=act_as(database_url, "lina"),
                          json={"text": "/incident equipment A1 叉车液压故障 forklift hydraulics"}).json()
    assert declared["ok"], declared
    incident_id = int(re.search(r"#(\d+)", declared["text"]).group(1))  # type: ignore[union-attr]
    page = _context(browser, "desk").new_page()
    _sign_in(page, base, "zhangmin")
    page.goto(f"{base}/?incident={incident_id}")
    buttons = page.locator("#messages article.msg button")
    expect(buttons.first).to_be_enabled()
    header = page.locator("article.msg.header")
    for command, status in (("/ack", "已确认 Acknowledged"), ("/resolve override 叉车已修好 forklift repaired",
                                                           "已解决 Resolved"), ("/close", "已关闭 Closed")):
        page.fill("#cmdtext", command)
        page.get_by_role("button", name="发送 Send").click()
        expect(header).to_contain_text(status)
    expect(page.locator("#incidents .inc.active")).to_contain_text("已关闭 Closed")
    expect(page.locator("#readonly")).to_be_visible()
    expect(header).not_to_contain_text(text("step"))  # no "current step" on a closed incident
    assert buttons.count() > 0  # the cards of the steps left undone keep their buttons, switched off
    for n in range(buttons.count()):
        expect(buttons.nth(n)).to_be_disabled()
    page.screenshot(path=str(shots / "closed-desk.png"))
    phone = _context(browser, "phone").new_page()
    _sign_in(phone, base, "zhangmin")
    phone.goto(f"{base}/?incident={incident_id}")
    expect(phone.locator("article.msg.header")).to_contain_text("已关闭 Closed")
    expect(phone.locator("article.msg.header")).not_to_contain_text(text("step"))
    phone.locator("#messages").evaluate("box => box.scrollTop = 0")
    phone.screenshot(path=str(shots / "closed-phone.png"))


@pytest.mark.parametrize("size", ["phone", "desk"])
def test_the_dashboard_shows_each_zones_sensors(incident: tuple[str, int, str], browser: Browser, shots: Path,
                                                size: str) -> None:
    base, incident_id, database_url = incident
    headers = {"Authorization": f"Bearer {service_token(database_url)}"}
    now = utcnow()
    readings = [{"sensor": "d2-probe-1", "metric": "temperature", "value": 4.6},
                *({"sensor": "d1-probe-1", "metric": "temperature", "value": value,
                   "ts": (now - timedelta(seconds=ago)).isoformat()} for ago, value in ((5, 9.1), (1, 9.3)))]
    answer = httpx.post(f"{base}/api/v1/alerts", headers=headers, json=readings)  # D1's probe: above 8 °C for 4 s
    assert answer.status_code in (200, 202), answer.text
    for command in ("/silence D2 30m 除霜 defrost", "/oos a1-probe-1 2h 校准 calibration"):
        answer = httpx.post(f"{base}/api/v1/commands", headers=act_as(database_url, "lina"), json={"text": command})
        assert answer.json()["ok"], answer.text
    answer = httpx.post(f"{base}/api/v1/commands", headers=act_as(database_url, "wangwei"),
                        json={"text": "/incident fire A1 --drill --at 23:59"})
    assert answer.json()["ok"], answer.text
    page = _context(browser, size).new_page()
    _sign_in(page, base, "lina", "/dashboard")
    d2 = page.locator("section.zone[data-zone='D2']")
    probe = d2.locator("tr.sensor[data-device='d2-probe-1']")
    expect(probe.locator("td.value")).to_have_text("4.6 °C")
    expect(probe).to_contain_text("正常 OK")
    d1 = page.locator("section.zone[data-zone='D1']")
    expect(d1).to_contain_text(f"#{incident_id}")
    expect(d1.locator("tr.sensor[data-device='d1-probe-1'] td.value")).to_have_text("9.3 °C")
    expect(d1.locator("tr.sensor[data-device='d1-probe-1']")).to_contain_text("报警未确认 unacknowledged alarm")
    expect(page.locator("section.zone[data-zone='A1'] tr.sensor[data-device='a1-probe-1']")).to_contain_text(
        "停用维护中 out of service")
    expect(page.locator("#panel-silences")).to_contain_text("D2")
    expect(page.locator("#panel-alarms")).to_contain_text("d1-probe-1")
    expect(page.locator("#panel-holds")).to_contain_text("校准 calibration")
    expect(page.locator("#panel-drills")).to_contain_text("fire-evacuation")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(shots / f"dashboard-{size}.png"), full_page=True)
    # live: a new incident appears in its zone without a reload
    dock = {"title": {"zh": "月台 3 门未关", "en": "Dock door 3 left open"}, "severity": "SEV3",
            "dedup_key": f"dock-door-{size}", "labels": {"site": "SH-01", "zone": "DOCK"}}
    [dock_id] = httpx.post(f"{base}/api/v1/alerts", headers=headers, json=dock).json()["incidents"]
    expect(page.locator("section.zone[data-zone='DOCK']")).to_contain_text(f"#{dock_id} 月台 3 门未关")


@pytest.mark.parametrize("size", ["phone", "desk"])
def test_screenshots_of_the_sign_in_page_and_a_review(incident: tuple[str, int, str], browser: Browser,
                                                      shots: Path, size: str) -> None:
    base, incident_id, _ = incident
    page = _context(browser, size).new_page()
    page.goto(base + "/")
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(shots / f"signin-{size}.png"))
    _sign_in(page, base, "zhangmin")
    page.goto(f"{base}/?incident={incident_id}")
    page.fill("#cmdtext", "/review")
    page.get_by_role("button", name="发送 Send").click()
    link = page.locator("article.msg.reply").last.get_by_role("link", name=re.compile(r"review\.html$"))
    expect(link).to_have_attribute("href", re.compile(f"/api/v1/incidents/{incident_id}/review.html$"))
    page.goto(str(link.get_attribute("href")))
    expect(page.locator("body")).to_contain_text(f"#{incident_id}")
    # the page never runs off the right edge; wide tables (affected stock, timeline) scroll in their own box
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"
                         " && document.body.scrollWidth <= document.body.clientWidth")
    if size == "phone":  # and on a phone every cell of them, the stock's status too, is on screen without scrolling
        assert page.locator("table.stock tbody tr").count() > 5
        assert page.evaluate("[...document.querySelectorAll('table.cards td')].every("
                             "td => td.getBoundingClientRect().right <= window.innerWidth)")
    page.screenshot(path=str(shots / f"review-{size}.png"), full_page=True)


def test_a_photo_step_offers_the_camera_and_says_why_a_photo_was_not_taken(
        incident: tuple[str, int, str], browser: Browser, tmp_path: Path, shots: Path) -> None:
    base, incident_id, database_url = incident
    lead = act_as(database_url, "wangwei")
    for command in ("/done correct-cause door", "/done check-recovery yes"):
        assert httpx.post(f"{base}/api/v1/commands", headers=lead,
                          json={"text": command, "incident_id": incident_id}).json()["ok"]
    page = _context(browser, "phone").new_page()
    _sign_in(page, base, "wangwei")
    page.goto(f"{base}/?incident={incident_id}")
    card = page.locator("article.msg[data-step='quarantine']")
    picker = card.locator("input[type=file]")
    expect(picker).to_have_attribute("accept", "image/*")
    expect(picker).to_have_attribute("capture", "environment")
    photo = tmp_path / "pallet.jpg"
    photo.write_bytes(camera_jpeg())
    picker.set_input_files(str(photo))
    served = httpx.post(f"{base}/api/v1/incidents/{incident_id}/steps/quarantine/photo").status_code != 404
    expected = text("web_photo_sent") if served else text("web_photo_unavailable")
    expect(card.locator(".photo .status")).to_have_text(expected)
    expect(card.locator("button", has_text="拍照")).to_have_count(0)  # one way to take the photo: the camera
    page.screenshot(path=str(shots / "photo-step-phone.png"))


def test_in_the_demo_a_reply_is_kept_for_the_person_picked(tmp_path: Path, sqlite_url: str, browser: Browser,
                                                           shots: Path) -> None:
    _people(sqlite_url)
    settings = app_settings(tmp_path, sqlite_url, auth_mode="demo", webchat_notice="\n".join(CATALOGUE["demo_notice"]))
    with running(settings) as http:
        [incident_id] = http.post("/api/v1/alerts", json=ALERT_BODY).json()["incidents"]
        base = str(http.base_url).rstrip("/")
        page = _context(browser, "phone").new_page()
        page.goto(f"{base}/?incident={incident_id}")
        expect(page.locator("#who")).to_be_visible()
        page.select_option("#who", "wangwei")
        page.fill("#cmdtext", "/status")
        page.get_by_role("button", name="发送 Send").click()
        expect(page.locator("article.msg.reply")).to_contain_text("/status")
        assert _on_screen(page, "#cmdtext")
        page.screenshot(path=str(shots / "demo-thread-phone.png"))
        page.reload()  # the pick is remembered; the answer is still there for Wang Wei…
        expect(page.locator("article.msg.reply")).to_have_count(1)
        page.select_option("#who", "lina")  # …and not for Li Na
        expect(page.locator("article.msg.header")).to_be_visible()
        expect(page.locator("article.msg.reply")).to_have_count(0)
