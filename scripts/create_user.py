#!/usr/bin/env python3
"""Create a login account: a thin wrapper around ``octo user create``.

    python scripts/create_user.py alice --full-name "Alice Smith"
    OCTOPUS_USERNAME=alice OCTOPUS_PASSWORD=... python scripts/create_user.py --from-env --exist-ok
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from octolib.cli import main as octo

    return octo(["user", "create", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
