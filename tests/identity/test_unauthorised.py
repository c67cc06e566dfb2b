"""Every way to act as someone else, or beyond one's permissions, that we could think of — across the web chat,
the REST API, Slack, Telegram and WeCom — is tried against the running app. Each must be refused (an HTTP
refusal or an audited refusal) and change nothing. The count of accepted attempts must be 0."""

import base64
import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import col, func, select

from incidents import directory
from incidents.actors import SYSTEM
from incidents.clock import utcnow
from incidents.database import Database
from incidents.identity.tables import ApiToken, WebSession
from incidents.identity.tokens import Scope
from incidents.signatures import Signature
from incidents.silences import Silence
from incidents.tables import ActionRun, AuditEvent, ChatIdentity, Incident, Person, StepRun
from tests.e2e.server import ALERT_BODY, app_settings, running, service_token, wait_for
from tests.evidence.pictures import camera_jpeg
from tests.factories import seed_people
from tests.fakes.live_server import live_server
from tests.fakes.slack_api import FakeSlack, click_body, command_body, signed_headers
from tests.fakes.telegram_api import FakeTelegram, text_update, user
from tests.fakes.wecom_api import FakeWeCom, WeComServer, text_message
from tests.identity.web import PASSWORD, form_csrf, give_logins, personal_token, sign_in

pytestmark = pytest.mark.mosquitto
SLACK_SECRET = "unauth-signing-secret"
TG_SECRET = "tg-unauth-secret"
WECOM_TOKEN = "wecomtoken"
WECOM_AES = base64.b64encode(bytes(range(3, 35))).decode().rstrip("=")
REFUSALS = ("access.refused", "incident.refused", "step.refused", "signature.refused", "link.refused",
            "auth.signin_failed")


@dataclass
class Attempt:
    platform: str
    kind: str
    refused: bool
    changed: bool


def snapshot(database: Database) -> tuple[Any, ...]:
    """Everything an accepted attempt would change: incidents, steps, actions, signatures, silences, people,
    chat links and tokens."""
    with database.reader() as session:
        return (
            [(i.id, i.status, i.severity, json.dumps(i.playbook_state, sort_keys=True))
             for i in session.exec(select(Incident).order_by(col(Incident.id)))],
            [(s.incident_id, s.step_id, s.status) for s in session.exec(select(StepRun).order_by(col(StepRun.id)))],
            [(a.id, a.status, a.confirmed_by) for a in session.exec(select(ActionRun).order_by(col(ActionRun.id)))],
            session.exec(select(func.count()).select_from(Signature)).one(),
            session.exec(select(func.count()).select_from(Silence)).one(),
            [(p.id, p.roles, p.admin, p.active) for p in session.exec(select(Person).order_by(col(Person.id)))],
            sorted((c.platform, c.platform_user_id, c.person_id) for c in session.exec(select(ChatIdentity))),
            [(t.id, t.revoked_at is None) for t in session.exec(select(ApiToken).order_by(col(ApiToken.id)))],
        )


def refusals(database: Database) -> int:
    with database.reader() as session:
        return int(session.exec(select(func.count()).select_from(AuditEvent)
                                .where(col(AuditEvent.action).in_(REFUSALS))).one())


class Trial:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.attempts: list[Attempt] = []

    def attempt(self, platform: str, kind: str, act: Callable[[], httpx.Response | None]) -> None:
        """Run one attempt; refused = an HTTP refusal, or a new audited refusal; changed = the snapshot moved."""
        before, audited = snapshot(self.database), refusals(self.database)
        response = act()
        if response is not None and response.status_code >= 400:
            refused = True
        else:
            try:
                wait_for(lambda: refusals(self.database) > audited, timeout=10)
                refused = True
            except AssertionError:
                refused = False
            if response is not None and response.headers.get("content-type", "").startswith("application/json"):
                body = response.json()
                refused = refused and not (isinstance(body, dict) and body.get("ok") is True)
        time.sleep(0.2)  # anything it set off has had time to happen
        self.attempts.append(Attempt(platform, kind, refused, snapshot(self.database) != before))


def test_unauthorised_actions_are_all_refused_and_change_nothing(tmp_path: Path, sqlite_url: str,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    database = Database(sqlite_url)
    people = seed_people(database)
    give_logins(database, people)
    with database.unit_of_work() as session:
        for name_zh, name_en, login in (("刘洋", "Liu Yang", "liuyang"), ("周涛", "Zhou Tao", "zhoutao")):
            person = directory.add_person(session, name_zh=name_zh, name_en=name_en, roles=["MT"],
                                          identities=[("webchat", login)], login=login)
            assert person.id is not None
            people[login] = person.id
    trial = Trial(database)
    with ExitStack() as stack:
        slack, telegram, wecom = FakeSlack(), FakeTelegram(), FakeWeCom("ww-unauth", "wecom-secret")
        slack_url, telegram_url, wecom_url = (stack.enter_context(live_server(f.app)) for f in (slack, telegram, wecom))
        settings = app_settings(
            tmp_path, sqlite_url, require_ingest_token=True, slack_bot_token="xoxb-unauth",
            slack_signing_secret=SLACK_SECRET, slack_channel="C-OPS", slack_api_url=f"{slack_url}/api",
            telegram_bot_token=telegram.token, telegram_chat_id=str(telegram.chat_id),
            telegram_webhook_secret=TG_SECRET, telegram_api_url=f"{telegram_url}/bot", wecom_corp_id="ww-unauth",
            wecom_secret="wecom-secret", wecom_agent_id="1000002", wecom_token=WECOM_TOKEN, wecom_aes_key=WECOM_AES,
            wecom_api_url=f"{wecom_url}/cgi-bin/")
        http = stack.enter_context(running(settings))
        base = str(http.base_url)
        [incident_id] = http.post("/api/v1/alerts", json=ALERT_BODY).json()["incidents"]
        tokens = {login: personal_token(database, pid, Scope.READ, Scope.ACT) for login, pid in people.items()}

        def rest(login: str, text: str, path: str = "/api/v1/commands", **extra: Any) -> httpx.Response:
            body = {"text": text, "incident_id": incident_id, **extra} if path.endswith("commands") else extra
            return httpx.post(f"{base}{path}", json=body, headers={"Authorization": f"Bearer {tokens[login]}"})

        (wang, wang_csrf), (zhang, zhang_csrf), (lina, lina_csrf) = (sign_in(base, login) for login in
                                                                     ("wangwei", "zhangmin", "lina"))
        for client in (wang, zhang, lina):
            stack.callback(client.close)
        command = {"text": "/ack", "incident_id": incident_id}

        # -- web chat --------------------------------------------------------------------------------------
        trial.attempt("web chat", "no session at all", lambda: httpx.post(f"{base}/webchat/command", json=command))
        trial.attempt("web chat", "a forged session cookie", lambda: httpx.post(
            f"{base}/webchat/command", json=command, cookies={"wareroom_session": "forged-" + "x" * 40}))
        trial.attempt("web chat", "a session without its CSRF token", lambda: zhang.post("/webchat/command",
                                                                                           json=command))
        trial.attempt("web chat", "a CSRF token replayed from another session", lambda: zhang.post(
            "/webchat/command", json=command, headers={"X-CSRF-Token": lina_csrf}))
        gone, gone_csrf = sign_in(base, "zhangmin")
        gone.post("/signout", data={"csrf": gone_csrf})
        trial.attempt("web chat", "a signed-out session and its CSRF token", lambda: httpx.post(
            f"{base}/webchat/command", json=command, headers={"X-CSRF-Token": gone_csrf},
            cookies={"wareroom_session": _cookie(gone)}))
        idle, idle_csrf = sign_in(base, "zhangmin")
        with database.unit_of_work() as session:
            for row in session.exec(select(WebSession).where(col(WebSession.ended_at).is_(None))):
                if row.person_id == people["zhangmin"] and row.csrf_token == idle_csrf:
                    row.last_seen_at = utcnow() - timedelta(hours=2)
                    session.add(row)
        trial.attempt("web chat", "a session past its idle timeout", lambda: idle.post(
            "/webchat/command", json=command, headers={"X-CSRF-Token": idle_csrf}))
        trial.attempt("web chat", "a signed-in page naming another person to act as", lambda: wang.post(
            "/webchat/command", json={**command, "user": "lina"}, headers={"X-CSRF-Token": wang_csrf}))
        trial.attempt("web chat", "a shift lead closing (no close permission)", lambda: wang.post(
            "/webchat/command", json={"text": "/close", "incident_id": incident_id},
            headers={"X-CSRF-Token": wang_csrf}))
        trial.attempt("web chat", "QA silencing alarms (no silence permission)", lambda: zhang.post(
            "/webchat/command", json={"text": "/silence D1 30m test", "incident_id": incident_id},
            headers={"X-CSRF-Token": zhang_csrf}))
        trial.attempt("web chat", "a non-admin adding a person", lambda: wang.post("/admin/people", data={
            "csrf": wang_csrf, "name_zh": "假人", "name_en": "Fake", "roles": "WM", "admin": "1"}))

        # legitimate work brings the QA disposition, which needs a signature, up
        for text in ("/done verify 7.9", "/done correct-cause door", "/done check-recovery yes"):
            assert rest("wangwei", text).json()["ok"]
        assert httpx.post(f"{base}/api/v1/incidents/{incident_id}/steps/quarantine/photo",
                          files={"file": ("q1.jpg", camera_jpeg(), "image/jpeg")},
                          headers={"Authorization": f"Bearer {tokens['wangwei']}"}).json()["ok"]
        sign_path = f"/sign/step/{incident_id}/qa-assessment"
        page = zhang.get(sign_path)
        assert page.status_code == 200 and "QA disposition decision" in page.text
        trial.attempt("web chat", "an e-signature with a wrong password", lambda: zhang.post(sign_path, data={
            "csrf": form_csrf(page.text), "answer": "release", "reason": "fine", "password": "guess-1234567"}))
        wang_page = wang.get(sign_path)
        trial.attempt("web chat", "an e-signature by someone without the step's role", lambda: wang.post(
            sign_path, data={"csrf": form_csrf(wang_page.text), "answer": "release", "reason": "fine",
                             "password": PASSWORD}))
        trial.attempt("web chat", "an e-signature without the CSRF token", lambda: zhang.post(sign_path, data={
            "answer": "release", "reason": "fine", "password": PASSWORD}))

        # -- REST API --------------------------------------------------------------------------------------
        service = service_token(sqlite_url, Scope.READ, Scope.INGEST, name="alertmanager")
        trial.attempt("REST", "a service token acting", lambda: httpx.post(
            f"{base}/api/v1/commands", json=command, headers={"Authorization": f"Bearer {service}"}))
        reader = personal_token(database, people["zhangmin"], Scope.READ)
        trial.attempt("REST", "a read-only personal token acting", lambda: httpx.post(
            f"{base}/api/v1/commands", json=command, headers={"Authorization": f"Bearer {reader}"}))
        revoked = personal_token(database, people["zhangmin"], Scope.READ, Scope.ACT)
        with database.unit_of_work() as session:
            session.exec(sa.update(ApiToken).where(col(ApiToken.prefix) == revoked[:10])
                         .values(revoked_at=utcnow()))
        trial.attempt("REST", "a revoked token", lambda: httpx.post(
            f"{base}/api/v1/commands", json=command, headers={"Authorization": f"Bearer {revoked}"}))
        expired = personal_token(database, people["zhangmin"], Scope.READ, Scope.ACT, days=1)
        with database.unit_of_work() as session:
            session.exec(sa.update(ApiToken).where(col(ApiToken.prefix) == expired[:10])
                         .values(expires_at=utcnow() - timedelta(minutes=1)))
        trial.attempt("REST", "an expired token", lambda: httpx.post(
            f"{base}/api/v1/commands", json=command, headers={"Authorization": f"Bearer {expired}"}))
        with database.unit_of_work() as session:
            directory.set_active(session, person_id=people["zhoutao"], active=False, by=SYSTEM)
        trial.attempt("REST", "the token of a deactivated person", lambda: rest("zhoutao", "/status"))
        trial.attempt("REST", "QA starting mitigation (no permission)", lambda: rest("zhangmin", "/mitigate"))
        trial.attempt("REST", "a signed step done without signing", lambda: rest(
            "zhangmin", "/done qa-assessment release"))
        trial.attempt("REST", "skipping a step required for closure", lambda: rest(
            "zhangmin", "/skip qa-assessment no time"))
        trial.attempt("REST", "overriding a step nobody may override", lambda: rest(
            "lina", "/resolve override probe fault"))
        trial.attempt("REST", "alert intake without a token", lambda: httpx.post(f"{base}/api/v1/alerts",
                                                                                 json=ALERT_BODY))
        trial.attempt("REST", "alert intake with a read-only token", lambda: httpx.post(
            f"{base}/api/v1/alerts", json=ALERT_BODY, headers={"Authorization": f"Bearer {reader}"}))
        trial.attempt("REST", "a non-admin token reading the directory", lambda: httpx.get(
            f"{base}/api/v1/people", headers={"Authorization": f"Bearer {tokens['wangwei']}"}))

        # the requester of an actuation may not confirm it, nor may another role
        power = rest("wangwei", "/incident power POWER", incident_id=None).json()
        power_id = int(power["text"].split()[0].lstrip("#"))
        for text in ("/done scope site_wide", "/done generator-check 否"):
            assert rest("liuyang", text, incident_id=power_id).json()["ok"]
        with database.reader() as session:
            run = session.exec(select(ActionRun).where(ActionRun.step_id == "start-generator")).one()
        click = f"v1:act:{power_id}:{run.id}"
        trial.attempt("REST", "confirming one's own actuation", lambda: rest("liuyang", "", "/api/v1/clicks",
                                                                            token=click))
        trial.attempt("REST", "confirming an actuation without the role", lambda: rest("wangwei", "",
                                                                                       "/api/v1/clicks",
                                                                                       token=click))

        # -- Slack -----------------------------------------------------------------------------------------
        root_ts = wait_for(lambda: next((ts for (_, ts), m in slack.messages.items()
                                         if m["thread_ts"] is None and f"#{incident_id} " in m["text"]), None))

        def slack_post(body: str, secret: str = SLACK_SECRET, kind: str = "application/x-www-form-urlencoded"
                       ) -> httpx.Response:
            return httpx.post(f"{base}/slack/events", content=body, headers=signed_headers(body, secret, kind))

        trial.attempt("Slack", "a click by an unlinked Slack user", lambda: slack_post(click_body(
            user="U-stranger", channel="C-OPS", message_ts=root_ts, token=f"v1:ack:{incident_id}",
            action_ts="1700000800.1")))
        trial.attempt("Slack", "a click signed with the wrong secret", lambda: slack_post(click_body(
            user="U-lina", channel="C-OPS", message_ts=root_ts, token=f"v1:ack:{incident_id}",
            action_ts="1700000800.2"), secret="guessed"))
        hook = f"{slack_url}/hooks/unauth"
        trial.attempt("Slack", "a shift lead's /close", lambda: slack_post(command_body(
            user="U-wangwei", command="/close", text=str(incident_id), response_url=hook, trigger="t-close")))
        trial.attempt("Slack", "/link with a made-up code", lambda: slack_post(command_body(
            user="U-intruder", command="/link", text="ABCD2345", response_url=hook, trigger="t-link")))

        # -- Telegram --------------------------------------------------------------------------------------
        group = {"id": telegram.chat_id, "type": "supergroup", "title": "ops"}

        def telegram_post(update: dict[str, Any], secret: str = TG_SECRET) -> httpx.Response:
            return httpx.post(f"{base}/telegram/webhook", json=update,
                              headers={"X-Telegram-Bot-Api-Secret-Token": secret})

        trial.attempt("Telegram", "an unlinked Telegram user's /ack", lambda: telegram_post(text_update(
            901, sender=user(666, "Nobody"), chat=group, text=f"/ack {incident_id}")))
        trial.attempt("Telegram", "an update with the wrong secret", lambda: telegram_post(text_update(
            902, sender=user(1002, "Na"), chat=group, text=f"/ack {incident_id}"), secret="guessed"))
        trial.attempt("Telegram", "QA starting mitigation", lambda: telegram_post(text_update(
            903, sender=user(1003, "Min"), chat=group, text=f"/mitigate {incident_id}")))

        # -- WeCom -----------------------------------------------------------------------------------------
        server = WeComServer(WECOM_TOKEN, WECOM_AES, "ww-unauth")

        def wecom_post(sender: str, text: str, msg_id: int, forged: bool = False) -> httpx.Response:
            params, body = server.callback(text_message(user=sender, content=text, msg_id=msg_id,
                                                        corp_id="ww-unauth"))
            if forged:
                params["msg_signature"] = "f" * 40
            return httpx.post(f"{base}/wecom/callback", params=params, content=body)

        trial.attempt("WeCom", "an unlinked WeCom user's /ack", lambda: wecom_post("stranger", f"/ack {incident_id}",
                                                                                  9001))
        trial.attempt("WeCom", "a callback with a forged signature", lambda: wecom_post(
            "lina", f"/ack {incident_id}", 9002, forged=True))
        trial.attempt("WeCom", "a shift lead's /close", lambda: wecom_post("wangwei", f"/close {incident_id}", 9003))

        for client in (idle, gone):
            client.close()

    kinds = len(trial.attempts)
    accepted = [a for a in trial.attempts if a.changed or not a.refused]
    platforms = sorted({a.platform for a in trial.attempts})
    with capsys.disabled():
        print(f"\nunauthorised attempts: {kinds} kinds tried across {', '.join(platforms)}, "
              f"{len(accepted)} accepted")
    assert accepted == []
    assert kinds >= 20 and platforms == ["REST", "Slack", "Telegram", "WeCom", "web chat"]
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.status == "triggered"  # nobody's /ack went through
    database.dispose()


def _cookie(client: httpx.Client) -> str:
    return client.cookies.get("wareroom_session") or ""

