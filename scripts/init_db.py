#!/usr/bin/env python3
"""Create the store's collections and indexes: a thin wrapper around ``octo init-db``.

    python scripts/init_db.py
    python scripts/init_db.py --stop-mongod
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from octolib.cli import main as octo

    return octo(["init-db", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
