"""The ``wareroom`` command."""

import logging
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import uvicorn

from bot import db
from bot.settings import Settings

app = typer.Typer(help="WareRoom: warehouse incidents in chat.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
playbook_app = typer.Typer(help="Playbooks: lint, simulate, schema.", no_args_is_help=True)
people_app = typer.Typer(help="The people directory: who may act, with which roles.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(playbook_app, name="playbook")
app.add_typer(people_app, name="people")


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("transitions", "amqtt", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def refuse_to_start(exc: Exception) -> NoReturn:
    """Say plainly why the configuration was refused (file:line: message per problem) and exit 2."""
    typer.echo("WareRoom cannot start: the configuration was refused.\nWareRoom 无法启动：配置有误。", err=True)
    typer.echo(str(exc), err=True)
    raise typer.Exit(2)


@app.command()
def serve() -> None:
    """Run the bot with the configured database, broker and chat platforms."""
    from bot.app import create_app
    from playbooks.problems import FileProblems

    _logging()
    settings = Settings()
    try:
        application = create_app(settings)
    except (FileProblems, ValueError) as exc:
        refuse_to_start(exc)
    uvicorn.run(application, host=settings.http_host, port=settings.http_port, log_level="info")


@app.command()
def demo(
    scenario: Annotated[bool, typer.Option(help="Play the cold-room scenario")] = True,
) -> None:
    """Embedded broker, SQLite, the web chat and a simulated cold room warming up. No tokens needed."""
    from bot.demo import run_demo
    from playbooks.problems import FileProblems

    _logging()
    try:
        run_demo(play_scenario=scenario)
    except (FileProblems, ValueError) as exc:
        refuse_to_start(exc)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    url = Settings().resolved_database_url()
    db.upgrade(url)
    typer.echo(f"database at {url.split('@')[-1]} is up to date")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the hash chain and name the first row that was altered or removed."""
    from incidents.audit import verify_chain
    from incidents.database import Database

    database = Database(Settings().resolved_database_url())
    with database.reader() as session:
        report = verify_chain(session)
    if report.ok:
        typer.echo(f"audit chain intact: {report.checked} events verified")
        return
    typer.echo(f"AUDIT CHAIN BROKEN after {report.checked} good events: {report.problem}", err=True)
    raise typer.Exit(1)


@playbook_app.command("lint")
def playbook_lint(paths: Annotated[list[Path] | None, typer.Argument()] = None) -> None:
    """Check playbooks: file, line and a plain message for every problem."""
    from playbooks.lint import main as lint_main

    raise typer.Exit(lint_main([str(p) for p in (paths or [Settings().playbook_dir])]))


@playbook_app.command("simulate")
def playbook_simulate(
    playbook_id: Annotated[str, typer.Argument(help="e.g. cold-chain-excursion")],
    answers: Annotated[Path, typer.Option(help="YAML script of completions, skips and clock advances")],
) -> None:
    """Run a playbook against scripted answers on a fake clock and print the path taken."""
    from datetime import UTC, datetime

    from playbooks.loader import load_library
    from playbooks.simulate import ScriptError, load_script, simulate

    library = load_library(Settings().playbook_dir)
    if playbook_id not in library:
        raise typer.BadParameter(f"no playbook {playbook_id!r}; known: {', '.join(sorted(library))}")
    try:
        script = load_script(answers)
        result = simulate(library[playbook_id], script["events"], start=datetime(2026, 1, 1, tzinfo=UTC),
                          context=script.get("context"))
    except ScriptError as exc:
        typer.echo(f"{answers}: {exc}", err=True)
        raise typer.Exit(2) from exc
    for line in result.lines():
        typer.echo(line)
    typer.echo("finished" if result.finished else "not finished: steps are still open")


@people_app.command("list")
def people_list() -> None:
    """Everyone in the directory with roles and chat identities."""
    from sqlmodel import select

    from incidents.database import Database
    from incidents.tables import ChatIdentity, Person

    with Database(Settings().resolved_database_url()).reader() as session:
        for person in session.exec(select(Person).order_by(Person.id)):  # type: ignore[arg-type]
            ids = session.exec(select(ChatIdentity).where(ChatIdentity.person_id == person.id)).all()
            links = ", ".join(f"{i.platform}:{i.platform_user_id}" for i in ids) or "-"
            typer.echo(f"#{person.id} {person.name_zh} {person.name_en} [{', '.join(person.roles)}] {links}")


@playbook_app.command("schema")
def playbook_schema(out: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None) -> None:
    """The JSON Schema of playbooks, for editor completion."""
    from playbooks.schema import schema_json

    text = schema_json()
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text, encoding="utf-8")


@people_app.command("add")
def people_add(
    name_zh: Annotated[str, typer.Option()],
    name_en: Annotated[str, typer.Option()],
    role: Annotated[list[str], typer.Option(help="role code such as SL, WM, QA; repeat for several")],
    identity: Annotated[list[str] | None, typer.Option(help="platform:user_id, e.g. slack:U024BE7LH")] = None,
) -> None:
    """Add a person with roles and chat identities."""
    from incidents import directory
    from incidents.database import Database

    pairs = []
    for item in identity or []:
        platform, sep, user_id = item.partition(":")
        if not sep or not user_id:
            raise typer.BadParameter(f"{item!r}: write identities as platform:user_id")
        pairs.append((platform, user_id))
    url = Settings().resolved_database_url()
    db.upgrade(url)
    with Database(url).unit_of_work() as session:
        person = directory.add_person(session, name_zh=name_zh, name_en=name_en, roles=role, identities=pairs)
        typer.echo(f"added person #{person.id} {name_zh} {name_en} ({', '.join(role)})")


def main() -> None:
    app()
