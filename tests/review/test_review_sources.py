"""The review lists the sources of the steps taken: done steps only, with the site's own rules marked."""

import pytest

from handlers.review import ReviewSetup, build_review
from handlers.review_sources import StepSource, sources_of_steps
from incidents.database import Database
from integrations.export.render import render_html, render_markdown
from tests.factories import LIBRARY
from tests.review.scenario import play_cold_room_incident

CDC_SHEET = "CDC: Handling a Temperature Excursion in Your Vaccine Storage Unit"


@pytest.fixture
def review_md_html(database: Database) -> tuple[tuple[StepSource, ...], str, str]:
    scenario = play_cold_room_incident(database)  # "shipped-check" is still open at resolution
    with database.reader() as session:
        review = build_review(session, incident_id=scenario.incident_id,
                              setup=ReviewSetup(library=LIBRARY, timezone="Asia/Shanghai"), now=scenario.end)
    return review.sources, render_markdown(review), render_html(review)


def test_the_review_lists_the_sources_of_the_done_steps_only(
        review_md_html: tuple[tuple[StepSource, ...], str, str]) -> None:
    sources, markdown, html = review_md_html
    gsp = "药品经营质量管理规范"
    assert [(s.step_id, s.document, s.clause, s.site_rule) for s in sources] == [
        ("verify", CDC_SHEET, "“Document”", False), ("verify", None, None, True),
        ("correct-cause", CDC_SHEET, "“Correct”", False), ("check-recovery", None, None, True),
        ("quarantine", gsp, "第八十九条", False), ("quarantine", CDC_SHEET, "“Notify”", False),
        ("qa-assessment", gsp, "第八十九条", False), ("qa-assessment", CDC_SHEET, "“Contact”", False)]
    assert "shipped-check" not in {s.step_id for s in sources}  # still open when it was resolved
    assert "## 步骤依据 Sources of the steps taken" in markdown
    assert (f"| 核实温度读数 Verify the reading | {CDC_SHEET} “Document” | "
            "resource sheet of the CDC Vaccine Storage and Handling Toolkit |") in markdown
    assert "| 核实温度读数 Verify the reading | 本场所规定 Site rule |  |" in markdown
    assert "<h2>步骤依据 Sources of the steps taken</h2>" in html and f"{CDC_SHEET} “Document”" in html


def test_links_are_kept_and_steps_gone_from_the_playbook_are_left_out() -> None:
    lines = sources_of_steps(LIBRARY["fire-evacuation"], ["headcount", "no-such-step", "headcount"])
    assert lines == (StepSource("headcount", "集合点清点人数", "Headcount at the assembly point", "OSHA 29 CFR 1910.38",
                                "(c)(4)", "https://www.osha.gov/laws-regs/regulations/standardnumber/1910/1910.38",
                                None, False),)
    assert sources_of_steps(None, ["headcount"]) == ()
