"""An admin sets a person's language in the web app, and that person's pages follow it."""

from pathlib import Path

import pytest

from incidents import directory
from incidents.actors import SYSTEM
from incidents.database import Database
from incidents.tables import Person
from tests.e2e.server import app_settings, running
from tests.factories import seed_people
from tests.identity.web import form_csrf, give_logins, sign_in

pytestmark = pytest.mark.mosquitto


def test_an_admin_sets_a_language_and_the_persons_pages_follow_it(tmp_path: Path, sqlite_url: str,
                                                                 language_setup: None) -> None:
    database = Database(sqlite_url)
    people = seed_people(database)
    give_logins(database, people)
    with database.unit_of_work() as session:
        directory.edit_person(session, person_id=people["lina"], by=SYSTEM, admin=True)
    settings = app_settings(tmp_path, sqlite_url)
    with running(settings, token=False) as http:
        admin, _ = sign_in(str(http.base_url), "lina")
        page = admin.get(f"/admin/people/{people['wangwei']}")
        assert '<option value="en">English</option>' in page.text
        assert '<option value="both" selected>中文 + English</option>' in page.text
        form = {"csrf": form_csrf(page.text), "name_zh": "王伟", "name_en": "Wang Wei", "roles": "SL",
                "login": "wangwei", "email": "", "qualifications": ""}
        refused = admin.post(f"/admin/people/{people['wangwei']}", data={**form, "language": "xx"})
        assert "Unknown language &#34;xx&#34;; known: both, en, vi, zh" in refused.text
        saved = admin.post(f"/admin/people/{people['wangwei']}", data={**form, "language": "en"})
        assert "已保存。" in saved.text and "Saved." in saved.text  # the admin reads both
        assert '<option value="en" selected>English</option>' in saved.text
        wang, _ = sign_in(str(http.base_url), "wangwei")
        account = wang.get("/account")
        assert "<title>My account · WareRoom</title>" in account.text and '<html lang="en">' in account.text
        assert "我的账号" not in account.text and '<span lang="en">Linked accounts</span>' in account.text
        assert "<title>我的账号 My account · WareRoom</title>" in admin.get("/account").text
    with database.reader() as session:
        row = session.get(Person, people["wangwei"])
    assert row is not None and row.language == "en"
