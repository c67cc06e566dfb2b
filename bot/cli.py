"""The ``wareroom`` command."""

import logging
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import uvicorn

from bot import db
from bot.cli_retention import retention_app
from bot.settings import Settings

app = typer.Typer(help="WareRoom: warehouse incidents in chat.", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
playbook_app = typer.Typer(help="Playbooks: lint, simulate, schema.", no_args_is_help=True)
people_app = typer.Typer(help="The people directory: who may act, with which roles.", no_args_is_help=True)
rules_app = typer.Typer(help="Alert rules and noise control: lint, schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(playbook_app, name="playbook")
app.add_typer(people_app, name="people")
app.add_typer(rules_app, name="rules")
stock_app = typer.Typer(help="The stock database: import a snapshot.", no_args_is_help=True)
review_app = typer.Typer(help="Post-incident reviews: export one, statistics across many.", no_args_is_help=True)
app.add_typer(stock_app, name="stock")
app.add_typer(review_app, name="review")
app.add_typer(retention_app, name="retention")


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
def playbook_lint(
    paths: Annotated[list[Path] | None, typer.Argument(help="files or folders (searched with their sub-folders)")]
    = None,
    strict: Annotated[bool, typer.Option(help="a life-safety step without a source or site_rule is an error")]
    = False,
) -> None:
    """Check playbooks: file, line and a plain message for every problem."""
    from playbooks.lint import STRICT
    from playbooks.lint import main as lint_main

    args = [str(p) for p in (paths or [Settings().playbook_dir])]
    raise typer.Exit(lint_main([*args, STRICT] if strict else args))


@playbook_app.command("simulate")
def playbook_simulate(
    playbook_id: Annotated[str, typer.Argument(help="e.g. cold-chain-excursion")],
    answers: Annotated[Path | None, typer.Option(help="YAML script of completions, skips and clock advances "
                                                      "(default: the playbook's ID.answers.yaml)")] = None,
) -> None:
    """Run a playbook against scripted answers on a fake clock and print the path taken."""
    from datetime import UTC, datetime

    from playbooks.loader import answers_file, load_library
    from playbooks.simulate import ScriptError, load_script, simulate

    library = load_library(Settings().playbook_dir)
    if playbook_id not in library:
        raise typer.BadParameter(f"no playbook {playbook_id!r}; known: {', '.join(sorted(library))}")
    answers = answers or answers_file(library[playbook_id])
    if not answers.is_file():
        typer.echo(f"{answers}: no such answers file; write one (see the README) and pass it with --answers",
                   err=True)
        raise typer.Exit(2)
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


@people_app.command("shift")
def people_shift(
    person: Annotated[int, typer.Argument(help="person number from `wareroom people list`")],
    start: Annotated[str, typer.Option(help="e.g. '2026-11-25 08:00', in the site's timezone")],
    end: Annotated[str, typer.Option(help="e.g. '2026-11-25 20:00', in the site's timezone")],
) -> None:
    """Put a person on the roster: while shifts exist for a role, the people on shift are paged."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from incidents import directory
    from incidents.database import Database

    settings = Settings()
    zone = ZoneInfo(settings.site_timezone)
    try:
        starts, ends = (datetime.fromisoformat(v).replace(tzinfo=zone) for v in (start, end))
        url = settings.resolved_database_url()
        db.upgrade(url)
        with Database(url).unit_of_work() as session:
            directory.add_shift(session, person_id=person, starts_at=starts, ends_at=ends)
    except ValueError as exc:
        typer.echo(f"shift refused: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"person #{person} on shift {starts:%Y-%m-%d %H:%M} – {ends:%Y-%m-%d %H:%M} ({settings.site_timezone})")


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
        out.write_text(text + "\n", encoding="utf-8")


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


@rules_app.command("lint")
def rules_lint(
    paths: Annotated[list[Path] | None, typer.Argument(help="rules files; default: the configured one")] = None,
    devices: Annotated[Path | None, typer.Option(help="device registry; default: the configured one")] = None,
) -> None:
    """Check rules files against the device registry: file, line and a plain message for every problem."""
    from incidents.rules.lint import lint_files

    settings = Settings()
    files = paths or [settings.rules_file]
    problems = lint_files(files, devices or settings.devices_file)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        typer.echo(f"{len(problems)} problem(s) found", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(files)} rules file(s) OK")


@rules_app.command("schema")
def rules_schema() -> None:
    """The JSON Schema of rules files, for editor completion."""
    from incidents.rules.config import rules_schema_json

    typer.echo(rules_schema_json())


@stock_app.command("import")
def stock_import(file: Annotated[Path, typer.Argument(help="CSV in the format of docs/stock-import.md")]) -> None:
    """Import a stock snapshot: all rows or, listing every problem, none."""
    from incidents.actors import Actor
    from incidents.clock import utcnow
    from incidents.database import Database
    from incidents.inventory.csv_import import ImportRefused, import_stock

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}: cannot read it as UTF-8 text: {exc}", err=True)
        raise typer.Exit(2) from exc
    url = Settings().resolved_database_url()
    db.upgrade(url)
    database = Database(url)
    try:
        with database.unit_of_work() as session:
            result = import_stock(session, text=text, actor=Actor(person_id=None, name=f"CLI import {file.name}"),
                                  now=utcnow(), source=file.name)
    except ImportRefused as refused:
        for error in refused.errors:
            typer.echo(f"{file}: {error}", err=True)
        typer.echo(f"nothing imported: {len(refused.errors)} problem(s)", err=True)
        raise typer.Exit(2) from refused
    finally:
        database.dispose()
    typer.echo(f"imported {result.rows} rows: {result.items} items, {result.moves} ledger moves")


@review_app.command("export")
def review_export(
    incident_id: Annotated[int, typer.Argument(help="the incident number")],
    format: Annotated[str, typer.Option("--format", help="md, html, pdf, json or csv")] = "md",
    out: Annotated[Path | None, typer.Option(help="write here; default: stdout (pdf: incident-ID-review.pdf)")] = None,
) -> None:
    """Render the post-incident review of one incident."""
    from incidents.clock import utcnow
    from incidents.database import Database
    from incidents.service import IncidentNotFound
    from integrations.export.render import ReviewFormat
    from integrations.export.routes import export_review
    from playbooks.loader import load_library

    try:
        fmt = ReviewFormat(format)
    except ValueError as exc:
        raise typer.BadParameter(f"{format!r}: choose md, html, pdf, json or csv") from exc
    settings = Settings()
    database = Database(settings.resolved_database_url())
    try:
        body = export_review(database, incident_id=incident_id, fmt=fmt, library=load_library(settings.playbook_dir),
                             timezone=settings.site_timezone, now=utcnow())
    except IncidentNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        database.dispose()
    target = out or (Path(f"incident-{incident_id}-review.pdf") if fmt is ReviewFormat.PDF else None)
    if target is None:
        typer.echo(body.decode("utf-8"), nl=False)
    else:
        target.write_bytes(body)
        typer.echo(f"wrote {target}")


@review_app.command("stats")
def review_stats_command(
    since: Annotated[str, typer.Option(help="how far back: 30d, 12h…")] = "30d",
    out_dir: Annotated[Path, typer.Option(help="where stats.csv, stats.png and stats.svg go")] = Path("review-stats"),
) -> None:
    """Counts, MTTA and MTTR by incident type and site, overdue steps and the noisiest rules."""
    from handlers.review import review_stats
    from incidents.clock import utcnow
    from incidents.database import Database
    from integrations.export.stats import stats_table, write_stats
    from playbooks.durations import parse_duration
    from playbooks.loader import load_library

    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = Settings()
    database = Database(settings.resolved_database_url())
    now = utcnow()
    try:
        with database.reader() as session:
            stats = review_stats(session, since=now - window, now=now, library=load_library(settings.playbook_dir))
    finally:
        database.dispose()
    typer.echo(stats_table(stats))
    for path in write_stats(stats, out_dir):
        typer.echo(f"wrote {path}")


def main() -> None:
    app()
