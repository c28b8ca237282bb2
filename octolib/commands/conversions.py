"""``octo conversions``: a partner's outcome files (EmailOctopus has no conversion data).

::

    octo conversions import outcomes.csv --partner acme [--as ana]   # check the whole file, then store it
    octo conversions list [--partner acme]                           # uploads, newest first
    octo conversions remove ID [--as ana]                            # an upload and its conversions
    octo conversions sample --partner acme OUT.csv                   # the demo account's sample file

Who: ``--as NAME`` names the analyst; without it the upload records ``cli:<OS user>``, since
the operating-system account running the command is not an analyst (see
:mod:`octolib.conversions`). A bad file prints every bad row with its line number and
stores nothing (exit 1).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from octolib.store import Store

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "conversions", help="upload, list and remove a partner's outcome files (conversions)",
        description="Conversions from a partner's own outcome file (CSV: email or contact_id, time, optional "
                    "value), attributed to the last campaign the contact clicked within OCTO_CONVERSION_WINDOW_DAYS.",
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="check an outcome CSV and store it for a partner")
    imp.add_argument("file", metavar="FILE", help="the CSV file")
    imp.add_argument("--partner", required=True, metavar="SLUG", help="whose outcomes these are")
    imp.add_argument("--as", dest="actor", metavar="NAME", help="the analyst uploading (default: cli:<OS user>)")
    ls = sub.add_parser("list", help="list the stored uploads, newest first")
    ls.add_argument("--partner", metavar="SLUG", help="only this partner's")
    rm = sub.add_parser("remove", help="remove an upload and its conversions")
    rm.add_argument("upload_id", metavar="ID", help="the upload's id (octo conversions list)")
    rm.add_argument("--as", dest="actor", metavar="NAME", help="the analyst removing it (default: cli:<OS user>)")
    sample = sub.add_parser("sample", help="write the demo account's sample outcome file for a partner")
    sample.add_argument("out", metavar="OUT", help="where to write the CSV ('-': stdout)")
    sample.add_argument("--partner", required=True, metavar="SLUG", help="the partner whose lists' clickers to use")
    sample.add_argument("--rows", type=int, default=40, help="how many outcomes (default 40)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from octolib import conversions as C
    from octolib.commands.common import connect_existing
    from octolib.config import Settings
    from octolib.errors import ConfigError

    settings = Settings.from_env()
    actor = C.cli_actor(getattr(args, "actor", None), getpass.getuser())
    data = b""
    if args.action == "import":  # the file is read before the store opens: a missing file costs nothing
        path = Path(args.file)
        if not path.is_file():
            raise ConfigError(f"{path}: no such file; give the path of the partner's outcome CSV")
        if path.stat().st_size > C.MAX_FILE_BYTES:
            raise ConfigError(f"{path}: larger than {C.MAX_FILE_BYTES // (1024 * 1024)} MB; split the file")
        data = path.read_bytes()
    store = connect_existing(settings)
    try:
        store.ensure_indexes()
        if args.action == "import":
            try:
                upload = C.import_outcomes(store, args.partner, data, filename=path.name, actor=actor,
                                           tz=settings.timezone)
            except C.OutcomeFileError as exc:
                print(f"octo: error: {exc}", file=sys.stderr)
                return 1
            table = C.conversion_table(store, args.partner, window_days=settings.conversion_window_days)
            print(f"stored {upload.rows} outcomes of {upload.filename} for {upload.partner} as upload "
                  f"{upload.upload_id} (by {upload.uploaded_by}); {int(table.conversion_count.sum())} of the "
                  f"partner's {table.outcomes} outcomes are credited to a campaign "
                  f"(window {settings.conversion_window_days:g} days)")
            return 0
        if args.action == "list":
            uploads = C.list_uploads(store, args.partner)
            if not uploads:
                print("no conversion uploads" + (f" for {args.partner}" if args.partner else ""))
            for u in uploads:
                print(f"{u.upload_id}  {u.uploaded_at:%Y-%m-%d %H:%M}  {u.partner:16} {u.rows:6} outcomes  "
                      f"{u.filename}  by {u.uploaded_by}")
            return 0
        if args.action == "remove":
            u = C.remove_upload(store, args.upload_id, actor=actor)
            print(f"removed upload {u.upload_id} ({u.filename}, {u.rows} outcomes) of {u.partner}")
            return 0
        return _sample(store, args)
    finally:
        store.close()


def _sample(store: Store, args: argparse.Namespace) -> int:
    from octolib.demo import DEMO_SEED, demo_now
    from octolib.fake import FakeAccount
    from octolib.fake.outcomes import sample_outcomes_csv
    from octolib.reports.partners import get_partner, partner_lists

    partner = get_partner(store, args.partner)
    account = FakeAccount.generate(seed=DEMO_SEED, size="demo", now=demo_now())
    text = sample_outcomes_csv(account, partner_lists(partner) or None, n=args.rows)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {text.count(chr(10)) - 1} sample outcomes to {args.out}")
    return 0
