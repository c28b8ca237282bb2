"""The ``octo`` command.

Each area adds its own subcommands from a module in ``octolib.commands`` that defines
``register(subparsers)``; a subcommand sets ``func(args) -> int`` with ``set_defaults``.
Settings are built here, at the edge, and nowhere deeper.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from octolib import __version__, commands
from octolib.errors import OctoError, redact


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="octo", description="octopus: EmailOctopus analytics and partner reports")
    parser.add_argument("--version", action="version", version=f"octo {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def _log_level() -> str:
    """OCTO_LOG_LEVEL (default WARNING, so progress bars stay readable); a bad value falls back."""
    from octolib.config import Settings

    try:
        level = Settings.from_env().log_level
    except OctoError:
        return "WARNING"
    return level if level in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"} else "WARNING"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    logging.basicConfig(level=_log_level(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OctoError as exc:
        print(f"octo: error: {redact(str(exc))}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
