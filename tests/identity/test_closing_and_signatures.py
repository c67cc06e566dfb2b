"""Guards on closing, overrides, electronic signatures and the review that shows them (handlers, both databases)."""

from pathlib import Path

from sqlmodel import select

from handlers.ports import ButtonClicked, CommandInvoked, Download, PhotoSent, Reply, UserRef
from handlers.review import ReviewSetup, build_review
from handlers.signing import Signing
from incidents import directory, signatures
from incidents.actors import SYSTEM, Actor
from incidents.database import Database
from incidents.evidence.store import LocalStore
from incidents.identity import passwords
from incidents.tables import AuditEvent, Incident
from integrations.export.render import render_html, render_markdown
from tests.conftest import FakeClock
from tests.evidence.pictures import camera_jpeg
from tests.factories import LIBRARY, Core, make_core, make_signal, seed_people

PASSWORD = "qa-signs-this-1"


class Chat:
    """Commands and clicks from the web chat identities of the seeded people."""

    def __init__(self, core: Core, incident_id: int) -> None:
        self.core, self.incident_id, self.n = core, incident_id, 0

    def __call__(self, user: str, name: str, *args: str) -> Reply:
        self.n += 1
        return self.core.router.handle(CommandInvoked(
            platform="webchat", dedupe_key=f"c{self.n}", actor=UserRef("webchat", user), thread=None,
            received_at=FakeClock.start, incident_id=self.incident_id, name=name, args=args))

    def photo(self, user: str, step_id: str) -> Reply:
        """A camera picture uploaded for ``step_id``."""
        self.n += 1
        return self.core.router.handle(PhotoSent(
            platform="webchat", dedupe_key=f"p{self.n}", actor=UserRef("webchat", user), thread=None,
            received_at=FakeClock.start, incident_id=self.incident_id, step_id=step_id,
            download=Download(camera_jpeg(), f"{step_id}.jpg")))

    def click(self, user: str, token: str) -> Reply:
        self.n += 1
        return self.core.router.handle(ButtonClicked(
            platform="webchat", dedupe_key=f"k{self.n}", actor=UserRef("webchat", user), thread=None,
            received_at=FakeClock.start, token=token))


def _actions(database: Database, action: str) -> list[AuditEvent]:
    with database.reader() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def _status(database: Database, incident_id: int) -> str:
    with database.reader() as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None
        return incident.status


def test_a_cold_chain_incident_cannot_be_closed_early_and_its_review_shows_who_did_what(database: Database,
                                                                                         tmp_path: Path) -> None:
    people = seed_people(database)
    with database.unit_of_work() as session:
        passwords.set_password(session, person_id=people["zhangmin"], password=PASSWORD, by=SYSTEM,
                               now=FakeClock.start)
    core = make_core(database, evidence=LocalStore(tmp_path / "evidence"))
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None
    chat = Chat(core, incident_id)

    acked = chat("wangwei", "认领", "冷机门已关", "door", "closed")
    assert acked.ok and acked.text.endswith("acknowledged the incident: 冷机门已关 door closed")
    [ack] = _actions(database, "incident.acknowledge")
    assert ack.reason == "冷机门已关 door closed"

    # step 1 of 11: nobody resolves it, and nobody may override the QA disposition
    early = chat("wangwei", "resolve")
    assert not early.ok and "not finished" in early.text and "QA assessment and disposition" in early.text
    forced = chat("lina", "resolve", "override", "probe", "fault")
    assert not forced.ok and "nobody can override" in forced.text
    assert chat.click("zhangmin", f"v1:resolve:{incident_id}").ok is False
    assert _status(database, incident_id) == "acknowledged"

    for user, *args in (("wangwei", "verify", "7.9"), ("wangwei", "correct-cause", "door"),
                        ("wangwei", "check-recovery", "yes")):
        done = chat(user, "done", *args)
        assert done.ok, done.text
    assert chat.photo("wangwei", "quarantine").ok

    # the QA disposition needs an electronic signature: not a chat /done, not a skip
    unsigned = chat("zhangmin", "done", "qa-assessment", "release")
    assert not unsigned.ok and "/sign/step/" in unsigned.text
    skipped = chat("zhangmin", "skip", "qa-assessment", "no", "time")
    assert not skipped.ok and "cannot be skipped" in skipped.text
    wrong = core.playbooks.complete(incident_id=incident_id, step_id="qa-assessment", actor=_qa(database),
                                    dedupe_key="s1", answer="release",
                                    signing=Signing(password="not-my-password", totp_code="", reason="stable"))
    assert not wrong.ok and "nothing was signed" in wrong.text
    signed = core.playbooks.complete(incident_id=incident_id, step_id="qa-assessment", actor=_qa(database),
                                     dedupe_key="s2", answer="release",
                                     signing=Signing(password=PASSWORD, totp_code="",
                                                     reason="在稳定性数据范围内 within stability data"))
    assert signed.ok, signed.text
    assert len(_actions(database, "signature.refused")) == 1 and len(_actions(database, "signature.signed")) == 1

    # the rest stays open: a shift lead may not override, a manager may, with a reason
    assert "not finished" in chat("lina", "resolve").text
    not_allowed = chat("wangwei", "resolve", "override", "we", "are", "done")
    assert not not_allowed.ok and "override unfinished steps" in not_allowed.text
    no_reason = chat("lina", "resolve", "override")
    assert not no_reason.ok and "needs a reason" in no_reason.text
    assert _status(database, incident_id) == "acknowledged"
    overridden = chat("lina", "resolve", "强制", "客户追踪由客服线下完成", "tracing", "done", "offline")
    assert overridden.ok, overridden.text
    assert _status(database, incident_id) == "resolved"
    [override] = _actions(database, "incident.override")
    assert override.actor_name == "李娜 Li Na" and override.reason == "客户追踪由客服线下完成 tracing done offline"
    open_steps = ["shipped-check", "trace-customers", "release-or-dispose", "capa-review"]
    assert override.after == {"transition": "resolve", "open_steps": open_steps}

    with database.reader() as session:
        review = build_review(session, incident_id=incident_id,
                              setup=ReviewSetup(library=LIBRARY, timezone="Asia/Shanghai"), now=FakeClock.start)
        [row] = signatures.of_incident(session, incident_id=incident_id)
        assert signatures.bound(session, row)
    shown = review.accountability
    assert [(a.who, a.comment) for a in shown.acknowledgements] == [("王伟 Wang Wei", "冷机门已关 door closed")]
    [signature] = shown.signatures
    assert (signature.printed_name, signature.meaning_en, signature.reason, signature.bound, signature.method) == (
        "张敏 Zhang Min", "QA disposition decision", "在稳定性数据范围内 within stability data", True, "password")
    [line] = shown.overrides
    assert line.who == "李娜 Li Na" and line.steps == tuple(open_steps)
    assert shown.refusals >= 7
    steps = {s.step_id: s.by for s in review.steps if s.status == "done"}
    assert steps == {"verify": "王伟 Wang Wei", "correct-cause": "王伟 Wang Wei", "check-recovery": "王伟 Wang Wei",
                     "quarantine": "王伟 Wang Wei", "qa-assessment": "张敏 Zhang Min"}
    html, markdown = render_html(review), render_markdown(review)
    for text in (html, markdown):
        assert "张敏 Zhang Min" in text and "QA disposition decision" in text and "within stability data" in text
        assert "冷机门已关 door closed" in text and "客户追踪由客服线下完成" in text


def test_a_signature_altered_in_the_database_is_shown_as_no_longer_bound(database: Database, tmp_path: Path) -> None:
    people = seed_people(database)
    with database.unit_of_work() as session:
        passwords.set_password(session, person_id=people["zhangmin"], password=PASSWORD, by=SYSTEM,
                               now=FakeClock.start)
    core = make_core(database, evidence=LocalStore(tmp_path / "evidence"))
    incident_id = core.flow.on_signal(make_signal())
    assert incident_id is not None
    chat = Chat(core, incident_id)
    for args in (("verify", "7.9"), ("correct-cause", "door"), ("check-recovery", "yes")):
        assert chat("wangwei", "done", *args).ok
    assert chat.photo("wangwei", "quarantine").ok
    assert core.playbooks.complete(incident_id=incident_id, step_id="qa-assessment", actor=_qa(database),
                                   dedupe_key="s", answer="reject",
                                   signing=Signing(password=PASSWORD, totp_code="", reason="out of range")).ok
    with database.unit_of_work() as session:
        [row] = signatures.of_incident(session, incident_id=incident_id)
        row.content = {**row.content, "record": {**row.content["record"], "answer": "release"}}  # falsified
        session.add(row)
    with database.reader() as session:
        [row] = signatures.of_incident(session, incident_id=incident_id)
        assert not signatures.bound(session, row)


def _qa(database: Database) -> Actor:
    with database.reader() as session:
        actor = directory.resolve(session, platform="webchat", platform_user_id="zhangmin")
    assert actor is not None
    return actor
