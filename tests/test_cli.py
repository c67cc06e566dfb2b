"""The wareroom command: audit verify, playbook lint and simulate, people."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from incidents.database import Database

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


@pytest.fixture
def env(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("WAREROOM_DATABASE_URL", sqlite_url)
    return Database(sqlite_url)


def test_playbook_lint_passes_on_the_library_and_fails_with_file_and_line() -> None:
    assert runner.invoke(app, ["playbook", "lint", str(ROOT / "playbooks" / "library")]).exit_code == 0
    broken = sorted((ROOT / "tests" / "playbooks" / "broken").glob("*.yaml"))[0]
    result = runner.invoke(app, ["playbook", "lint", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:" in result.output


def test_playbook_simulate_prints_the_path() -> None:
    script = ROOT / "playbooks" / "library" / "cold-chain-excursion.answers.yaml"
    result = runner.invoke(app, ["playbook", "simulate", "cold-chain-excursion", "--answers", str(script)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "+0:00:00 verify: active"
    assert "+0:10:00 replace-probe: skipped: branch not taken" in lines
    assert lines[-1] == "finished"
    unknown = runner.invoke(app, ["playbook", "simulate", "no-such", "--answers", str(script)])
    assert unknown.exit_code == 2 and "no playbook 'no-such'" in unknown.output


def test_people_add_and_list(env: Database) -> None:
    added = runner.invoke(app, ["people", "add", "--name-zh", "王伟", "--name-en", "Wang Wei", "--role", "SL",
                                "--identity", "slack:U024BE7LH"])
    assert added.exit_code == 0 and added.output.strip() == "added person #1 王伟 Wang Wei (SL)"
    again = runner.invoke(app, ["people", "add", "--name-zh", "王伟", "--name-en", "Wang Wei", "--role", "SL"])
    assert again.exit_code == 2 and "already in the directory as #1" in again.output
    unknown = runner.invoke(app, ["people", "add", "--name-zh", "李娜", "--name-en", "Li Na", "--role", "BOSS"])
    assert unknown.exit_code == 2 and "Unknown role code(s): BOSS" in unknown.output
    assert "WM (仓库经理" in unknown.output
    taken = runner.invoke(app, ["people", "add", "--name-zh", "李娜", "--name-en", "Li Na", "--role", "WM",
                                "--identity", "slack:U024BE7LH"])
    assert taken.exit_code == 2 and "already linked to person #1" in taken.output
    bad = runner.invoke(app, ["people", "add", "--name-zh", "李娜", "--name-en", "Li Na", "--role", "WM",
                              "--identity", "U024"])
    assert bad.exit_code == 2 and "platform:user_id" in bad.output
    listed = runner.invoke(app, ["people", "list"])
    assert listed.output.strip() == "#1 王伟 Wang Wei [SL] slack:U024BE7LH"


def test_serve_refuses_a_broken_playbook_with_file_and_line(tmp_path: Path, env: Database,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fire.yaml").write_text("apiVersion: playbook.warehouse/v1\nid: fire\nversion: 1\nstepz: []\n",
                                        encoding="utf-8")
    monkeypatch.setenv("WAREROOM_PLAYBOOK_DIR", str(tmp_path))
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "WareRoom cannot start" in result.output
    assert f"{tmp_path / 'fire.yaml'}:4:" in result.output


def test_people_shift_is_recorded_and_bad_times_are_refused(env: Database) -> None:
    runner.invoke(app, ["people", "add", "--name-zh", "王伟", "--name-en", "Wang Wei", "--role", "SL"])
    ok = runner.invoke(app, ["people", "shift", "1", "--start", "2026-11-25 08:00", "--end", "2026-11-25 20:00"])
    assert ok.exit_code == 0
    assert ok.output.strip() == "person #1 on shift 2026-11-25 08:00 – 2026-11-25 20:00 (Asia/Shanghai)"
    backwards = runner.invoke(app, ["people", "shift", "1", "--start", "2026-11-25 20:00", "--end", "2026-11-25 08:00"])
    assert backwards.exit_code == 2 and "must end after it starts" in backwards.output
    nobody = runner.invoke(app, ["people", "shift", "9", "--start", "2026-11-25 08:00", "--end", "2026-11-25 09:00"])
    assert nobody.exit_code == 2 and "no person #9" in nobody.output
