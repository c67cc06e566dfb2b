"""Loading playbooks: values, hashes, and errors with real line numbers and plain messages."""

import hashlib
import json
from pathlib import Path

import pytest

from playbooks.loader import load_library, load_playbook
from playbooks.problems import PlaybookError, Problem
from playbooks.schema import schema_json

HEAD = """apiVersion: playbook.warehouse/v1
id: {id}
version: 3
title: {{zh: 测试预案, en: Test playbook}}
severity: SEV2
triggers: {{alerts: [{id}-alert], commands: [{id}]}}
roles: [SL, WM, MT]
steps:
"""
STEP = """  - id: verify
    title: {zh: 核实, en: Verify}
    role: SL
"""


def write(tmp_path: Path, name: str, steps: str = STEP) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(HEAD.format(id=name) + steps, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[tuple[int, str]]:
    with pytest.raises(PlaybookError) as caught:
        load_playbook(path)
    return [(problem.line, problem.message) for problem in caught.value.problems]


def test_loaded_playbook_keeps_path_hash_and_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "good")

    loaded = load_playbook(path)

    assert loaded.playbook.id == "good"
    assert loaded.playbook.version == 3
    assert loaded.path == path
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.source_lines[0] == "apiVersion: playbook.warehouse/v1"
    assert len(loaded.source_lines) == 11
    assert loaded.line("steps", 0, "role") == 11


def test_problem_reads_file_line_message() -> None:
    assert str(Problem("a.yaml", 7, "bad")) == "a.yaml:7: bad"


def test_several_errors_are_reported_together_in_line_order(tmp_path: Path) -> None:
    steps = """  - id: verify
    title: {zh: 核实, en: Verify}
    role: SL
    confirm: three_person
  - id: fix
    titel: {zh: 修, en: Fix}
    role: MT
    timeouts: {complete: 2 hours}
"""
    assert problems_of(write(tmp_path, "many", steps)) == [
        (12, "step \"verify\": confirm cannot be \"three_person\" (use 'ack' or 'two_person')"),
        (13, 'step "fix": "title" is missing'),
        (14, 'step "fix": unknown key "titel" (did you mean "title"?)'),
        (16, 'step "fix": timeouts.complete "2 hours" is not a duration; write it like 30s, 5m, 2h or 3d'),
    ]


def test_error_inside_a_parallel_group_names_the_part(tmp_path: Path) -> None:
    steps = """  - id: hold
    title: {zh: 保持, en: Hold}
    parallel:
      - id: doors
        title: {zh: 关门, en: Doors}
        role: SL
      - id: carriers
        title: {zh: 承运商, en: Carriers}
        role: SL
        input: {type: number, id: n, label: {zh: 数, en: N}, min: 5, max: 1}
"""
    assert problems_of(write(tmp_path, "group", steps)) == [
        (18, 'step "carriers": input: min 5 is greater than max 1'),
    ]


def test_text_must_give_both_languages(tmp_path: Path) -> None:
    steps = """  - id: verify
    title: Verify
    instructions: {zh: "  ", en: Check it}
    role: SL
"""
    assert problems_of(write(tmp_path, "text", steps)) == [
        (10, 'step "verify": title must give both texts, like {zh: 中文, en: English}'),
        (11, 'step "verify": instructions.zh: text must not be blank'),
    ]


def test_top_level_mistakes_have_no_step_prefix(tmp_path: Path) -> None:
    path = tmp_path / "top.yaml"
    path.write_text(HEAD.format(id="top").replace("version: 3", "version: three") + STEP + "owner: BOSS\n")

    assert problems_of(path) == [
        (3, 'version must be a whole number, not "three"'),
        (12, 'unknown role "BOSS" (roles are SL, WM, OD, SO, FW, MT, QA, IC, CS, TC, IT, SEC)'),
    ]


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- just\n- a list\n")

    assert problems_of(path) == [(1, "a playbook must be a mapping (apiVersion:, id:, ...)")]


def test_escalation_without_a_target_is_explained(tmp_path: Path) -> None:
    steps = STEP + "    timeouts: {ack: 5m, on_timeout: escalate}\n"

    assert problems_of(write(tmp_path, "esc", steps)) == [
        (12, 'step "verify": timeouts: on_timeout "escalate" needs "escalate_to": the role to escalate to'),
    ]


def test_load_library_returns_playbooks_by_id(tmp_path: Path) -> None:
    write(tmp_path, "alpha")
    write(tmp_path, "beta")

    library = load_library(tmp_path)

    assert sorted(library) == ["alpha", "beta"]
    assert library["beta"].path == tmp_path / "beta.yaml"


def test_load_library_refuses_the_same_command_twice(tmp_path: Path) -> None:
    write(tmp_path, "alpha")
    other = tmp_path / "beta.yaml"
    other.write_text(HEAD.format(id="beta").replace("commands: [beta]", "commands: [alpha]") + STEP)

    with pytest.raises(PlaybookError) as caught:
        load_library(tmp_path)

    assert [str(p) for p in caught.value.problems] == [
        f'{other}:6: command "alpha" is already used by {tmp_path / "alpha.yaml"}'
    ]


def test_load_library_refuses_start_playbook_of_unknown_id(tmp_path: Path) -> None:
    steps = STEP + "    actions:\n      - {action: start_playbook, playbook: nowhere}\n"
    path = write(tmp_path, "starter", steps)

    with pytest.raises(PlaybookError) as caught:
        load_library(tmp_path)

    assert [str(p) for p in caught.value.problems] == [
        f'{path}:13: step "verify": start_playbook "nowhere" names no known playbook'
    ]


def test_schema_json_is_the_committed_editor_schema() -> None:
    committed = Path(__file__).parents[2] / "playbooks" / "playbook.schema.json"

    assert json.loads(schema_json()) == json.loads(committed.read_text(encoding="utf-8"))
    assert json.loads(schema_json())["properties"]["apiVersion"]["const"] == "playbook.warehouse/v1"
