"""``wareroom retention``: what old data would go (dry run), removing it (``--apply``), signed archives."""

from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from bot import db
from bot.settings import Settings

retention_app = typer.Typer(help="Retention: what old data goes (dry run by default), and signed archives of what "
                                 "stays.", invoke_without_command=True)


@retention_app.callback()
def retention(
    ctx: typer.Context,
    apply: Annotated[bool, typer.Option("--apply", help="remove it (default: only count what would go)")] = False,
) -> None:
    """Show what the retention policy would remove now; ``--apply`` removes it."""
    if ctx.invoked_subcommand is not None:
        return
    from incidents import retention as policy_run
    from incidents.audit import verify_chain
    from incidents.clock import utcnow
    from incidents.database import Database

    settings = Settings()
    url = settings.resolved_database_url()
    db.upgrade(url)
    database = Database(url)
    try:
        outcomes = policy_run.run(database, settings.retention_policy(), now=utcnow(), apply=apply)
        with database.reader() as session:
            chain = verify_chain(session) if apply else None
    except policy_run.RetentionBusy as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        database.dispose()
    typer.echo("retention: removed" if apply else "retention (dry run: nothing removed; --apply removes it):")
    for outcome in outcomes:
        typer.echo(f"  {outcome.table:<15} {outcome.rows:>12,}  {outcome.rule}")
    typer.echo(f"  kept for good: {', '.join(policy_run.KEPT_FOREVER)} and every other table "
               "(`wareroom retention archive` exports them, signed)")
    if chain is not None:
        typer.echo(f"audit chain intact: {chain.checked} events verified" if chain.ok
                   else f"AUDIT CHAIN BROKEN after {chain.checked} good events: {chain.problem}")
        if not chain.ok:
            raise typer.Exit(1)


@retention_app.command("archive")
def archive(
    out: Annotated[Path, typer.Argument(help="a new (or empty) folder for the archive")],
    incident: Annotated[list[int] | None, typer.Option(help="an incident number; repeat for several")] = None,
    closed_before: Annotated[str | None, typer.Option(help="every incident closed before this date (YYYY-MM-DD, "
                                                           "site time)")] = None,
    key: Annotated[Path | None, typer.Option(help="Ed25519 private key (PEM); default WAREROOM_ARCHIVE_KEY")] = None,
) -> None:
    """Export incidents with their audit rows, a sha256 manifest and an Ed25519 signature (nothing is deleted)."""
    from incidents import archive as content
    from incidents.clock import utcnow
    from incidents.database import Database
    from integrations.export.archive import ArchiveKeyError, load_private_key, write_archive

    settings = Settings()
    signing = key or settings.archive_key
    if signing is None:
        typer.echo("需要签名私钥 / A signing key is required: --key FILE or WAREROOM_ARCHIVE_KEY "
                   "(create one with: openssl genpkey -algorithm ed25519 -out archive-key.pem)", err=True)
        raise typer.Exit(2)
    try:
        private = load_private_key(signing)
        before = (datetime.combine(date.fromisoformat(closed_before), time(), ZoneInfo(settings.site_timezone))
                  if closed_before else None)
    except (ArchiveKeyError, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    database = Database(settings.resolved_database_url())
    try:
        with database.reader() as session:
            ids = [*(incident or []), *(content.closed_before(session, before) if before else [])]
            if not ids:
                typer.echo("没有要归档的事件 / No incidents to archive: give --incident N or --closed-before DATE",
                           err=True)
                raise typer.Exit(2)
            collected = content.collect(session, ids)
    finally:
        database.dispose()
    missing = sorted(set(ids) - {row["id"] for row in collected.incidents})
    if missing:
        typer.echo(f"没有这些事件 / No such incidents: {', '.join(map(str, missing))}", err=True)
        raise typer.Exit(2)
    try:
        written = write_archive(collected, out, key=private, now=utcnow())
    except FileExistsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"wrote {written.folder}: {written.incidents} incidents, {written.audit_rows} audit rows; "
               f"signed by key {written.fingerprint}")


@retention_app.command("verify")
def verify(
    folder: Annotated[Path, typer.Argument(help="an archive folder")],
    fingerprint: Annotated[str | None, typer.Option(help="the signing key's fingerprint the archive must carry")]
    = None,
) -> None:
    """Check an archive: signature, file hashes and the audit rows' hashes and links; exit 1 on a problem."""
    from integrations.export.archive import verify_archive

    problems = verify_archive(folder, expected_fingerprint=fingerprint)
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo(f"{folder}: archive intact")
