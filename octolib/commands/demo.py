"""``octo demo``: the product on its built-in demo account, end to end.

Starts the local EmailOctopus account on 127.0.0.1 (real HTTP, the real API's rate limits),
pulls every list and campaign through the client, syncs the account into the store, creates
the demo login, then serves the dashboards behind the login until Ctrl-C. The data lives
under ``<OCTO_DATA_DIR>/demo``, apart from production data.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "demo",
        help="run the product on the built-in demo account (local EmailOctopus, sync, dashboards)",
        description="Start the local EmailOctopus account, sync it into the store and serve the dashboards.",
    )
    p.add_argument("--size", default="demo", help="account size: tiny, small or demo (default)")
    p.add_argument("--seed", type=int, default=None, help="seed of the generated account (default 7)")
    p.add_argument("--api-port", type=int, default=0, help="port of the local EmailOctopus account (default: free)")
    p.add_argument("--port", type=int, default=8866, help="port of the dashboards (default 8866)")
    p.add_argument("--no-serve", action="store_true", help="stop after the sync (no dashboards)")
    p.add_argument("--full", action="store_true", help="force a full sync")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from octolib.api import EmailOctopusClient
    from octolib.commands.common import demo_exports, store_line
    from octolib.config import Settings
    from octolib.metrics.display import plural
    from octolib.demo import DEMO_SEED, demo_server, demo_settings, pull_account_summary
    from octolib.store import connect
    from octolib.sync import run_sync
    from octolib.sync.automation import automation_thresholds

    base = Settings.from_env()
    seed = DEMO_SEED if args.seed is None else args.seed
    with demo_server(seed=seed, size=args.size, port=args.api_port) as server:
        settings = demo_settings(base, server)
        print(f"octopus demo: local EmailOctopus account (seed {seed}, size {args.size}) at {server.base_url}")
        with EmailOctopusClient.from_settings(settings) as client:
            print(pull_account_summary(client).render())
        store = connect(settings)
        print(store_line(store))
        with EmailOctopusClient.from_settings(settings) as client:
            result = run_sync(store, client, full=args.full, trigger="demo", progress=True,
                              automation=automation_thresholds(settings))
        print(result.table())
        if not result.ok:
            print("octopus demo: the sync did not succeed; see the errors above", file=sys.stderr)
            return 1
        from octolib.demo import ensure_demo_partners

        added = ensure_demo_partners(store, [
            {"id": d["emailoctopus_id"], "name": d.get("name")}
            for d in store.lists.find({}, {"emailoctopus_id": 1, "name": 1})])
        if added:
            print(f"added {plural(added, 'demo partner')} for the report builder")
        from octolib.customers.demo import import_and_link_demo_customers

        linked, projects = import_and_link_demo_customers(store, settings, server.account.customer_plan,
                                                          Path(settings.data_dir) / "customers")
        print(f"customers: {linked.render().splitlines()[0]}\nprojects: {projects.render()}")
        store.close()
        from octolib.fake.outcomes import sample_outcomes_csv

        sample = settings.data_dir / "sample_outcomes.csv"  # a partner's conversions file (issue 13)
        sample.write_text(sample_outcomes_csv(server.account), encoding="utf-8")
        print(f"sample outcome file of a partner (upload it on the Campaigns page): {sample}")
        print(f"\nTo use the demo's data from another terminal (reports, exports):\n"
              f"  {demo_exports(base.data_dir)}\n"
              f"  export OCTO_LINK_FIELD={settings.link_field}   # the demo's customers are linked by this field too\n"
              f"  octo report --partners")
        if args.no_serve:
            return 0
        return _serve(settings, args.port)


def _serve(settings, port: int) -> int:  # type: ignore[no-untyped-def]
    from octolib.server.launch import ServeOptions, resolve_notebooks_dir, serve
    from octolib.auth.users import ensure_demo_user, open_user_store
    from octolib.workspace import prepare_workspace

    users = open_user_store(settings)
    try:
        name, password = ensure_demo_user(users)
    finally:
        users.close()
    # The demo is a first look: the server says only what needs attention (its INFO lines,
    # a screenful of extensions and kernels, buried the URL and password); `octo serve` keeps them.
    options = ServeOptions(notebooks_dir=resolve_notebooks_dir(str(prepare_workspace(settings).root), Path.cwd()), port=port,
                           extra_args=("--ServerApp.log_level=WARN",))
    print(f"\n  sign in as  {name}  with password  {password}\n  (a new password is made each time `octo demo` starts)\n")
    # Not exec: this process keeps the local EmailOctopus account alive for "Sync now".
    return serve(settings, options, exec_=False, sign_in=f"sign in as {name} with the password above")
