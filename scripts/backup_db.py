#!/usr/bin/env python3
"""Back up the store into one archive: a thin wrapper around ``octo backup``.

    python scripts/backup_db.py                      # OCTO_DATA_DIR/backups/octopus-<db>-<time>.tar.gz
    python scripts/backup_db.py --keep 14            # then keep only the newest 14 archives
    python scripts/backup_db.py --out /mnt/backups/octopus.tar.gz
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from octolib.cli import main as octo

    return octo(["backup", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
