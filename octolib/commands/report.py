"""``octo report``: partner reports from the command line.

::

    octo report --partner acme --template campaign_summary [--from 2026-07-01 --to 2026-09-30]
    octo report --partner acme                   # every template for acme
    octo report --all [--template NAME]          # every partner (every template unless named)
    octo report --import-partners partners.yml   # validate, then store the partners
    octo report --export-partners partners.yml   # write the stored partners back out ("-": stdout)
    octo report --partners                       # list the stored partners
    octo report --history [--partner acme]       # past reports, newest first
    octo report --note acme "text"               # set the analyst note carried by later reports

Runs go through :func:`octolib.reports.runner.run_batch`: a progress bar for the batch,
then a summary that lists every failure and why. Exit code 0 when every report
succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

__all__ = ["register", "run_report_command"]


def register(subparsers: argparse._SubParsersAction) -> None:
    from octolib.reports.templates import TEMPLATES

    p = subparsers.add_parser(
        "report",
        help="make partner reports (PDF + CSV + executed notebook), manage partners",
        description="Run report templates (papermill) for one partner or all of them, on a bounded pool; "
                    "each report leaves its PDF, CSV appendix and executed notebook under "
                    "OCTO_DATA_DIR/reports/<batch>/<partner>/.",
    )
    p.add_argument("--partner", action="append", metavar="SLUG", help="a partner's slug (repeatable)")
    p.add_argument("--all", action="store_true", help="every stored partner")
    p.add_argument("--template", action="append", choices=list(TEMPLATES), metavar="NAME",
                   help=f"template (repeatable; default: all): {', '.join(TEMPLATES)}")
    p.add_argument("--from", dest="date_from", default="", metavar="YYYY-MM-DD",
                   help="first day of the period (with --to; default: each partner's default_range)")
    p.add_argument("--to", dest="date_to", default="", metavar="YYYY-MM-DD", help="last day of the period, inclusive")
    p.add_argument("--workers", type=int, default=2, help="reports run at once (default 2: one per core)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (cron, logs)")
    p.add_argument("--import-partners", metavar="FILE", help="validate and store the partners of a partners.yml")
    p.add_argument("--prune", action="store_true", help="with --import-partners: delete partners not in the file")
    p.add_argument("--export-partners", metavar="FILE", help="write the stored partners as partners.yml ('-': stdout)")
    p.add_argument("--partners", dest="list_partners", action="store_true", help="list the stored partners")
    p.add_argument("--history", action="store_true", help="list past reports, newest first")
    p.add_argument("--note", nargs=2, metavar=("SLUG", "TEXT"), help="set a partner's analyst note")
    p.set_defaults(func=run_report_command)


def run_report_command(args: argparse.Namespace) -> int:
    from octolib.config import Settings
    from octolib.errors import ConfigError
    from octolib.metrics.display import plural
    from octolib.reports import partners as P
    from octolib.commands.common import connect_existing, store_line
    from octolib.reports.runner import check_dates, list_reports, requests_for, run_batch
    from octolib.store import connect

    settings = Settings.from_env()
    running = not (args.import_partners or args.export_partners or args.list_partners or args.note or args.history)
    if running:  # every argument is checked before the store opens or any report starts
        if not args.all and not args.partner:
            raise ConfigError("say which partner: --partner SLUG (repeatable) or --all")
        if args.all and args.partner:
            raise ConfigError("--all and --partner exclude each other")
        if args.workers < 1:
            raise ConfigError(f"--workers must be 1 or more, got {args.workers}")
        check_dates(args.date_from, args.date_to)
    # Importing partners may start a store; everything else only reads one that exists.
    store = connect(settings) if args.import_partners else connect_existing(settings)
    try:
        store.ensure_indexes()
        if args.import_partners:
            saved = P.import_partners(store, Path(args.import_partners), prune=args.prune)
            print(f"imported {plural(len(saved), 'partner')}: {', '.join(p.slug for p in saved)}")
            return 0
        if args.export_partners:
            text = P.export_partners_yaml(store)
            if args.export_partners == "-":
                sys.stdout.write(text)
            else:
                Path(args.export_partners).write_text(text, encoding="utf-8")
                print(f"wrote {args.export_partners}")
            return 0
        if args.list_partners:
            for p in P.list_partners(store, include_archived=True):
                print(f"{p.slug:20} {p.name:30} {p.default_range if isinstance(p.default_range, str) else 'fixed range'}"
                      + ("  (archived: not in --all or schedules)" if p.archived else ""))
            return 0
        if args.note:
            P.set_note(store, args.note[0], args.note[1])
            print(f"note of {args.note[0]} updated")
            return 0
        if args.history:
            slug = args.partner[0] if args.partner else None
            for d in list_reports(store, partner=slug, limit=50):
                when = d.get("started_at")
                print(f"{when:%Y-%m-%d %H:%M}  {d['status']:9} {d['partner']:16} {d['template']:20} "
                      f"{(d.get('files') or {}).get('pdf', '') or d.get('error', '')}")
            return 0
        requests = requests_for(store, None if args.all else args.partner, args.template, args.date_from, args.date_to)
        if not requests:
            raise ConfigError("no partner is defined: import a partners.yml first (octo report --import-partners)")
        print(f"{store_line(store)}\n{plural(len(requests), 'report')}, {args.workers} at a time", file=sys.stderr)
        bar = None
        if not args.no_progress:
            from tqdm import tqdm

            bar = tqdm(total=len(requests), unit="report", file=sys.stderr)

        def progress(done: int, total: int, result: object) -> None:
            if bar is not None:
                bar.set_postfix_str(f"{result.request.partner}/{result.request.template}: {result.status}")  # type: ignore[attr-defined]
                bar.update(1)

        try:
            env_file = Path(".env") if Path(".env").is_file() else None  # Settings.from_env read it too
            batch = run_batch(settings, requests, store=store, workers=args.workers, user=getpass.getuser(),
                              progress=progress, env_file=env_file)
        finally:
            if bar is not None:
                bar.close()
        print(batch.summary())
        print(f"manifest: {batch.manifest}")
        return 0 if not batch.failed else 1
    finally:
        store.close()
