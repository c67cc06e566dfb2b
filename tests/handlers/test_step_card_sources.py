"""The step card says why the step is there: the sources it cites, or that it is the site's own rule."""

from dataclasses import replace

from sqlmodel import select

from handlers.messages import StepView, step_message
from handlers.playbook_flow import why_text
from handlers.ports import CommandInvoked, OutboundMessage, UserRef
from incidents.database import Database
from incidents.tables import OutboxMessage
from tests.conftest import FakeClock
from tests.factories import LIBRARY, Core, make_core, seed_people

WHY = "依据 Why this step"


def _cards(database: Database) -> dict[str, OutboundMessage]:
    with database.reader() as session:
        posts = session.exec(select(OutboxMessage).where(OutboxMessage.op == "post")).all()
    return {p.idempotency_key.split(":")[3]: OutboundMessage.from_json(p.payload["message"])
            for p in posts if p.idempotency_key.split(":")[2] == "step"}


def _declare(core: Core, alias: str, key: str) -> None:
    reply = core.router.handle(CommandInvoked(platform="webchat", dedupe_key=key, actor=UserRef("webchat", "wangwei"),
                                              thread=None, received_at=FakeClock.start, incident_id=None,
                                              name="incident", args=(alias, "D1")))
    assert reply.ok, reply.text


def test_a_step_card_cites_its_clauses_and_a_site_rule_says_so(database: Database, clock: FakeClock) -> None:
    seed_people(database)
    core = make_core(database, now=clock)
    _declare(core, "fire", "k-fire")
    _declare(core, "power", "k-power")
    cards = _cards(database)
    assert dict(cards["call-119"].fields)[WHY] == "OSHA 29 CFR 1910.38 (c)(1) · 中华人民共和国消防法 第四十四条"
    assert dict(cards["stop-charging"].fields)[WHY] == "OSHA 29 CFR 1910.38 (c)(3)"
    assert dict(cards["people-safe"].fields)[WHY] == "本场所规定 site rule"
    assert f"{WHY}: 本场所规定 site rule" in cards["people-safe"].plain_text()


def test_why_text_joins_citations_and_the_site_rule_mark() -> None:
    fire = LIBRARY["fire-evacuation"].playbook
    assert why_text(fire, "call-119") == "OSHA 29 CFR 1910.38 (c)(1) · 中华人民共和国消防法 第四十四条"
    assert why_text(fire, "stop-charging") == "OSHA 29 CFR 1910.38 (c)(3)"  # its group's source
    assert why_text(fire, "no-re-entry") == ("中华人民共和国消防法 第四十五条 · 中华人民共和国消防法 第五十一条 · "
                                             "本场所规定 site rule")


def test_a_card_without_sources_has_no_why_line_and_a_done_card_drops_it() -> None:
    view = StepView(step_id="tidy", number=1, total=2, title_zh="整理", title_en="Tidy", instructions_zh="",
                    instructions_en="", role="SL", due=None, safety=False)
    assert WHY not in dict(step_message(7, view).fields)
    cited = replace(view, why="OSHA 29 CFR 1910.38 (c)(4)")
    assert dict(step_message(7, cited).fields)[WHY] == "OSHA 29 CFR 1910.38 (c)(4)"
    assert WHY not in dict(step_message(7, cited, outcome="done by 王伟").fields)
