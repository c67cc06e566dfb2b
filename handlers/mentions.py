"""Who ``@someone`` in a command means, on any platform (``/assign @lina``, ``/handover <@U-lina>``)."""

import re

from sqlmodel import Session, select

from incidents import directory
from incidents.tables import ChatIdentity, Person

_SLACK_MENTION = re.compile(r"^<@([A-Z0-9-]+)(?:\|[^>]*)?>$", re.IGNORECASE)


def find_person(session: Session, *, platform: str, text: str) -> Person | None:
    """The active person ``text`` names: a Slack ``<@U…>`` mention, or ``@x``/``x`` where x is the platform
    user id linked on ``platform``, a sign-in login, an exact Chinese or English name, or an account linked on
    another platform that names one person. None otherwise."""
    slack = _SLACK_MENTION.match(text)
    handle = slack.group(1) if slack else text.removeprefix("@").strip()
    if not handle:
        return None
    actor = directory.resolve(session, platform=platform, platform_user_id=handle)
    if actor is not None and actor.person_id is not None:
        return session.get(Person, actor.person_id)
    linked = set(session.exec(select(ChatIdentity.person_id).where(ChatIdentity.platform_user_id == handle)))
    for person in session.exec(select(Person).where(Person.active == True)):  # noqa: E712
        if handle in (person.login, person.name_zh, person.name_en):
            return person
    if len(linked) == 1:  # an account name on another platform (e.g. the web chat's), when it names one person
        found = session.get(Person, linked.pop())
        return found if found is not None and found.active else None
    return None
