"""Schema migrations (alembic), run by ``wareroom db upgrade`` and at start-up.

Alembic (with Mako and Pygments behind it, about 10 MB of resident memory) is imported only when the
database is behind the migration scripts: at start-up a schema that is current is recognised by comparing
its ``alembic_version`` rows with the scripts' head revisions, read from the scripts' source.
"""

import ast
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from incidents.database import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> "Config":
    """An alembic Config pointing at our migrations and ``url``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision``; to ``"head"`` alembic runs only when the schema is
    behind (``is_current``). Raises SQLAlchemyError when the database cannot be reached."""
    if revision == "head" and is_current(url):
        return
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def is_current(url: str) -> bool:
    """Whether the database at ``url`` is at the scripts' head revisions (its ``alembic_version`` table
    holds exactly them). False for a database without that table."""
    engine = make_engine(url, for_writes=False)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return False
            applied = set(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()
    return applied == head_revisions()


def head_revisions(versions: Path = MIGRATIONS / "versions") -> set[str]:
    """The revision ids no other migration script revises, from the ``revision`` and ``down_revision``
    assignments of the scripts in ``versions`` (what ``alembic heads`` prints, without importing alembic)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in versions.glob("*.py"):
        names = _assignments(script.read_text(encoding="utf-8"))
        revision, down = names.get("revision"), names.get("down_revision")
        if isinstance(revision, str):
            revisions.add(revision)
            revised.update((down,) if isinstance(down, str) else down if isinstance(down, tuple | list) else ())
    return revisions - revised


def _assignments(source: str) -> dict[str, object]:
    """The literal values of the module-level ``revision`` and ``down_revision`` assignments of ``source``."""
    found: dict[str, object] = {}
    for node in ast.parse(source).body:
        target: ast.expr
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            found[target.id] = ast.literal_eval(value)
    return found


def revise(url: str, message: str) -> None:
    """Autogenerate a new migration from the models (developers only)."""
    from alembic import command

    command.revision(alembic_config(url), message=message, autogenerate=True)
