"""How ``wareroom`` commands fail: one line saying what is missing and what to do, and distinct exit codes.

Exit codes: 0 done, 1 a check failed (broken audit chain, lint problems, a seal that does not verify),
2 bad input or configuration, 3 something to work on is missing or unreachable (database, directory,
file). A command that only reads never creates an empty database to read from.
"""

from pathlib import Path
from typing import NoReturn

import sqlalchemy as sa
import typer
from sqlalchemy.exc import SQLAlchemyError

from bot.settings import Settings

EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_MISSING = 3


def fail_missing(what: str, todo: str) -> NoReturn:
    """Print ``what; todo`` as one line on stderr and exit with EXIT_MISSING."""
    typer.echo(f"{what}; {todo}", err=True)
    raise typer.Exit(EXIT_MISSING)


def need_path(path: Path, what: str, setting: str | None = None, *, directory: bool = False) -> Path:
    """``path`` if it exists (a directory when ``directory``), else exit EXIT_MISSING naming the setting."""
    if (directory and path.is_dir()) or (not directory and path.is_file()):
        return path
    kind = "directory" if directory else "file"
    todo = f"set {setting} or pass the right path" if setting else "check the path"
    fail_missing(f"{what}: no such {kind} {path}", todo)


def _where(url: str) -> str:
    return url.rsplit("@", maxsplit=1)[-1] if "@" in url else url


def unreachable(url: str, exc: Exception) -> NoReturn:
    """Exit EXIT_MISSING: the database at ``url`` (password left out) did not answer."""
    first = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0]
    fail_missing(f"cannot open the database {_where(url)}: {first}",
                 "check WAREROOM_DATABASE_URL and that the database server is running")


def existing_database(settings: Settings) -> str:
    """The URL of the configured WareRoom database, after checking that it exists, answers and has been
    migrated; else exit EXIT_MISSING with what to do. Never creates a database or the var directory."""
    url = settings.database_url
    if not url:
        path = (settings.var_dir / "wareroom.db").resolve()
        if not path.is_file():
            fail_missing(f"no WareRoom database at {path}",
                         "set WAREROOM_VAR_DIR (or WAREROOM_DATABASE_URL) to where WareRoom keeps its data, "
                         "or run `wareroom db upgrade` to create an empty one")
        url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
    except SQLAlchemyError as exc:
        unreachable(url, exc)
    finally:
        engine.dispose()
    if not {"alembic_version", "auditevent", "incident"} <= tables:
        fail_missing(f"{_where(url)} is not a WareRoom database (no WareRoom tables)",
                     "point WAREROOM_DATABASE_URL or WAREROOM_VAR_DIR at the right one, or run `wareroom db upgrade`")
    return url


def config_files(settings: Settings) -> None:
    """Exit EXIT_MISSING unless every configuration file and directory the app loads exists."""
    need_path(settings.devices_file, "device registry", "WAREROOM_DEVICES_FILE")
    need_path(settings.rules_file, "rules file", "WAREROOM_RULES_FILE")
    need_path(settings.escalation_file, "escalation policy", "WAREROOM_ESCALATION_FILE")
    need_path(settings.playbook_dir, "playbook directory", "WAREROOM_PLAYBOOK_DIR", directory=True)
