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


def _configure_logging(level: str) -> None:
    """Calm by default: at WARNING a problem reads ``octo: warning: ...``, one line, no
    timestamp; INFO/DEBUG (an operator tracing requests) keep time and logger name.

    The store's "using the embedded store" notice is not repeated here: the commands that
    open a store print one ``store: ...`` line that says the same (``commands.common.store_line``).
    """
    if level in ("DEBUG", "INFO"):
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    else:
        fmt = "octo: %(levelname_lower)s: %(message)s"
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(_lower_level_name)
    root = logging.getLogger()
    if root.handlers:  # as logging.basicConfig: whoever configured logging first (a test) keeps it
        return
    root.addHandler(handler)
    root.setLevel(level)
    if level not in ("DEBUG", "INFO"):
        logging.getLogger("octolib.store.core").setLevel(logging.ERROR)


def _lower_level_name(record: logging.LogRecord) -> bool:
    record.levelname_lower = record.levelname.lower()
    return True


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _configure_logging(_log_level())
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
