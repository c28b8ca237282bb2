"""``octo user``: the only way accounts are made (there is no sign-up page).

    octo user create NAME [--full-name ..] [--email ..] [--role analyst|admin] [--generate | --from-env]
    octo user reset-password NAME [--generate | --from-env]
    octo user disable NAME | enable NAME
    octo user list
    octo user demo            # the demo account; prints its name and a fresh password

Passwords are prompted twice without echo. ``--from-env`` reads ``OCTOPUS_PASSWORD`` (and
``OCTOPUS_USERNAME`` when NAME is omitted) for unattended deploys; ``--exist-ok`` makes
``create`` succeed when the account is already there.
"""

from __future__ import annotations

import argparse
import getpass as _getpass
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, TextIO

__all__ = ["register", "run", "USERNAME_ENV", "PASSWORD_ENV"]

USERNAME_ENV = "OCTOPUS_USERNAME"
PASSWORD_ENV = "OCTOPUS_PASSWORD"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("user", help="create, disable, enable, reset or list login accounts",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    def password_source(q: argparse.ArgumentParser) -> None:
        g = q.add_mutually_exclusive_group()
        g.add_argument("--generate", action="store_true", help="generate a strong password and print it once")
        g.add_argument("--from-env", action="store_true",
                       help=f"read the password from ${PASSWORD_ENV} (and the name from ${USERNAME_ENV})")

    c = sub.add_parser("create", help="add an account")
    c.add_argument("username", nargs="?", help=f"login name (with --from-env, default ${USERNAME_ENV})")
    c.add_argument("--full-name", default="")
    c.add_argument("--email", default="")
    c.add_argument("--role", default="analyst", choices=["analyst", "admin"])
    c.add_argument("--exist-ok", action="store_true", help="succeed without changes if the account exists")
    password_source(c)

    r = sub.add_parser("reset-password", help="set a new password (ends the user's sessions, clears lockout)")
    r.add_argument("username", nargs="?")
    password_source(r)

    for action, text in (("disable", "refuse logins and end open sessions"), ("enable", "allow logins again")):
        q = sub.add_parser(action, help=text)
        q.add_argument("username")
    sub.add_parser("list", help="show the accounts")
    sub.add_parser("demo", help="create or refresh the demo account and print its password")
    p.set_defaults(func=run)


def _read_password(args: argparse.Namespace, username: str, environ: Mapping[str, str],
                   prompt: Callable[[str], str], out: TextIO) -> tuple[str, bool]:
    """The new password and whether it was generated (then it must be shown once)."""
    from octolib.auth.users import UserError, check_password_policy, generate_password

    if args.generate:
        return generate_password(), True
    if args.from_env:
        password = environ.get(PASSWORD_ENV, "")
        if not password:
            raise UserError(f"--from-env: ${PASSWORD_ENV} is empty or not set")
        return password, False
    for _ in range(3):
        first = prompt(f"New password for {username}: ")
        try:
            check_password_policy(username, first)
        except UserError as exc:
            print(f"  {exc}", file=out)
            continue
        if prompt("Repeat it: ") == first:
            return first, False
        print("  the two entries differ; try again", file=out)
    raise UserError("no acceptable password entered")


def _username(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    from octolib.auth.users import UserError

    name = args.username or (environ.get(USERNAME_ENV, "") if getattr(args, "from_env", False) else "")
    if not name:
        raise UserError(f"give a USERNAME (or set ${USERNAME_ENV} with --from-env)")
    return name


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def run(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
        prompt: Callable[[str], str] = _getpass.getpass, out: TextIO | None = None,
        settings: Any = None) -> int:
    """Do one ``octo user`` action. Keyword arguments exist for tests (no real tty needed)."""
    from octolib.auth.users import UserExistsError, ensure_demo_user, open_user_store
    from octolib.config import Settings

    environ = os.environ if environ is None else environ
    out = sys.stdout if out is None else out
    settings = settings or Settings.from_env()
    who = f"octo user ({environ.get('USER') or environ.get('LOGNAME') or 'unknown'})"
    store = open_user_store(settings)
    try:
        action = args.action
        if action == "list":
            users = store.list_users()
            if not users:
                print("no accounts; create one with `octo user create NAME`", file=out)
            for u in users:
                state = "active" if u.get("is_active") else "disabled"
                print(f"{u['username']:<20} {state:<9} {u.get('role') or '-':<8} "
                      f"last login {_fmt(u.get('last_login'))}  {u.get('full_name') or ''}".rstrip(), file=out)
            return 0
        if action == "demo":
            name, password = ensure_demo_user(store, by=who)
            print(f"demo user: {name}\npassword:  {password}", file=out)
            return 0
        name = _username(args, environ)
        if action in ("disable", "enable"):
            store.set_active(name, action == "enable", by=who)
            print(f"{name}: {action}d", file=out)
            return 0
        if action == "create" and args.exist_ok and store.get(name) is not None:
            print(f"{name}: exists, left unchanged", file=out)
            return 0
        password, generated = _read_password(args, name, environ, prompt, out)
        if action == "create":
            try:
                store.create(name, password, full_name=args.full_name, email=args.email, role=args.role, created_by=who)
            except UserExistsError:
                if args.exist_ok:
                    print(f"{name}: exists, left unchanged", file=out)
                    return 0
                raise
            print(f"{name}: created", file=out)
        else:
            store.set_password(name, password, by=who)
            print(f"{name}: password changed; open sessions ended", file=out)
        if generated:
            print(f"password: {password}", file=out)
        return 0
    finally:
        store.close()
