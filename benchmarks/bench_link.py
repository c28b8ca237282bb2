"""The customer link step with nothing changed, as every sync runs it (printed, not asserted).

Run on a store that ``octo demo`` filled (it imports and links the demo customers)::

    python benchmarks/bench_link.py --data-dir "$OCTO_DATA_DIR/demo" --runs 3
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from octolib.config import Settings
    from octolib.customers.link import after_sync_hook
    from octolib.store import connect

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--link-field", default="CustomerId")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    settings = Settings(data_dir=args.data_dir, link_field=args.link_field)
    with connect(settings) as store:
        hook = after_sync_hook(settings)
        for i in range(args.runs):
            start = time.perf_counter()
            report = hook(store)
            took = time.perf_counter() - start
            print(f"run {i + 1}: {report.contacts} contacts, {report.customers} customers, "  # type: ignore[attr-defined]
                  f"{report.changed} changed, {took:.2f} s")  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
