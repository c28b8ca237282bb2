#!/usr/bin/env python3
"""Run one sync by hand: a thin wrapper around ``octo sync`` (same options).

    python scripts/manual_sync.py            # incremental
    python scripts/manual_sync.py --full --only contacts
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from octolib.cli import main as octo

    return octo(["sync", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
