"""Single sign-on against a real OpenID Connect provider (panva/node-oidc-provider, started here on loopback
with the machine's Node.js), driven by headless Chromium: the directory decides who may come in."""

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright
from sqlmodel import select

from incidents import directory
from incidents.actors import SYSTEM
from incidents.database import Database
from incidents.tables import AuditEvent, Person
from tests.e2e.server import app_settings, free_port, running
from tests.e2e.test_webchat_browser import CHROMIUM, FLAGS
from tests.factories import seed_people

pytestmark = [pytest.mark.browser, pytest.mark.mosquitto]
PROVIDER = Path(__file__).resolve().parents[1] / "oidc"
SECRET = "wareroom-sso-test-secret"


@pytest.fixture
def provider_port() -> Iterator[int]:
    """The provider, started for this test; ``npm ci`` in tests/oidc (scripts/test.sh) installs it."""
    node = shutil.which("node")
    assert node is not None, "Node.js is needed for the OIDC provider: bash scripts/test.sh installs it"
    assert (PROVIDER / "node_modules" / "oidc-provider").exists(), "run: npm ci --prefix tests/oidc"
    port, app_port = free_port(), free_port()
    process = subprocess.Popen([node, "provider.mjs", str(port), f"http://127.0.0.1:{app_port}/signin/sso/callback",
                                SECRET], cwd=PROVIDER, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "ready" in line:
                break
        yield port * 100_000 + app_port  # both ports in one value: the app must listen where the client says
    finally:
        process.terminate()
        process.wait(timeout=10)


def _through_provider(page: Page, login: str) -> None:
    """The provider's own login and consent screens, as a person would fill them."""
    page.get_by_role("link", name=re.compile("Sign in with Warehouse SSO")).click()
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "anything")
    page.locator("button[type=submit]").first.click()
    page.wait_for_load_state()
    consent = page.locator("button[type=submit]", has_text=re.compile("Continue", re.I))
    if consent.count():
        consent.first.click()


def test_single_sign_on_lets_in_the_directory_and_nobody_else(tmp_path: Path, sqlite_url: str,
                                                              provider_port: int) -> None:
    port, app_port = divmod(provider_port, 100_000)
    database = Database(sqlite_url)
    people = seed_people(database)
    with database.unit_of_work() as session:
        directory.edit_person(session, person_id=people["zhangmin"], email="ZhangMin@warehouse.example", by=SYSTEM)
        directory.edit_person(session, person_id=people["lina"], email="lina@warehouse.example", by=SYSTEM)
    settings = app_settings(tmp_path, sqlite_url, http_port=app_port, oidc_issuer=f"http://127.0.0.1:{port}",
                            oidc_client_id="wareroom", oidc_client_secret=SECRET, oidc_label="Warehouse SSO")
    with running(settings) as http, sync_playwright() as playwright:
        base = str(http.base_url)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(locale="zh-CN")
        page.goto(base + "/")
        _through_provider(page, "zhangmin")
        expect(page.locator("#me")).to_have_text("张敏 Zhang Min")
        page.screenshot(path=str(tmp_path / "sso-signed-in.png"))
        for login in ("unverified-lina", "stranger"):  # an unverified address, and someone not in the directory
            other = browser.new_context().new_page()
            other.goto(base + "/signin")
            _through_provider(other, login)
            expect(other.get_by_role("alert")).to_contain_text("not in the WareRoom directory")
            assert not [c for c in other.context.cookies(base) if c["name"] == "wareroom_session"]
            other.context.close()
        browser.close()
    with database.reader() as session:
        bound = session.exec(select(Person).where(Person.id == people["zhangmin"])).one()
        signins = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.signin")).all()
        refused = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.signin_failed")).all()
        lina = session.get(Person, people["lina"])
    assert bound.oidc_subject == f"http://127.0.0.1:{port}|zhangmin"
    assert [(s.actor_name, (s.after or {}).get("method")) for s in signins] == [("张敏 Zhang Min", "sso")]
    assert [r.platform_user_id for r in refused] == [f"http://127.0.0.1:{port}|unverified-lina",
                                                     f"http://127.0.0.1:{port}|stranger"]
    assert lina is not None and lina.oidc_subject is None
    database.dispose()
