"""Subcommands of ``octo``: one module per area, each with ``register(subparsers)``."""
