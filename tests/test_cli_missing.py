"""Every command that cannot find its database, directory or file says so in one line and exits 3 (not 1,
which means a check failed), without a traceback and without creating anything to read from."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli_errors import EXIT_CHECK_FAILED, EXIT_MISSING
from incidents.database import Database
from integrations.export.seal import load_seal, seal_pdf

runner = CliRunner()


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


@pytest.fixture
def nowhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A var directory that does not exist, and no database URL."""
    monkeypatch.delenv("WAREROOM_DATABASE_URL", raising=False)
    monkeypatch.setenv("WAREROOM_VAR_DIR", str(tmp_path / "no-such-var"))
    return tmp_path / "no-such-var"


@pytest.mark.parametrize("command", [["audit", "verify"], ["people", "list"], ["review", "export", "1"],
                                     ["review", "stats"]])
def test_reading_commands_without_a_database_say_where_they_looked(nowhere: Path, command: list[str]) -> None:
    result = runner.invoke(app, command)
    assert result.exit_code == EXIT_MISSING
    line = _one_line(result.output)
    assert f"no WareRoom database at {nowhere.resolve() / 'wareroom.db'}" in line
    assert "WAREROOM_VAR_DIR" in line and "wareroom db upgrade" in line
    assert not nowhere.exists()  # no empty database, not even the directory


def test_a_database_without_wareroom_tables_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "other.db"
    Database(f"sqlite:///{empty}").engine.connect().close()
    monkeypatch.setenv("WAREROOM_DATABASE_URL", f"sqlite:///{empty}")
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == EXIT_MISSING
    assert "is not a WareRoom database" in _one_line(result.output)


def test_a_database_server_that_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREROOM_DATABASE_URL", "postgresql+psycopg://wareroom:secret@127.0.0.1:1/wareroom")
    for command in (["audit", "verify"], ["db", "upgrade"]):
        result = runner.invoke(app, command)
        assert result.exit_code == EXIT_MISSING, result.output
        line = _one_line(result.output)
        assert line.startswith("cannot open the database 127.0.0.1:1/wareroom") and "secret" not in line


def test_missing_files_and_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gone = tmp_path / "gone"
    cases = {
        ("playbook", "lint", str(gone)): "no such playbook file or directory",
        ("playbook", "simulate", "cold-chain-excursion", "--answers", str(gone)): "answers file: no such file",
        ("rules", "lint", str(gone)): "rules file: no such file",
        ("rules", "lint", "--devices", str(gone)): "device registry: no such file",
        ("stock", "import", str(gone)): "stock file: no such file",
        ("playbook", "schema", "--out", str(gone / "x.json")): "folder for --out: no such directory",
        ("review", "verify", str(gone)): "review PDF: no such file",
    }
    for command, expected in cases.items():
        result = runner.invoke(app, list(command))
        assert result.exit_code == EXIT_MISSING, (command, result.output)
        assert expected in _one_line(result.output), command
    monkeypatch.setenv("WAREROOM_DEVICES_FILE", str(gone / "devices.yaml"))
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == EXIT_MISSING
    assert "WAREROOM_DEVICES_FILE" in _one_line(result.output)


def test_review_verify_tells_a_sealed_file_from_a_changed_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from weasyprint import HTML

    from integrations.export.render import PDF_VARIANT

    monkeypatch.setenv("WAREROOM_VAR_DIR", str(tmp_path))
    seal = load_seal(p12=None, password=None, var_dir=tmp_path, site="WareRoom")
    pdf = seal_pdf(HTML(string="<p>复盘 review</p>").write_pdf(pdf_variant=PDF_VARIANT,
                                                               finisher=lambda _d, p: p.info.pop("Producer")),
                   seal, reason="test")
    good, bad = tmp_path / "good.pdf", tmp_path / "bad.pdf"
    good.write_bytes(pdf)
    flipped = bytearray(pdf)
    flipped[len(pdf) // 4] ^= 1
    bad.write_bytes(bytes(flipped))
    ok = runner.invoke(app, ["review", "verify", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "seal: intact, valid and trusted, covers the whole file" in ok.output
    assert "PDF/A-2: the checked clauses hold" in ok.output
    broken = runner.invoke(app, ["review", "verify", str(bad)])
    assert broken.exit_code == EXIT_CHECK_FAILED and "seal: NOT VALID" in broken.output
