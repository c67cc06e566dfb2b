"""`wareroom playbook lint` on folders and with --strict; `simulate` with the shipped example answers."""

from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from bot.cli_errors import EXIT_MISSING
from tests.playbooks.guarded import write_guarded

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_lint_of_the_playbooks_folder_checks_the_eight_defaults_strictly() -> None:
    result = runner.invoke(app, ["playbook", "lint", "--strict", str(ROOT / "playbooks")])
    assert (result.exit_code, result.output.strip()) == (0, "8 playbook(s) OK")


def test_lint_warns_and_strict_refuses_an_untraced_life_safety_step(tmp_path: Path) -> None:
    path = write_guarded(tmp_path, "charging-room")
    warned = runner.invoke(app, ["playbook", "lint", str(tmp_path)])
    assert warned.exit_code == 0 and f"{path}:9: warning: step \"make-safe\" is life-safety" in warned.output
    refused = runner.invoke(app, ["playbook", "lint", "--strict", str(path)])
    assert refused.exit_code == 1 and f"{path}:9: step \"make-safe\" is life-safety" in refused.output


def test_simulate_plays_the_example_answers_that_ship_with_the_playbook(tmp_path: Path) -> None:
    result = runner.invoke(app, ["playbook", "simulate", "fire-evacuation"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "finished"
    missing = runner.invoke(app, ["playbook", "simulate", "fire-evacuation", "--answers", str(tmp_path / "no.yaml")])
    assert missing.exit_code == EXIT_MISSING
    assert missing.output.strip() == f"answers file: no such file {tmp_path / 'no.yaml'}; check the path"
