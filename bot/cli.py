"""The ``wareroom`` command."""

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

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
from bot.cli_retention import retention_app
from bot.settings import Settings

if TYPE_CHECKING:
    from incidents.actors import Actor

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
tokens_app = typer.Typer(help="API tokens: personal and service, scoped, shown once.", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")
app.add_typer(retention_app, name="retention")


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
def audit_verify(
    checkpoint: Annotated[Path | None, typer.Option(help="a checkpoint file exported earlier (default: the configured "
                                                         "one)")] = None,
    public_key: Annotated[Path | None, typer.Option(help="the audit public key (default: from the configured key "
                                                         "file)")] = None,
) -> None:
    """Walk the hash chain and check it against the latest signed checkpoint: names an altered or removed row,
    a truncated tail, a rewritten chain and a removed or forged checkpoint; then each Alert row a notification
    wrote against the digest its audit event lists (``incidents.alert_audit``)."""
    from incidents import alert_audit, checkpoints
    from incidents.database import Database

    settings = Settings()
    source = checkpoint or settings.checkpoint_file()
    key_path = public_key or (checkpoints.public_path(settings.key_file())
                              if checkpoints.public_path(settings.key_file()).exists() else settings.key_file())
    if checkpoint is not None:
        need_path(checkpoint, "checkpoint file")
    read = checkpoints.read(source)
    database = Database(existing_database(settings))
    try:
        with database.reader() as session:
            if key_path.exists():
                verdict = checkpoints.verify(session, checkpoints=read.checkpoints,
                                             public=checkpoints.load_public_key(key_path))
            else:
                from incidents.audit import verify_chain

                chain = verify_chain(session)
                verdict = checkpoints.Verdict(chain.checked, () if chain.ok else (f"altered chain: {chain.problem}",),
                                              None)
                typer.echo(f"no audit key at {key_path}: checked the hash chain only", err=True)
            altered_alerts = tuple(m.describe() for m in alert_audit.verify_alerts(session))
    finally:
        database.dispose()
    problems = verdict.problems + altered_alerts + tuple(read.unreadable)
    if not problems:
        anchor = f"; matches {verdict.latest.describe()}" if verdict.latest else "; no signed checkpoint yet"
        typer.echo(f"audit chain intact: {verdict.checked} events verified{anchor}")
        return
    typer.echo(f"AUDIT CHAIN BROKEN after {verdict.checked} good events:", err=True)
    for problem in problems:
        typer.echo(f"  - {problem}", err=True)
    raise typer.Exit(EXIT_CHECK_FAILED)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Check the chain and sign a checkpoint of its head now (the running app does this every interval)."""
    from incidents import checkpoints
    from incidents.clock import utcnow
    from incidents.database import Database

    settings = Settings()
    key, created = checkpoints.load_or_create_key(settings.key_file())
    if created:
        typer.echo(f"generated the audit signing key {settings.key_file()}: back it up, away from the database",
                   err=True)
    database = Database(existing_database(settings))
    try:
        with database.reader() as session:
            verdict = checkpoints.verify(session, checkpoints=checkpoints.read(settings.checkpoint_file()).checkpoints,
                                         public=key.public_key())
        if not verdict.ok:
            for problem in verdict.problems:
                typer.echo(f"  - {problem}", err=True)
            typer.echo("not signed: the chain does not verify", err=True)
            raise typer.Exit(1)
        with database.unit_of_work() as session:
            made = checkpoints.make(session, key=key, now=utcnow())
        checkpoints.append(settings.checkpoint_file(), made)
    finally:
        database.dispose()
    typer.echo(f"signed {made.describe()} into {settings.checkpoint_file()}")


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

    targets = paths or [Settings().playbook_dir]
    for path in targets:
        if not path.exists():
            fail_missing(f"no such playbook file or directory: {path}",
                         "check the path (default: WAREROOM_PLAYBOOK_DIR)")
    args = [str(p) for p in targets]
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

    library = load_library(need_path(Settings().playbook_dir, "playbook directory", "WAREROOM_PLAYBOOK_DIR",
                                     directory=True))
    if playbook_id not in library:
        raise typer.BadParameter(f"no playbook {playbook_id!r}; known: {', '.join(sorted(library))}")
    answers = need_path(answers or answers_file(library[playbook_id]), "answers file")
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
            flags = "".join([" admin" if person.admin else "", "" if person.active else " (deactivated)",
                             f" login:{person.login}" if person.login else "",
                             f" reads:{person.language}" if person.language != "both" else ""])
            typer.echo(f"#{person.id} {person.name_zh} {person.name_en} [{', '.join(person.roles)}] {links}{flags}")


@playbook_app.command("schema")
def playbook_schema(out: Annotated[Path | None, typer.Option(help="write here instead of stdout")] = None) -> None:
    """The JSON Schema of playbooks, for editor completion."""
    from playbooks.schema import schema_json

    text = schema_json()
    if out is None:
        typer.echo(text)
    else:
        need_path(out.parent, "folder for --out", directory=True)
        out.write_text(text + "\n", encoding="utf-8")


def _cli_actor() -> "Actor":
    import getpass

    from incidents.actors import Actor

    return Actor(person_id=None, name=f"wareroom CLI ({getpass.getuser()})", platform="cli")


def _refused(exc: Exception) -> NoReturn:
    typer.echo(f"refused: {exc}", err=True)
    raise typer.Exit(2) from exc


def _identities(items: list[str] | None) -> list[tuple[str, str]]:
    pairs = []
    for item in items or []:
        platform, sep, user_id = item.partition(":")
        if not sep or not user_id:
            raise typer.BadParameter(f"{item!r}: write identities as platform:user_id")
        pairs.append((platform, user_id))
    return pairs


@people_app.command("add")
def people_add(  # noqa: PLR0917 (typer options)
    name_zh: Annotated[str, typer.Option()],
    name_en: Annotated[str, typer.Option()],
    role: Annotated[list[str] | None, typer.Option(help="role code such as SL, WM, QA; repeat for several")] = None,
    identity: Annotated[list[str] | None, typer.Option(help="platform:user_id, e.g. slack:U024BE7LH")] = None,
    login: Annotated[str | None, typer.Option(help="user name for signing in to the web app")] = None,
    email: Annotated[str | None, typer.Option(help="email, for single sign-on")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="may manage people, tokens and sessions")] = False,
    password: Annotated[bool, typer.Option("--password", help="set a password now (asked for, not echoed)")] = False,
) -> None:
    """Add a person with roles and chat identities. With --admin (or --password) the person can sign in:
    a one-time sign-in link is printed unless --password sets a password now."""
    from incidents import directory
    from incidents.clock import utcnow
    from incidents.database import Database
    from incidents.identity import codes, passwords

    pairs = _identities(identity)
    secret = typer.prompt("password", hide_input=True, confirmation_prompt=True) if password else None
    settings = Settings()
    url = settings.resolved_database_url()
    db.upgrade(url)
    by = _cli_actor()
    try:
        with Database(url).unit_of_work() as session:
            person = directory.add_person(session, name_zh=name_zh, name_en=name_en, roles=role or [],
                                          identities=pairs, by=by, admin=admin, login=login or None, email=email)
            assert person.id is not None
            link = None
            if secret is not None:
                passwords.set_password(session, person_id=person.id, password=secret, by=by, now=utcnow())
            elif admin:
                link = codes.issue(session, purpose=codes.SIGNIN, person_id=person.id, by=by, now=utcnow())
    except (directory.DirectoryRefused, passwords.PasswordRefused) as exc:
        _refused(exc)
    roles = ", ".join(person.roles)
    typer.echo(f"added person #{person.id} {name_zh} {name_en} ({roles}){' admin' if admin else ''}")
    if link is not None:
        typer.echo(f"one-time sign-in link (24 h): {settings.base_url()}/signin/link/{link}")


@people_app.command("edit")
def people_edit(  # noqa: PLR0917 (typer options)
    person: Annotated[int, typer.Argument(help="person number from `wareroom people list`")],
    name_zh: Annotated[str | None, typer.Option()] = None,
    name_en: Annotated[str | None, typer.Option()] = None,
    role: Annotated[list[str] | None, typer.Option(help="the new roles (replace the old ones); repeat")] = None,
    login: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    admin: Annotated[bool | None, typer.Option("--admin/--no-admin")] = None,
) -> None:
    """Change a person's names, roles, login, email or admin flag; audited with before and after."""
    from incidents import directory
    from incidents.database import Database

    url = Settings().resolved_database_url()
    db.upgrade(url)
    try:
        with Database(url).unit_of_work() as session:
            row = directory.edit_person(session, person_id=person, by=_cli_actor(), name_zh=name_zh, name_en=name_en,
                                        roles=role, login=login, email=email, admin=admin)
    except (directory.DirectoryRefused, LookupError) as exc:
        _refused(exc)
    typer.echo(f"person #{row.id} {row.name_zh} {row.name_en} [{', '.join(row.roles)}]{' admin' if row.admin else ''}")


@people_app.command("language")
def people_language(
    person: Annotated[int, typer.Argument(help="person number from `wareroom people list`")],
    language: Annotated[str, typer.Argument(help="zh, en, both (Chinese then English) or a catalogue's code")],
) -> None:
    """Set what a person reads in answers, direct messages, SMS, calls and e-mails (README "Languages")."""
    from handlers import i18n
    from incidents import directory
    from incidents.database import Database

    settings = Settings()
    i18n.configure(shared=settings.thread_language, extra_dirs=settings.locale_dirs)
    try:
        checked = i18n.check_language(language)
        url = existing_database(settings)
        db.upgrade(url)
        with Database(url).unit_of_work() as session:
            row = directory.set_language(session, person_id=person, language=checked, by=_cli_actor())
    except (i18n.UnknownLanguage, LookupError) as exc:
        _refused(exc)
    typer.echo(f"person #{row.id} {row.name_zh} {row.name_en} reads {row.language}")


@people_app.command("deactivate")
def people_deactivate(
    person: Annotated[int, typer.Argument()],
    reason: Annotated[str, typer.Option(help="why; kept in the audit trail")] = "",
) -> None:
    """Deactivate a person (never deleted): their sessions end and their API tokens are revoked."""
    from incidents import directory
    from incidents.clock import utcnow
    from incidents.database import Database
    from incidents.identity import sessions, tokens

    url = Settings().resolved_database_url()
    db.upgrade(url)
    by = _cli_actor()
    try:
        with Database(url).unit_of_work() as session:
            directory.set_active(session, person_id=person, active=False, by=by, reason=reason)
            ended = sessions.end_all(session, person_id=person, reason="person deactivated", by=by, now=utcnow())
            revoked = tokens.revoke_all(session, person_id=person, by=by, now=utcnow(), reason="person deactivated")
    except LookupError as exc:
        _refused(exc)
    typer.echo(f"person #{person} deactivated; {ended} session(s) ended, {revoked} token(s) revoked")


@people_app.command("link")
def people_link(
    person: Annotated[int, typer.Argument()],
    identity: Annotated[list[str], typer.Option(help="platform:user_id, e.g. slack:U024BE7LH")],
) -> None:
    """Link chat accounts to an existing person (no second person is made)."""
    from incidents import directory
    from incidents.database import Database

    url = Settings().resolved_database_url()
    db.upgrade(url)
    try:
        with Database(url).unit_of_work() as session:
            for platform, user_id in _identities(identity):
                directory.link(session, person_id=person, platform=platform, user_id=user_id, by=_cli_actor())
    except (directory.DirectoryRefused, LookupError) as exc:
        _refused(exc)
    typer.echo(f"person #{person} linked: {', '.join(identity)}")


@people_app.command("unlink")
def people_unlink(identity: Annotated[str, typer.Argument(help="platform:user_id")]) -> None:
    """Remove a chat account's link to its person."""
    from sqlmodel import select

    from incidents.clock import utcnow
    from incidents.database import Database
    from incidents.identity import codes
    from incidents.tables import ChatIdentity

    [(platform, user_id)] = _identities([identity])
    with Database(existing_database(Settings())).unit_of_work() as session:
        row = session.exec(select(ChatIdentity).where(ChatIdentity.platform == platform,
                                                      ChatIdentity.platform_user_id == user_id)).first()
        if row is None or row.id is None:
            _refused(LookupError(f"{identity} is not linked to anyone"))
        codes.remove_link(session, identity_id=row.id, by=_cli_actor(), now=utcnow())
    typer.echo(f"{identity} unlinked from person #{row.person_id}")


@people_app.command("signin-link")
def people_signin_link(person: Annotated[int, typer.Argument()]) -> None:
    """Print a one-time sign-in link for a person (24 hours), e.g. to set a forgotten password."""
    from incidents.clock import utcnow
    from incidents.database import Database
    from incidents.identity import codes
    from incidents.tables import Person

    settings = Settings()
    with Database(existing_database(settings)).unit_of_work() as session:
        found = session.get(Person, person)
        if found is None or not found.active:
            _refused(LookupError(f"there is no active person #{person}"))
        code = codes.issue(session, purpose=codes.SIGNIN, person_id=person, by=_cli_actor(), now=utcnow())
    typer.echo(f"{settings.base_url()}/signin/link/{code}")


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Option(help="what it is for, e.g. alertmanager")],
    scope: Annotated[list[str], typer.Option(help="read, act, admin or ingest; repeat for several")],
    person: Annotated[int | None, typer.Option(help="a personal token of this person (else a service token)")] = None,
    days: Annotated[int | None, typer.Option(help="valid for this many days (default: no expiry)")] = None,
) -> None:
    """Make an API token for ``Authorization: Bearer``; it is printed once and stored only as a hash."""
    from datetime import timedelta

    from incidents.clock import utcnow
    from incidents.database import Database
    from incidents.identity import tokens
    from incidents.tables import Person

    try:
        scopes = [tokens.Scope(s) for s in scope]
    except ValueError as exc:
        raise typer.BadParameter(f"scopes are read, act, admin, ingest: {exc}") from exc
    url = Settings().resolved_database_url()
    db.upgrade(url)
    now = utcnow()
    try:
        with Database(url).unit_of_work() as session:
            owner = session.get(Person, person) if person is not None else None
            if person is not None and owner is None:
                raise LookupError(f"there is no person #{person}")
            secret, row = tokens.create(session, name=name, scopes=scopes, person=owner,
                                        expires_at=now + timedelta(days=days) if days else None, by=_cli_actor(),
                                        now=now)
    except (tokens.TokenRefused, LookupError) as exc:
        _refused(exc)
    typer.echo(f"token #{row.id} {name} [{', '.join(row.scopes)}]; copy it now, it is not shown again:")
    typer.echo(secret)


@tokens_app.command("list")
def tokens_list() -> None:
    """Every API token: number, name, scopes, person, expiry, revoked."""
    from incidents.database import Database
    from incidents.identity import tokens

    with Database(existing_database(Settings())).reader() as session:
        for row in tokens.listing(session):
            owner = f"person #{row.person_id}" if row.person_id else "service"
            state = "revoked" if row.revoked_at else (f"expires {row.expires_at:%Y-%m-%d}" if row.expires_at
                                                      else "no expiry")
            typer.echo(f"#{row.id} {row.name} {row.prefix}… [{', '.join(row.scopes)}] {owner} {state}")


@tokens_app.command("revoke")
def tokens_revoke(token: Annotated[int, typer.Argument()]) -> None:
    """Revoke an API token at once."""
    from incidents.clock import utcnow
    from incidents.database import Database
    from incidents.identity import tokens

    try:
        with Database(existing_database(Settings())).unit_of_work() as session:
            tokens.revoke(session, token_id=token, by=_cli_actor(), now=utcnow())
    except LookupError as exc:
        _refused(exc)
    typer.echo(f"token #{token} revoked")


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
    include_drills: Annotated[bool, typer.Option(help="count drills with the incidents")] = False,
) -> None:
    """Counts, MTTA and MTTR by incident type and site, overdue steps and the noisiest rules; drills apart."""
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
            stats = review_stats(session, since=now - window, now=now, library=library,
                                 include_drills=include_drills)
    finally:
        database.dispose()
    typer.echo(stats_table(stats))
    for path in write_stats(stats, out_dir):
        typer.echo(f"wrote {path}")


def main() -> None:
    app()
