"""Helpers for tests that sign in to the running app as a browser would (forms, cookies, CSRF)."""

import re
from datetime import timedelta

import httpx

from incidents.actors import SYSTEM
from incidents.clock import utcnow
from incidents.database import Database
from incidents.identity import passwords, tokens
from incidents.identity.tokens import Scope
from incidents.tables import Person

PASSWORD = "long-enough-password-1"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def give_logins(database: Database, people: dict[str, int], password: str = PASSWORD) -> None:
    """Each seeded person signs in with their web chat id as login and ``password``."""
    with database.unit_of_work() as session:
        for login, person_id in people.items():
            person = session.get(Person, person_id)
            assert person is not None
            person.login = login
            session.add(person)
            passwords.set_password(session, person_id=person_id, password=password, by=SYSTEM, now=utcnow())


def form_csrf(html: str) -> str:
    """The hidden CSRF field of a page's first form."""
    found = _CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def sign_in(base_url: str, login: str, password: str = PASSWORD) -> tuple[httpx.Client, str]:
    """A browser-like client signed in as ``login`` and its session's CSRF token."""
    client = httpx.Client(base_url=base_url, timeout=10)
    page = client.get("/signin")
    answer = client.post("/signin", data={"csrf": form_csrf(page.text), "login": login, "password": password,
                                          "next": "/"})
    assert answer.status_code == 303, answer.text
    me = client.get("/auth/me").json()
    return client, str(me["csrf"])


def personal_token(database: Database, person_id: int, *scopes: Scope, days: float | None = None) -> str:
    """A personal bearer token made straight in the database."""
    with database.unit_of_work() as session:
        secret, _ = tokens.create(session, name="test", scopes=list(scopes), person=session.get(Person, person_id),
                                  expires_at=utcnow() + timedelta(days=days) if days else None, by=SYSTEM,
                                  now=utcnow())
    return secret
