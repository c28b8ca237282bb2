#!/usr/bin/env python3
"""Make partner reports by hand or from cron: a thin wrapper around ``octo report`` (same options).

    python scripts/run_reports.py --all
    python scripts/run_reports.py --partner acme --template campaign_summary --from 2026-07-01 --to 2026-09-30
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from octolib.cli import main as octo

    return octo(["report", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
