"""Tried as a new user would, on a phone-sized Chromium: the photo step's button opens the camera (a file chooser
with ``capture``), the picture taken completes the step."""

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from incidents.database import Database
from tests.e2e.server import act_as, app_settings, running, wait_for
from tests.e2e.test_webchat_browser import browser
from tests.evidence.pictures import camera_jpeg
from tests.evidence.support import assert_step_has_one_photo
from tests.factories import seed_people
from tests.identity.web import PASSWORD, give_logins

pytestmark = [pytest.mark.browser, pytest.mark.mosquitto]
__all__ = ["browser"]  # the browser tests' shared Chromium


def test_a_photo_taken_on_a_phone_completes_the_step(tmp_path: Path, sqlite_url: str, browser: Browser) -> None:
    database = Database(sqlite_url)
    give_logins(database, seed_people(database))
    evidence = tmp_path / "evidence"
    taken = tmp_path / "IMG_20261130_101500.jpg"
    taken.write_bytes(camera_jpeg())
    with running(app_settings(tmp_path, sqlite_url, evidence_dir=evidence)) as http:
        declared = http.post("/api/v1/commands", json={"text": "/incident misship B2"},
                             headers=act_as(sqlite_url, "wangwei")).json()
        assert declared["ok"], declared
        [incident] = http.get("/api/v1/incidents").json()
        wait_for(lambda: len(http.get(f"/webchat/incidents/{incident['id']}/messages").json()) >= 3)
        context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, locale="zh-CN")
        page = context.new_page()
        page.goto(str(http.base_url))
        page.fill("#login", "wangwei")
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="登录 Sign in").click()
        page.goto(f"{http.base_url}?incident={incident['id']}")
        card = page.locator("article.msg[data-step='contain']")
        camera = card.locator("label.button", has_text="📷")
        expect(camera).to_be_visible()
        with page.expect_file_chooser() as chooser:
            camera.click()  # the phone's camera opens (a file chooser with ``capture``)
        assert chooser.value.element.get_attribute("capture") == "environment"
        assert chooser.value.element.get_attribute("accept") == "image/*"
        chooser.value.set_files(str(taken))
        expect(card.locator(".photo img")).to_have_count(1)  # the thumbnail of the photo kept as evidence
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(tmp_path / "phone-photo.png"), full_page=True)
        context.close()
    assert_step_has_one_photo(database, evidence, incident_id=incident["id"], step_id="contain", platform="web")
    database.dispose()
