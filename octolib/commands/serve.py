"""``octo serve``: the dashboards and JupyterLab behind the login (see octolib.server.launch)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the password-protected Jupyter server (Voilà dashboards + JupyterLab)",
        description="Serve the notebooks folder: dashboards at /voila/render/..., a landing page at "
                    "/dashboards, JupyterLab at /lab. Everything but the login page and static assets "
                    "needs a session. Accounts come from `octo user create`.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8866, help="port (default 8866)")
    p.add_argument("--notebooks-dir", default=None,
                   help="folder to serve (default: the workspace, OCTO_WORKSPACE_DIR, seeded from the package)")
    p.add_argument("--secure", action="store_true",
                   help="deployment behind a TLS proxy (nginx): Secure cookies, trust X-Forwarded-For/Proto")
    p.add_argument("--kernel-cull-minutes", type=float, default=10.0,
                   help="shut down kernels idle this long, even with a tab open (default 10)")
    p.add_argument("--max-kernels", type=int, default=8, help="most kernels at once, 0 = no limit (default 8)")
    p.add_argument("--pool-size", type=int, default=1,
                   help="pre-started kernels per dashboard, so pages open fast (default 1; 0 = off)")
    p.add_argument("--routes-file", default=None, help="write the route table (JSON) here at start, for audits")
    p.add_argument("jupyter_args", nargs="*", metavar="-- JUPYTER_OPTION",
                   help="after --: options passed to the Jupyter server as they are "
                        "(e.g. -- --PooledKernelManager.pool_notebooks=overview.ipynb); the login "
                        "gate's settings cannot be changed this way")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from octolib.server.launch import ServeOptions, resolve_notebooks_dir, serve
    from octolib.config import Settings
    from octolib.workspace import prepare_workspace

    settings = Settings.from_env()
    options = ServeOptions(
        notebooks_dir=resolve_notebooks_dir(args.notebooks_dir or str(prepare_workspace(settings).root), Path.cwd()),
        host=args.host,
        port=args.port,
        secure=args.secure,
        kernel_cull_minutes=args.kernel_cull_minutes,
        max_kernels=args.max_kernels,
        routes_file=Path(args.routes_file).resolve() if args.routes_file else None,
        pool_size=args.pool_size,
        extra_args=tuple(a for a in args.jupyter_args if a != "--"),
    )
    _warn_if_no_users(settings)
    return serve(settings, options)


def _warn_if_no_users(settings: object) -> None:
    """A server nobody can sign in to is a common first-run surprise: say so up front."""
    import sys

    from octolib.auth.users import open_user_store

    store = open_user_store(settings)
    try:
        if not store.list_users():
            print("octopus: no accounts yet: create one with `octo user create NAME`", file=sys.stderr)
    finally:
        store.close()
