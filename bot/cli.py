"""The ``wareroom`` command."""

import logging
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import uvicorn

from bot import db
from bot.cli_errors import (
    EXIT_BAD_INPUT,
    EXIT_CHECK_FAILED,
    config_files,
    existing_database,
    fail_missing,
    need_path,
    unreachable,
)
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


def _logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("transitions", "amqtt", "apscheduler.executors"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def refuse_to_start(exc: Exception) -> NoReturn:
    """Say plainly why the configuration was refused (file:line: message per problem) and exit 2."""
    typer.echo("WareRoom cannot start: the configuration was refused.\nWareRoom 无法启动：配置有误。", err=True)
    typer.echo(str(exc), err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def serve() -> None:
    """Run the bot with the configured database, broker and chat platforms."""
    from bot.app import create_app
    from playbooks.problems import FileProblems

    _logging()
    settings = Settings()
    config_files(settings)
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
    from sqlalchemy.exc import SQLAlchemyError

    url = Settings().resolved_database_url()
    try:
        db.upgrade(url)
    except SQLAlchemyError as exc:
        unreachable(url, exc)
    typer.echo(f"database at {url.split('@')[-1]} is up to date")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the hash chain and name the first row that was altered or removed."""
    from incidents.audit import verify_chain
    from incidents.database import Database

    database = Database(existing_database(Settings()))
    with database.reader() as session:
        report = verify_chain(session)
    database.dispose()
    if report.ok:
        typer.echo(f"audit chain intact: {report.checked} events verified")
        return
    typer.echo(f"AUDIT CHAIN BROKEN after {report.checked} good events: {report.problem}", err=True)
    raise typer.Exit(EXIT_CHECK_FAILED)


@playbook_app.command("lint")
def playbook_lint(paths: Annotated[list[Path] | None, typer.Argument()] = None) -> None:
    """Check playbooks: file, line and a plain message for every problem."""
    from playbooks.lint import main as lint_main

    for path in paths or [Settings().playbook_dir]:
        if not path.exists():
            fail_missing(f"no such playbook file or directory: {path}",
                         "check the path (default: WAREROOM_PLAYBOOK_DIR)")
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

    need_path(answers, "answers file")
    library = load_library(need_path(Settings().playbook_dir, "playbook directory", "WAREROOM_PLAYBOOK_DIR",
                                     directory=True))
    if playbook_id not in library:
        raise typer.BadParameter(f"no playbook {playbook_id!r}; known: {', '.join(sorted(library))}")
    try:
        script = load_script(answers)
        result = simulate(library[playbook_id], script["events"], start=datetime(2026, 1, 1, tzinfo=UTC),
                          context=script.get("context"))
    except ScriptError as exc:
        typer.echo(f"{answers}: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
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
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    typer.echo(f"person #{person} on shift {starts:%Y-%m-%d %H:%M} – {ends:%Y-%m-%d %H:%M} ({settings.site_timezone})")


@people_app.command("list")
def people_list() -> None:
    """Everyone in the directory with roles and chat identities."""
    from sqlmodel import select

    from incidents.database import Database
    from incidents.tables import ChatIdentity, Person

    with Database(existing_database(Settings())).reader() as session:
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
        need_path(out.parent, "folder for --out", directory=True)
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


@rules_app.command("lint")
def rules_lint(
    paths: Annotated[list[Path] | None, typer.Argument(help="rules files; default: the configured one")] = None,
    devices: Annotated[Path | None, typer.Option(help="device registry; default: the configured one")] = None,
) -> None:
    """Check rules files against the device registry: file, line and a plain message for every problem."""
    from incidents.rules.lint import lint_files

    settings = Settings()
    files = [need_path(path, "rules file", None if paths else "WAREROOM_RULES_FILE")
             for path in paths or [settings.rules_file]]
    registry = need_path(devices or settings.devices_file, "device registry",
                         None if devices else "WAREROOM_DEVICES_FILE")
    problems = lint_files(files, registry)
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        typer.echo(f"{len(problems)} problem(s) found", err=True)
        raise typer.Exit(EXIT_CHECK_FAILED)
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

    need_path(file, "stock file")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}: cannot read it as UTF-8 text: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
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
        raise typer.Exit(EXIT_BAD_INPUT) from refused
    finally:
        database.dispose()
    typer.echo(f"imported {result.rows} rows: {result.items} items, {result.moves} ledger moves")


@review_app.command("export")
def review_export(
    incident_id: Annotated[int, typer.Argument(help="the incident number")],
    format: Annotated[str, typer.Option("--format", help="md, html, pdf, json or csv")] = "md",
    lang: Annotated[str, typer.Option(help="zh, en or both (Chinese first)")] = "both",
    mkt_period: Annotated[str | None, typer.Option(help="MKT period, e.g. 7d (default: WAREROOM_REVIEW_MKT_PERIOD)")]
    = None,
    out: Annotated[Path | None, typer.Option(help="write here; default: stdout (pdf: incident-ID-review.pdf)")] = None,
) -> None:
    """Render the post-incident review of one incident (the PDF as PDF/A-2b, sealed with the site's certificate)."""
    from bot.reviews import review_exporter
    from incidents.clock import utcnow
    from incidents.database import Database
    from incidents.rules.config import load_registry
    from incidents.service import IncidentNotFound
    from integrations.export.formats import ReviewFormat
    from integrations.export.language import LANGS
    from integrations.export.seal import SealUnavailable
    from playbooks.durations import parse_duration
    from playbooks.loader import load_library

    try:
        fmt = ReviewFormat(format)
    except ValueError as exc:
        raise typer.BadParameter(f"{format!r}: choose md, html, pdf, json or csv") from exc
    if lang not in LANGS:
        raise typer.BadParameter(f"{lang!r}: choose zh, en or both")
    try:
        period = parse_duration(mkt_period) if mkt_period else None
    except ValueError as exc:
        raise typer.BadParameter(f"--mkt-period: {exc}") from exc
    settings = Settings()
    target = out or (Path(f"incident-{incident_id}-review.pdf") if fmt is ReviewFormat.PDF else None)
    if target is not None:
        need_path(target.resolve().parent, "folder for --out", directory=True)
    database = Database(existing_database(settings))
    exporter = review_exporter(settings, database, load_library(need_path(
        settings.playbook_dir, "playbook directory", "WAREROOM_PLAYBOOK_DIR", directory=True)),
        load_registry(need_path(settings.devices_file, "device registry", "WAREROOM_DEVICES_FILE")))
    try:
        body = exporter.export(incident_id=incident_id, fmt=fmt, now=utcnow(), lang=lang, mkt_period=period)
    except IncidentNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from exc
    except SealUnavailable as exc:
        fail_missing(str(exc), "set WAREROOM_REVIEW_SEAL_P12 and WAREROOM_REVIEW_SEAL_PASSWORD, or unset them "
                               "to seal with the generated certificate")
    finally:
        database.dispose()
    if target is None:
        typer.echo(body.decode("utf-8"), nl=False)
    else:
        target.write_bytes(body)
        typer.echo(f"wrote {target}")


@review_app.command("verify")
def review_verify(
    file: Annotated[Path, typer.Argument(help="a review PDF")],
    certificate: Annotated[Path | None, typer.Option(help="PEM or DER certificate to trust (default: the site's)")]
    = None,
) -> None:
    """Check a review PDF: its seal (pyHanko: intact, valid, trusted, whole file) and the PDF/A-2 rules it
    could break. Exit 1 when either fails."""
    from asn1crypto import pem, x509

    from bot.reviews import site_seal
    from integrations.export.pdfa import check_pdfa
    from integrations.export.seal import SealUnavailable, check_seal

    pdf = need_path(file, "review PDF").read_bytes()
    if certificate is not None:
        der = need_path(certificate, "certificate").read_bytes()
        trusted = [x509.Certificate.load(pem.unarmor(der)[2] if pem.detect(der) else der)]
    else:
        try:
            trusted = [site_seal(Settings(), "WareRoom").certificate]
        except SealUnavailable as exc:
            fail_missing(str(exc), "pass --certificate or set WAREROOM_REVIEW_SEAL_P12")
    seal = check_seal(pdf, trust=trusted)
    problems = check_pdfa(pdf)
    sealed = seal.intact and seal.valid and seal.trusted and seal.whole_file
    if sealed:
        typer.echo(f"seal: intact, valid and trusted, covers the whole file; signed by {seal.signer} "
                   f"at {seal.signed_at:%Y-%m-%d %H:%M:%S %Z}")
    else:
        typer.echo(f"seal: NOT VALID: {seal.problem or _seal_words(seal)}", err=True)
    for problem in problems:
        typer.echo(f"PDF/A: {problem}", err=True)
    if not problems:
        typer.echo("PDF/A-2: the checked clauses hold")
    if problems or not sealed:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _seal_words(seal: object) -> str:
    found = {name: getattr(seal, name) for name in ("found", "intact", "valid", "trusted", "whole_file")}
    return ", ".join(f"{name}={value}" for name, value in found.items())


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
    library = load_library(need_path(settings.playbook_dir, "playbook directory", "WAREROOM_PLAYBOOK_DIR",
                                     directory=True))
    database = Database(existing_database(settings))
    now = utcnow()
    try:
        with database.reader() as session:
            stats = review_stats(session, since=now - window, now=now, library=library)
    finally:
        database.dispose()
    typer.echo(stats_table(stats))
    for path in write_stats(stats, out_dir):
        typer.echo(f"wrote {path}")


def main() -> None:
    app()
