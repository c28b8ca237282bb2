"""``octo sync`` and ``octo init-db``: fill the store from EmailOctopus, prepare the store.

``octo sync [--full] [--only lists|contacts|campaigns|reports ...]`` runs one sync
(:func:`octolib.sync.run_sync`) with a progress bar per stage and ends with a summary
table; exit code 0 when the run succeeded, 1 when it failed or another sync is running.
SIGTERM and Ctrl-C stop it cleanly: the run is recorded ``interrupted`` and the next run
resumes it (so does a run killed with ``kill -9``).

``octo init-db`` connects to the store (see :func:`octolib.store.connect`), creates the
collections and indexes, and says which store it is; ``--stop-mongod`` shuts the private
mongod down.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from octolib.store import COLLECTIONS
from octolib.sync import STAGES

__all__ = ["register", "run_sync_command", "run_init_db"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sync",
        help="copy the EmailOctopus account into the store (incremental; --full for everything)",
        description="Copy lists, contacts, campaigns and campaign reports from EmailOctopus into MongoDB "
                    "(or the embedded store). Incremental by default; resumes an interrupted run.",
    )
    p.add_argument("--full", action="store_true",
                   help="ignore watermarks: re-read every contact and every campaign report")
    p.add_argument("--only", action="append", choices=STAGES, metavar="STAGE",
                   help=f"run only this stage (repeatable): {', '.join(STAGES)}")
    p.add_argument("--trigger", default="cli", help="what started this run, for sync_runs (default: cli)")
    p.add_argument("--user", default=None, help="who started this run, for sync_runs (default: the OS user)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (cron, logs)")
    p.set_defaults(func=run_sync_command)

    q = subparsers.add_parser(
        "init-db",
        help="create the store's collections and indexes, and say which store is used",
        description="Connect to the store (OCTO_MONGODB_URI, else a private mongod on PATH, else the embedded "
                    "store under OCTO_DATA_DIR) and create collections and indexes. Safe to run again.",
    )
    q.add_argument("--stop-mongod", action="store_true",
                   help="shut down the private mongod that octopus started under OCTO_DATA_DIR, and exit")
    q.set_defaults(func=run_init_db)


def _sigterm_as_interrupt() -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)
        # SIGINT too, even when inherited as ignored (a background job of a shell script)
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_sync_command(args: argparse.Namespace) -> int:
    from octolib.api import EmailOctopusClient
    from octolib.commands.common import store_line
    from octolib.config import Settings
    from octolib.dashboards.warm import after_sync_steps
    from octolib.store import connect
    from octolib.sync import run_sync
    from octolib.sync.automation import automation_thresholds

    settings = Settings.from_env()
    client = EmailOctopusClient.from_settings(settings)
    store = connect(settings)
    _sigterm_as_interrupt()
    from octolib.sync.priority import run_in_background_priority

    run_in_background_priority(settings.sync_nice)
    try:
        print(store_line(store), file=sys.stderr)
        result = run_sync(
            store,
            client,
            full=args.full,
            only=args.only,
            trigger=args.trigger,
            user=args.user,
            progress=not args.no_progress,
            sent_events=settings.sync_sent_events,
            after=after_sync_steps(settings),
            automation=automation_thresholds(settings),
        )
    finally:
        store.close()
        client.close()
    print(result.table())
    return 0 if result.ok else 1


def run_init_db(args: argparse.Namespace) -> int:
    from octolib.commands.common import store_line
    from octolib.config import Settings
    from octolib.store import connect
    from octolib.store.mongod import LocalMongod

    settings = Settings.from_env()
    if args.stop_mongod:
        stopped = LocalMongod(Path(settings.data_dir) / "mongod").stop()
        print("private mongod stopped" if stopped else "no private mongod was running")
        return 0
    store = connect(settings)
    try:
        store.ensure_indexes()
        print(store_line(store))
        for name in COLLECTIONS:
            coll = getattr(store, name)
            print(f"  {name:<28} {coll.estimated_document_count():>8} documents, "
                  f"{len(coll.index_information())} indexes")
    finally:
        store.close()
    return 0
