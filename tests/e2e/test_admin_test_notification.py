"""The admin person page's "send a test notification" buttons, in headless Chromium at a phone's and a desk's
size: one per verified address, each calling the contact admin API with the session's CSRF token; the email
one reaches the (real, local) SMTP server, the SMS one says the channel is not set up."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from incidents import directory
from incidents.actors import SYSTEM
from incidents.clock import utcnow
from incidents.contacts import points
from incidents.database import Database
from tests.e2e.server import app_settings, running, wait_for
from tests.e2e.test_webapp_browser import DESK, PHONE
from tests.e2e.test_webchat_browser import _people, _sign_in, browser
from tests.fakes.smtp_server import smtp_server

pytestmark = [pytest.mark.browser, pytest.mark.mosquitto]
__all__ = ["browser"]


@pytest.mark.parametrize("size", ["phone", "desk"])
def test_an_admin_sends_a_test_notification_from_the_person_page(tmp_path: Path, sqlite_url: str,
                                                                  browser: Browser, size: str) -> None:
    people = _people(sqlite_url)
    database = Database(sqlite_url)
    with database.unit_of_work() as session:
        directory.edit_person(session, person_id=people["lina"], admin=True, by=SYSTEM)
        for kind, address in ((points.EMAIL, "wang@site.example"), (points.PHONE, "+8613800138000")):
            point, code = points.add(session, person_id=people["wangwei"], kind=kind, address=address, now=utcnow())
            session.flush()
            assert point.id is not None and points.verify(session, point_id=point.id, code=code, now=utcnow())
    database.dispose()
    shots = Path(os.environ.get("WAREROOM_SHOTS") or tmp_path)
    with smtp_server() as (mailbox, port):
        settings = app_settings(tmp_path, sqlite_url, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                                smtp_sender="wareroom@site.example")
        with running(settings) as http:
            page = browser.new_page(viewport=PHONE if size == "phone" else DESK, locale="zh-CN")
            _sign_in(page, str(http.base_url).rstrip("/"), "lina", path=f"/admin/people/{people['wangwei']}")
            contacts = page.locator("#contacts")
            expect(contacts).to_contain_text("wang@site.example")
            expect(contacts.locator("button.test-notify")).to_have_count(3)  # sms, voice, email
            email = contacts.locator("li", has_text="email")
            email.get_by_role("button", name="发送测试通知 Send a test notification").click()
            expect(email.locator("output")).to_have_text("✔ 已发送 Sent wang@site.example")
            wait_for(mailbox.messages)
            assert "测试通知" in str(mailbox.messages()[0]["Subject"])
            sms = contacts.locator("li", has_text="sms")
            sms.get_by_role("button", name="发送测试通知 Send a test notification").click()
            expect(sms.locator("output")).to_have_text("✘ 此渠道未启用 / This channel is not set up")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            contacts.screenshot(path=str(shots / f"admin-test-notification-{size}.png"))
            page.close()
