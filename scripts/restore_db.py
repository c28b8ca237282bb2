#!/usr/bin/env python3
"""Restore the store from an archive: a thin wrapper around ``octo restore``.

    python scripts/restore_db.py ARCHIVE --check      # verify only, change nothing
    python scripts/restore_db.py ARCHIVE              # asks for the database name, then restores
    python scripts/restore_db.py ARCHIVE --yes        # unattended (a safety backup is still made)
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from octolib.cli import main as octo

    return octo(["restore", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
