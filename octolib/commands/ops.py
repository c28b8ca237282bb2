"""Operations commands: ``backup``, ``restore``, ``export``, ``retention``, ``doctor``, ``scheduler``, ``deliver``.

::

    octo backup [--out FILE | --dir DIR] [--keep N] [--tool auto|builtin|mongodump]
    octo restore ARCHIVE [--check] [--yes] [--no-safety-backup]
    octo export campaigns|contacts|events|snapshots [--format csv|jsonl] [--since D] [--until D]
                [--list LIST_ID] [-o FILE]
    octo retention [--days N] [--dry-run]
    octo doctor [--fix] [--skip CHECK]
    octo scheduler [--show] [--no-retention]
    octo deliver REPORT_ID [--to ADDRESS ...] [--resend]
    octo deliver --history [--partner SLUG] [--report REPORT_ID]

Each builds :class:`~octolib.config.Settings` from the environment and calls one library
function from :mod:`octolib.ops`. Exit codes: 0 success, 1 failure (a damaged archive, a
failed check, a failed delivery), 2 a refused request (restore without confirmation).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from octolib.config import Settings
    from octolib.store import Store

__all__ = ["register"]



def register(subparsers: argparse._SubParsersAction) -> None:
    raw = argparse.RawDescriptionHelpFormatter

    b = subparsers.add_parser("backup", help="write one archive of every collection (with a manifest of checksums)",
                              description="Write every collection into one .tar.gz (BSON + manifest of counts and "
                                          "SHA-256), by mongodump when it is on PATH, else built in. Default "
                                          "location: OCTO_DATA_DIR/backups/.", formatter_class=raw)
    where = b.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, metavar="FILE", help="the archive to write (must not exist)")
    where.add_argument("--dir", type=Path, metavar="DIR", help="folder for a time-stamped archive")
    b.add_argument("--keep", type=int, metavar="N", help="then delete all but the newest N archives in that folder")
    b.add_argument("--tool", choices=["auto", "builtin", "mongodump"], default="auto",
                   help="auto (default): mongodump when on PATH and the store is MongoDB")
    b.set_defaults(func=run_backup)

    r = subparsers.add_parser("restore", help="check an archive, then replace the store's collections with it",
                              description="Check the whole archive (checksums, counts, every document) before "
                                          "writing; a damaged archive is refused and the data is left as it "
                                          "was. Before replacing anything, the current data is backed up to "
                                          "OCTO_DATA_DIR/backups/pre-restore-*.tar.gz.", formatter_class=raw)
    r.add_argument("archive", type=Path)
    r.add_argument("--check", action="store_true", help="only check the archive and show what it holds")
    r.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    r.add_argument("--no-safety-backup", action="store_true", help="skip the backup of the current data")
    r.set_defaults(func=run_restore)

    from octolib.ops.export import FORMATS, KINDS

    e = subparsers.add_parser("export", help="campaigns, contacts, events or snapshots as CSV or JSON Lines",
                              description="Export from the store, filtered by date (days in OCTO_TIMEZONE, both "
                                          "included) and list. See octolib.ops.export for the columns.")
    e.add_argument("kind", choices=list(KINDS))
    e.add_argument("--format", choices=list(FORMATS), default="csv")
    e.add_argument("--since", metavar="YYYY-MM-DD", help="first day")
    e.add_argument("--until", metavar="YYYY-MM-DD", help="last day (included)")
    e.add_argument("--list", dest="list_id", metavar="LIST_ID", help="only what belongs to this EmailOctopus list")
    e.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here instead of stdout")
    e.set_defaults(func=run_export)

    t = subparsers.add_parser("retention", help="thin old metric snapshots to the last one per campaign per day",
                              description="Snapshots older than OCTO_RETENTION_DAYS (or --days) keep only the "
                                          "last one of each day per campaign (and per list).")
    t.add_argument("--days", type=float, help="age in days (default: OCTO_RETENTION_DAYS)")
    t.add_argument("--dry-run", action="store_true", help="show what would be deleted, delete nothing")
    t.set_defaults(func=run_retention)

    d = subparsers.add_parser("doctor", help="check the API key, the store, indexes, last sync, disk; exit 1 if wrong")
    d.add_argument("--fix", action="store_true", help="create missing indexes")
    d.add_argument("--skip", action="append", default=[], choices=["api", "indexes", "sync", "disk", "backups", "smtp", "chromium", "poppler"],
                   help="leave a check out (repeatable)")
    d.set_defaults(func=run_doctor_command)

    s = subparsers.add_parser("scheduler", help="run forever: sync every OCTO_SYNC_EVERY minutes, scheduled reports",
                              description="The long-running process for systemd or docker: incremental sync "
                                          "every OCTO_SYNC_EVERY minutes, report batches on the partners' "
                                          "schedules (emailed when SMTP is set and the partner has delivery: "
                                          "true), nightly snapshot retention. Stops cleanly on SIGTERM.")
    s.add_argument("--show", action="store_true", help="print the jobs and their next times, then exit")
    s.add_argument("--no-retention", action="store_true", help="do not thin snapshots nightly")
    s.set_defaults(func=run_scheduler)

    v = subparsers.add_parser("deliver", help="email a finished report's PDF to the partner's recipients (or resend)",
                              description="Send a report by SMTP (OCTO_SMTP_*); recipients who already got it "
                                          "are skipped unless --resend. Nothing is sent without OCTO_SMTP_HOST.")
    v.add_argument("report_id", nargs="?", help="a report id (see `octo report --history`)")
    v.add_argument("--to", action="append", metavar="ADDRESS", help="send to this address instead (repeatable)")
    v.add_argument("--resend", action="store_true", help="send again to recipients who already received it")
    v.add_argument("--history", action="store_true", help="list past deliveries, newest first")
    v.add_argument("--partner", help="with --history: only this partner")
    v.add_argument("--report", dest="history_report", help="with --history: only this report")
    v.set_defaults(func=run_deliver)


def _settings() -> Settings:
    from octolib.config import Settings

    return Settings.from_env()


def _mongo_uri(settings: Settings, store: Store) -> str:
    """The URI mongodump/mongorestore need: the configured one, or the private mongod's address."""
    if store.kind == "uri":
        return str(settings.mongodb_uri)
    if store.kind == "mongod":
        try:
            host, port = store.client.address
            return f"mongodb://{host}:{port}/"
        except Exception:  # noqa: BLE001 - without an address the built-in path is used
            return ""
    return ""


def run_backup(args: argparse.Namespace) -> int:
    from octolib.commands.common import connect_existing
    from octolib.ops.backup import backup, default_archive_path, prune_backups

    settings = _settings()
    folder = args.dir or (args.out.parent if args.out else Path(settings.data_dir).expanduser() / "backups")
    with connect_existing(settings) as store:
        path = args.out or default_archive_path(folder, settings.db_name)
        result = backup(store, path, tool=args.tool, mongo_uri=_mongo_uri(settings, store))
    print(result.summary())
    if args.keep:
        for gone in prune_backups(folder, args.keep):
            print(f"deleted old backup {gone}")
    return 0


def _confirm(db_name: str, description: str) -> bool:
    if not sys.stdin.isatty():
        print("octo restore: refusing to replace data without --yes (stdin is not a terminal)", file=sys.stderr)
        return False
    print(f"This replaces the collections of {description} with the archive's.")
    answer = input(f"Type the database name ({db_name}) to go on: ")
    return answer.strip() == db_name


def run_restore(args: argparse.Namespace) -> int:
    from octolib.ops.backup import describe, restore, verify_archive
    from octolib.store import connect

    settings = _settings()
    if args.check:
        print(describe(verify_archive(args.archive)))
        print("the archive is complete and every checksum matches")
        return 0
    with connect(settings) as store:
        if not args.yes and not _confirm(store.db.name, store.description):
            return 2
        safety = None if args.no_safety_backup else Path(settings.data_dir).expanduser() / "backups"
        result = restore(store, args.archive, safety_backup_dir=safety, mongo_uri=_mongo_uri(settings, store))
    print(result.summary())
    return 0


def _day(value: str | None, flag: str) -> date | None:
    from octolib.errors import ConfigError

    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{flag} {value!r} is not a date; write YYYY-MM-DD") from None


def run_export(args: argparse.Namespace) -> int:
    from octolib.ops.export import export

    from octolib.commands.common import connect_existing
    from octolib.errors import ConfigError

    settings = _settings()
    since, until = _day(args.since, "--since"), _day(args.until, "--until")
    if since and until and until < since:
        raise ConfigError(f"--until {until.isoformat()} is before --since {since.isoformat()}; swap them")
    with connect_existing(settings) as store:
        if args.output:
            tmp = args.output.with_name(f".{args.output.name}.partial")
            try:
                with open(tmp, "w", encoding="utf-8", newline="") as out:
                    n = export(store, args.kind, out, fmt=args.format, since=since, until=until,
                               list_id=args.list_id, tz=settings.timezone)
                tmp.replace(args.output)
            finally:
                tmp.unlink(missing_ok=True)
            print(f"exported {n:,} {args.kind} to {args.output}", file=sys.stderr)
        else:
            n = export(store, args.kind, sys.stdout, fmt=args.format, since=since, until=until,
                       list_id=args.list_id, tz=settings.timezone)
            sys.stdout.flush()
            print(f"exported {n:,} {args.kind}", file=sys.stderr)
    return 0


def run_retention(args: argparse.Namespace) -> int:
    from octolib.errors import ConfigError
    from octolib.commands.common import connect_existing
    from octolib.ops.retention import thin_snapshots

    settings = _settings()
    days = settings.retention_days if args.days is None else args.days
    if days <= 0:
        raise ConfigError(f"--days must be greater than 0, got {days:g}")
    with connect_existing(settings) as store:
        result = thin_snapshots(store, days, tz=settings.timezone, dry_run=args.dry_run)
    print(result.summary())
    return 0


def run_doctor_command(args: argparse.Namespace) -> int:
    from octolib.ops.doctor import run_doctor

    report = run_doctor(_settings(), fix=args.fix, skip=args.skip)
    print(report.render())
    return 0 if report.ok else 1


def run_scheduler(args: argparse.Namespace) -> int:
    from octolib.ops.scheduler import build_scheduler, describe_plan, hold_scheduler_lock
    from octolib.store import connect

    settings = _settings()
    # A long-running service logs every job it runs, whatever OCTO_LOG_LEVEL quiets elsewhere
    # (the API client's per-request lines stay at the configured level).
    ops_log = logging.getLogger("octolib.ops")
    if ops_log.getEffectiveLevel() > logging.INFO:
        ops_log.setLevel(logging.INFO)
    if args.show:
        print(describe_plan(build_scheduler(settings, with_retention=not args.no_retention), 3, settings.timezone))
        return 0
    # The lock lives in its own store handle, used only from this (the main) thread.
    with connect(settings) as store:
        owner, refresh = hold_scheduler_lock(store)
        sched = build_scheduler(settings, with_retention=not args.no_retention, on_tick=refresh)

        def stop(signum: int, frame: object) -> None:
            ops_log.info("signal %d: stopping after the current job", signum)
            sched.stop()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, stop)
        ops_log.info("octo scheduler started (store: %s)\n%s", store.description,
                 describe_plan(sched, 1, settings.timezone))
        try:
            sched.run()
        finally:
            from octolib.store.locks import release_lock

            release_lock(store.locks, "scheduler", owner)
    ops_log.info("octo scheduler stopped")
    return 0


def run_deliver(args: argparse.Namespace) -> int:
    from octolib.errors import ConfigError
    from octolib.ops.delivery import SmtpConfig, deliver_report, delivery_history
    from octolib.store import connect

    settings = _settings()
    with connect(settings) as store:
        if args.history:
            rows = delivery_history(store, partner=args.partner, report_id=args.history_report)
            for d in rows:
                when = d.get("sent_at")
                shown = when.strftime("%Y-%m-%d %H:%M") if when else "?"
                print(f"{shown}  {d.get('status', ''):<7} {d.get('recipient', ''):<32} "
                      f"{d.get('report_id', '')}  pdf {str(d.get('pdf_sha256', ''))[:12]}"
                      + ("  (resend)" if d.get("resend") else "") + (f"  {d['error']}" if d.get("error") else ""))
            if not rows:
                print("no deliveries recorded")
            return 0
        if not args.report_id:
            raise ConfigError("give a REPORT_ID (see `octo report --history`), or --history")
        result = deliver_report(store, args.report_id, SmtpConfig.from_settings(settings), recipients=args.to,
                                resend=args.resend, user="cli")
    print(result.summary())
    return 0 if result.ok else 1
