"""Email end to end: an admin adds a person's address (proved by the code mailed to it), sets the PIN and
rules, sends a test notification; a SEV1 then mails a signed link whose page asks for the PIN: a wrong PIN
changes nothing, the right one acknowledges, and the link cannot be used twice or forged."""

import re
from pathlib import Path

import httpx
import pytest

from incidents import directory
from incidents.actors import SYSTEM
from incidents.clock import utcnow
from incidents.database import Database
from incidents.identity import tokens
from incidents.identity.tokens import Scope
from tests.e2e.server import ALERT_BODY, app_settings, running, wait_for
from tests.factories import seed_people
from tests.fakes.smtp_server import smtp_server

pytestmark = pytest.mark.mosquitto


def _admin_token(url: str) -> tuple[int, str]:
    database = Database(url)
    wang = seed_people(database)["wangwei"]
    with database.unit_of_work() as session:
        admin = directory.add_person(session, name_zh="管理员", name_en="Admin", roles=["WM"], admin=True)
        secret, _ = tokens.create(session, name="admin", scopes=[Scope.ADMIN], person=admin, expires_at=None,
                                  by=SYSTEM, now=utcnow())
    database.dispose()
    return wang, secret


def test_email_link_acknowledges_with_the_pin_once(tmp_path: Path, sqlite_url: str) -> None:
    wang, secret = _admin_token(sqlite_url)
    with smtp_server() as (mailbox, port):
        settings = app_settings(tmp_path, sqlite_url, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                                smtp_sender="wareroom@site.example")
        settings.public_url = f"http://127.0.0.1:{settings.http_port}"
        with running(settings) as http:
            admin = {"Authorization": f"Bearer {secret}"}
            added = http.post(f"/api/v1/people/{wang}/contacts", json={"kind": "email", "address": "wang@site.example"},
                              headers=admin)
            assert added.status_code == 201
            code = re.search(r"\d{6}", mailbox.messages()[0]["Subject"])
            assert code is not None
            wrong = "000000" if code[0] != "000000" else "111111"
            assert http.post(f"/api/v1/contacts/{added.json()['id']}/verify", json={"code": wrong},
                             headers=admin).status_code == 422
            assert http.post(f"/api/v1/contacts/{added.json()['id']}/verify", json={"code": code[0]},
                             headers=admin).status_code == 200
            assert http.put(f"/api/v1/people/{wang}/pin", json={"pin": "2468"}, headers=admin).status_code == 204
            assert http.put(f"/api/v1/people/{wang}/notification-rules/SEV1", json={"steps": [["email", 0]]},
                            headers=admin).status_code == 200
            assert http.put(f"/api/v1/people/{wang}/notification-rules/SEV1", json={"steps": [["fax", 0]]},
                            headers=admin).status_code == 422
            quiet = f"/api/v1/people/{wang}/quiet-hours"
            assert http.put(quiet, json={"start": "22:00"}, headers=admin).status_code == 422
            assert http.put(quiet, json={"start": "00:00", "end": "23:59"}, headers=admin).status_code == 204
            assert http.post(f"/api/v1/people/{wang}/test-notification", json={"channel": "sms"},
                             headers=admin).status_code == 409  # no SMS set up
            tested = http.post(f"/api/v1/people/{wang}/test-notification", json={"channel": "email"}, headers=admin)
            assert tested.status_code == 200 and "测试通知" in mailbox.messages()[1]["Subject"]
            assert http.put(f"/api/v1/people/{wang}/pin", json={"pin": "1357"}).status_code == 403  # not an admin

            # quiet all day long, but SEV1 ignores quiet hours
            incident_id = http.post("/api/v1/alerts", json={**ALERT_BODY, "severity": "SEV1"}).json()["incidents"][0]
            wait_for(lambda: len(mailbox.received) >= 3)
            mail = mailbox.messages()[2]
            text = mail.get_body(("plain",))
            assert text is not None and f"#{incident_id}" in str(mail["Subject"])
            link = re.search(r"http://\S+/ack/\S+", text.get_content())
            assert link is not None
            page = httpx.get(link[0])
            assert page.status_code == 200 and 'name="pin"' in page.text
            assert httpx.post(link[0], data={"pin": "0000"}).status_code == 403
            assert http.get(f"/api/v1/incidents/{incident_id}").json()["status"] == "triggered"
            assert httpx.post(link[0][:-3] + "xyz", data={"pin": "2468"}).status_code == 410  # forged
            done = httpx.post(link[0], data={"pin": "2468"})
            assert done.status_code == 200 and f"已确认事件 #{incident_id}" in done.text
            assert http.get(f"/api/v1/incidents/{incident_id}").json()["status"] == "acknowledged"
            assert httpx.post(link[0], data={"pin": "2468"}).status_code == 410  # single use
            wait_for(lambda: any("通过邮件链接确认（wang@site.example）" in str(m) for m in
                                 http.get(f"/webchat/incidents/{incident_id}/messages").json()))
