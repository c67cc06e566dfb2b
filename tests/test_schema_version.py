"""The start-up's cheap schema check: head revisions read from the scripts, a current schema recognised."""

from pathlib import Path

from alembic.script import ScriptDirectory

from bot import db


def test_head_revisions_are_alembics_heads() -> None:
    script = ScriptDirectory.from_config(db.alembic_config("sqlite://"))
    assert db.head_revisions() == set(script.get_heads())


def test_a_branch_merge_has_one_head(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("revision = 'a'\ndown_revision = None\n", encoding="utf-8")
    (tmp_path / "b.py").write_text("revision: str = 'b'\ndown_revision: str | None = 'a'\n", encoding="utf-8")
    (tmp_path / "c.py").write_text("revision = 'c'\ndown_revision = 'a'\n", encoding="utf-8")
    assert db.head_revisions(tmp_path) == {"b", "c"}
    (tmp_path / "d.py").write_text("revision = 'd'\ndown_revision = ('b', 'c')\n", encoding="utf-8")
    assert db.head_revisions(tmp_path) == {"d"}


def test_a_migrated_database_is_current(database_url: str) -> None:
    assert db.is_current(database_url)


def test_an_empty_or_older_database_is_behind_and_upgrade_brings_it_to_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'older.db'}"
    assert not db.is_current(url)
    previous = ScriptDirectory.from_config(db.alembic_config(url)).get_revision("head").down_revision
    assert isinstance(previous, str)
    db.upgrade(url, previous)
    assert not db.is_current(url)
    db.upgrade(url)
    assert db.is_current(url)
