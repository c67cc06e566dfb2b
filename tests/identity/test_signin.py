"""Signing in as a new user would: the first admin from the CLI, passwords, lockout, sign-out, tokens, links."""

import re
from pathlib import Path

import httpx
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli import app
from handlers.ports import CommandInvoked, UserRef
from incidents import directory
from incidents.actors import SYSTEM
from incidents.database import Database
from incidents.identity import codes, passwords
from incidents.tables import AuditEvent, ChatIdentity
from tests.conftest import FakeClock
from tests.e2e.server import app_settings, running
from tests.factories import make_core, seed_people
from tests.identity.web import PASSWORD, form_csrf, give_logins, sign_in

pytestmark = pytest.mark.mosquitto


def _audit(database: Database, action: str) -> list[AuditEvent]:
    with database.reader() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def _try(base: str, login: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=base) as client:
        page = client.get("/signin")
        return client.post("/signin", data={"csrf": form_csrf(page.text), "login": login, "password": password})


def test_the_first_admin_signs_in_with_the_one_time_link_and_sets_a_password(
        tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = app_settings(tmp_path, sqlite_url)
    monkeypatch.setenv("WAREROOM_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("WAREROOM_PUBLIC_URL", f"http://127.0.0.1:{settings.http_port}")
    added = CliRunner().invoke(app, ["people", "add", "--name-zh", "李娜", "--name-en", "Li Na", "--role", "WM",
                                     "--login", "lina", "--admin"])
    assert added.exit_code == 0, added.output
    link = re.search(r"(http://\S+/signin/link/\S+)", added.output)
    assert link is not None
    with running(settings, token=False) as http:
        assert http.get("/", follow_redirects=False).headers["location"] == "/signin?next=/"
        assert http.get("/api/v1/incidents").status_code == 401  # nothing without signing in
        browser = httpx.Client(base_url=str(http.base_url))
        page = browser.get(link.group(1))
        used = browser.post(link.group(1), data={"csrf": form_csrf(page.text)})
        assert used.status_code == 303 and used.headers["location"] == "/account"
        account = browser.get("/account")
        assert "李娜 Li Na" in account.text and "manage_people" in account.text
        saved = browser.post("/account/password", data={"csrf": form_csrf(account.text), "new": PASSWORD})
        assert "密码已保存" in saved.text
        again = httpx.Client(base_url=str(http.base_url))
        assert again.post(link.group(1), data={"csrf": "x"}).status_code in (400, 403)  # one use only
        assert _try(str(http.base_url), "lina", PASSWORD).status_code == 303
        assert browser.get("/admin").status_code == 200
        for client in (browser, again):
            client.close()


def test_wrong_passwords_say_nothing_about_the_account_lock_it_and_are_audited(tmp_path: Path,
                                                                                sqlite_url: str) -> None:
    database = Database(sqlite_url)
    give_logins(database, seed_people(database))
    with running(app_settings(tmp_path, sqlite_url, signin_attempts_per_minute=50), token=False) as http:
        base = str(http.base_url)
        unknown, wrong = _try(base, "nobody", "whatever-123"), _try(base, "zhangmin", "whatever-123")
        assert unknown.status_code == wrong.status_code == 401
        message = "Wrong user name, password or code, or the account is locked for a while."
        assert message in unknown.text and message in wrong.text
        for _ in range(passwords.MAX_FAILURES - 1):
            assert _try(base, "zhangmin", "whatever-123").status_code == 401
        locked = _try(base, "zhangmin", PASSWORD)  # the right password, but locked now
        assert locked.status_code == 401 and message in locked.text
        assert _try(base, "wangwei", PASSWORD).status_code == 303  # others are not affected
        no_csrf = httpx.post(f"{base}/signin", data={"login": "wangwei", "password": PASSWORD})
        assert no_csrf.status_code == 403
    failures = _audit(database, "auth.signin_failed")
    reasons = [f.reason or "" for f in failures]
    assert reasons[0] == "unknown login" and reasons[1] == "wrong password"
    assert any("locked for 15 min after 5 failures" in r for r in reasons)
    assert reasons[-1] == "account locked"
    database.dispose()


def test_sign_in_attempts_are_throttled_per_address(tmp_path: Path, sqlite_url: str) -> None:
    with running(app_settings(tmp_path, sqlite_url, signin_attempts_per_minute=3), token=False) as http:
        codes_seen = [_try(str(http.base_url), "someone", "wrong-password").status_code for _ in range(4)]
    assert codes_seen == [401, 401, 401, 429]


def test_sign_out_ends_the_session_and_a_personal_token_is_shown_once(tmp_path: Path, sqlite_url: str) -> None:
    database = Database(sqlite_url)
    give_logins(database, seed_people(database))
    with running(app_settings(tmp_path, sqlite_url), token=False) as http:
        browser, csrf = sign_in(str(http.base_url), "wangwei")
        account = browser.get("/account")
        made = browser.post("/account/tokens", data={"csrf": csrf, "name": "my script", "scopes": ["read", "act"],
                                                      "days": "30"})
        token = re.search(r'id="new-token">(wr_[^<]+)<', made.text)
        assert token is not None and "my script" in account.text + made.text
        assert browser.get("/account").text.count(token.group(1)) == 0  # shown once
        with_token = http.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token.group(1)}"})
        assert with_token.status_code == 200
        linked = browser.post("/account/link-code", data={"csrf": csrf})
        code = re.search(r"/link ([A-Z2-9]{8})", linked.text)
        assert code is not None
        assert browser.post("/signout", data={"csrf": csrf}).status_code == 303
        assert browser.get("/auth/me").status_code == 401
        assert browser.get("/", follow_redirects=False).status_code == 303
        browser.close()
    assert [e.reason for e in _audit(database, "auth.session_ended")] == ["signed out"]
    database.dispose()


def test_link_codes_bind_a_chat_account_once_and_never_to_two_people(database: Database) -> None:
    people = seed_people(database)
    clock = FakeClock(FakeClock.start)
    core = make_core(database, platforms=("slack",), now=clock)
    with database.unit_of_work() as session:
        code = codes.issue(session, purpose=codes.LINK, person_id=people["lina"], by=SYSTEM, now=clock())
        taken = codes.issue(session, purpose=codes.LINK, person_id=people["zhangmin"], by=SYSTEM, now=clock())
        late = codes.issue(session, purpose=codes.LINK, person_id=people["zhangmin"], by=SYSTEM, now=clock())

    def link(user: str, text: str, key: str) -> str:
        reply = core.router.handle(CommandInvoked(platform="slack", dedupe_key=key, actor=UserRef("slack", user,
                                                                                                   "Na"),
                                                  thread=None, received_at=clock(), name="link", args=(text,)))
        return ("ok " if reply.ok else "refused ") + reply.text.splitlines()[-1]

    assert link("U-new-lina", code.lower(), "l1") == "ok Linked: this slack account now acts as 李娜 Li Na."
    assert link("U-other", code, "l2").startswith("refused That link code is wrong, used or expired")
    assert link("U-wangwei", taken, "l3") == ("refused This account is already linked to 王伟 Wang Wei. "
                                              "An admin must remove that link first.")
    with database.reader() as session:
        slack_ids = {c.platform_user_id: c.person_id for c in session.exec(
            select(ChatIdentity).where(ChatIdentity.platform == "slack"))}
    assert slack_ids["U-new-lina"] == people["lina"] and "U-lina" not in slack_ids  # one account per platform
    [added] = _audit(database, "directory.link_added")[-1:]
    assert (added.before, added.after) == ({"identity": "slack:U-lina"},
                                           {"identity": "slack:U-new-lina", "display_name": "Na"})
    clock.advance(minutes=16)
    assert link("U-zhang2", late, "l4").startswith("refused That link code is wrong, used or expired")
    assert [e.reason for e in _audit(database, "link.refused")] == [
        "code already used", "already linked to person #1", "code expired"]


def test_directory_changes_are_audited_with_before_and_after(database: Database) -> None:
    people = seed_people(database)
    with database.unit_of_work() as session, pytest.raises(directory.DirectoryRefused, match="Valid codes: SL"):
        directory.edit_person(session, person_id=people["wangwei"], by=SYSTEM, roles=["SL", "CEO"])
    with database.unit_of_work() as session:
        directory.edit_person(session, person_id=people["wangwei"], by=SYSTEM, roles=["SL", "mt"],
                              qualifications=["叉车证 forklift"])
        directory.set_active(session, person_id=people["wangwei"], active=False, by=SYSTEM, reason="left")
    [edited] = _audit(database, "directory.person_edited")
    assert edited.before is not None and edited.after is not None
    assert (edited.before["roles"], edited.after["roles"]) == (["SL"], ["SL", "MT"])
    assert edited.after["qualifications"] == ["叉车证 forklift"]
    [gone] = _audit(database, "directory.person_deactivated")
    assert (gone.before, gone.after, gone.reason) == ({"active": True}, {"active": False}, "left")
    with database.reader() as session:
        assert directory.resolve(session, platform="slack", platform_user_id="U-wangwei") is None  # kept, inactive
