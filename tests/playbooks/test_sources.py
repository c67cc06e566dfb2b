"""Sources in the playbook language: the fields, which steps are life-safety, lint warnings and --strict,
folders linted with their sub-folders, and the eight defaults traced to their sources."""

import json
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from playbooks.lint import lint_paths, main
from playbooks.loader import ANSWERS_SUFFIX, answers_file, load_library, load_playbook, playbook_files
from playbooks.schema import Playbook, Source, schema_json
from playbooks.sources import life_safety_reason, provenance, untraced_steps
from tests.playbooks.guarded import GUARDED, OSHA_38, write_guarded

LIBRARY = Path(__file__).parents[2] / "playbooks" / "library"
def test_a_source_needs_a_link_or_an_edition_and_gives_its_citation() -> None:
    with pytest.raises(ValidationError, match='source "GB 50016" needs "url" or "edition"'):
        Source(document="GB 50016")
    with pytest.raises(ValidationError):
        Source(document="OSHA 29 CFR 1910.38", url="osha.gov/1910.38")
    cited = Source(document="药品经营质量管理规范", clause="第八十九条", edition="2016年6月30日修正")
    assert cited.citation() == "药品经营质量管理规范 第八十九条"
    assert Source(document="GB 50016", edition="GB 50016-2014").citation() == "GB 50016"


def test_the_editor_schema_offers_sources_site_rule_and_life_safety() -> None:
    schema = json.loads(schema_json())
    assert {"sources", "life_safety"} <= set(schema["properties"])
    assert {"sources", "site_rule"} <= set(schema["$defs"]["Step"]["properties"])
    assert {"sources", "site_rule"} <= set(schema["$defs"]["GroupPart"]["properties"])
    assert schema["$defs"]["Source"]["required"] == ["document"]


def test_which_steps_are_life_safety_and_why(tmp_path: Path) -> None:
    playbook = load_playbook(write_guarded(tmp_path, "charging-room")).playbook
    reasons = {step.id: life_safety_reason(playbook, step.id) for step in playbook.all_steps()}
    assert reasons == {"make-safe": "a safety step", "cut-power": "it acts on equipment through mqtt.publish",
                       "shutdowns": "a safety step", "stop-a": "a safety step", "stop-b": "a safety step",
                       "tidy-up": None}
    whole = Playbook.model_validate({**yaml.safe_load(GUARDED.format(id="x", url=OSHA_38)), "life_safety": True})
    assert life_safety_reason(whole, "tidy-up") == "a step of a life-safety playbook"
    fire = Playbook.model_validate(yaml.safe_load(GUARDED.format(id="smoke-room", url=OSHA_38)))
    assert life_safety_reason(fire, "tidy-up") == "a step of a fire playbook"


def test_a_group_part_without_its_own_word_uses_its_groups(tmp_path: Path) -> None:
    playbook = load_playbook(write_guarded(tmp_path, "charging-room")).playbook
    assert provenance(playbook, "stop-a").site_rule and provenance(playbook, "stop-a").sources == ()
    own = provenance(playbook, "stop-b")
    assert not own.site_rule and [s.citation() for s in own.sources] == ["OSHA 29 CFR 1910.38 (c)(3)"]
    assert [u.step_id for u in untraced_steps(playbook)] == ["make-safe", "cut-power"]


def test_lint_warns_about_untraced_life_safety_steps_and_strict_makes_them_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_guarded(tmp_path, "charging-room")
    warnings = lint_paths([path])
    assert [(p.line, p.severity) for p in warnings] == [(9, "warning"), (13, "warning")]
    assert warnings[0].message == ('step "make-safe" is life-safety (a safety step) but cites no source; '
                                   'add "sources:" (document, clause, url or edition) or mark it "site_rule: true"')
    assert str(warnings[1]).startswith(f"{path}:13: warning: step \"cut-power\" is life-safety (it acts on equipment")
    assert main([str(path)]) == 0
    out = capsys.readouterr()
    assert "1 playbook(s) OK, 2 warning(s)" in out.out and f"{path}:9: warning:" in out.out
    assert [p.severity for p in lint_paths([path], strict=True)] == ["error", "error"]
    assert main([str(path), "--strict"]) == 1
    assert "2 problem(s) found" in capsys.readouterr().err


def test_lint_reads_sub_folders_but_not_hidden_ones_or_answers_scripts(tmp_path: Path) -> None:
    (tmp_path / "site-a" / "cold").mkdir(parents=True)
    (tmp_path / ".venv").mkdir()
    nested = write_guarded(tmp_path / "site-a" / "cold", "charging-room")
    (tmp_path / "site-a" / "cold" / f"charging-room{ANSWERS_SUFFIX}").write_text("events: []\n", encoding="utf-8")
    (tmp_path / ".venv" / "broken.yaml").write_text("not: [a playbook\n", encoding="utf-8")
    assert playbook_files([tmp_path]) == [nested]
    assert {p.file for p in lint_paths([tmp_path])} == {str(nested)}
    assert answers_file(load_playbook(nested)) == nested.with_name("charging-room.answers.yaml")


def test_the_eight_defaults_pass_strict_lint_and_every_step_cites_a_source_or_is_a_site_rule() -> None:
    assert lint_paths([LIBRARY], strict=True) == []
    library = load_library(LIBRARY)
    for loaded in library.values():
        untraced = [s.id for s in loaded.playbook.all_steps() if not provenance(loaded.playbook, s.id).traced]
        assert untraced == [], loaded.playbook.id
    assert {pid for pid, loaded in library.items() if not loaded.playbook.sources} == {"count-discrepancy"}
    life_safety = {pid for pid, loaded in library.items() if loaded.playbook.life_safety}
    assert life_safety == {"fire-evacuation", "power-loss-cold-chain", "equipment-failure"}


def test_the_defaults_cite_the_clauses_they_follow() -> None:
    library = load_library(LIBRARY)

    def cited(playbook_id: str, step_id: str) -> list[str]:
        return [s.citation() for s in provenance(library[playbook_id].playbook, step_id).sources]

    assert cited("fire-evacuation", "headcount") == ["OSHA 29 CFR 1910.38 (c)(4)"]
    assert cited("fire-evacuation", "call-119") == ["OSHA 29 CFR 1910.38 (c)(1)", "中华人民共和国消防法 第四十四条"]
    assert cited("fire-evacuation", "stop-charging") == ["OSHA 29 CFR 1910.38 (c)(3)"]  # from its group
    assert cited("equipment-failure", "loto") == ["OSHA 29 CFR 1910.147 (d)(1)–(d)(6)"]
    assert "药品经营质量管理规范 第八十九条" in cited("cold-chain-excursion", "quarantine")
    assert cited("power-loss-cold-chain", "generator-check")[0] == "药品经营质量管理规范 第四十九条（三）"
    assert cited("staff-shortage", "overtime") == ["中华人民共和国劳动法 第四十一条"]
    for loaded in library.values():
        for step in loaded.playbook.all_steps():
            for source in step.sources:
                if source.document.startswith("OSHA 29 CFR "):
                    section = source.document.removeprefix("OSHA 29 CFR ")
                    assert source.url is not None and source.url.endswith(f"/{section}"), (step.id, source)


def test_every_default_playbook_ships_an_example_answers_file() -> None:
    for loaded in load_library(LIBRARY).values():
        script = yaml.safe_load(answers_file(loaded).read_text(encoding="utf-8"))
        assert script["events"], loaded.playbook.id
