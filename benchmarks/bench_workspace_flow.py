#!/usr/bin/env python3
"""How long the analyst's whole flow takes in the browser (run by hand; asserts nothing).

    python benchmarks/bench_workspace_flow.py                  # the demo account, in a temp dir
    python benchmarks/bench_workspace_flow.py --size tiny      # a smaller account
    python benchmarks/bench_workspace_flow.py --runs 2         # repeat the flow (new partner slugs)

Starts ``octo serve`` with pre-started Partners and Report builder pages (as in production),
then in headless Chromium: sign in, create a partner on the Partners page, choose its
campaigns, sections and note in the report builder, make the PDF and download it
(``tests/workspace_flow.py``, the flow ``tests/test_workspace_flow.py`` checks). Prints the
wall time from pressing "sign in" to the saved PDF and where it went. Goal (issue 13): under
60 s on this machine. The account's sync and the server's start are not timed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="demo", help="size of the local account (default: demo)")
    parser.add_argument("--runs", type=int, default=1, help="how many times to run the flow")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from octolib.server.testing import running_server
    from tests.test_dashboard_browser import ARGS, _chromium
    from tests import workspace_flow as flow

    chromium = _chromium()
    if chromium is None:
        print("chromium is not installed (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="octo-bench-flow-") as tmp:
        data_dir = Path(tmp) / "data"
        t = time.perf_counter()
        list_id = flow.prepare_account(data_dir, size=args.size)
        print(f"account {args.size} synced in {time.perf_counter() - t:.1f} s (not timed below)")
        t = time.perf_counter()
        with running_server(ROOT / "notebooks", data_dir, pool_size=1,
                            pool_notebooks=("partners.ipynb", "report_builder.ipynb"),
                            wait_for_pools=True, start_timeout_s=900) as srv, sync_playwright() as p:
            print(f"server and pre-started pages ready in {time.perf_counter() - t:.1f} s (not timed below)")
            browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
            try:
                for run in range(args.runs):
                    if run:
                        flow.PARTNER_NAME, flow.PARTNER_SLUG = f"Lighthouse Trust {run + 1}", f"lighthouse-{run + 1}"
                    out = Path(tmp) / f"run{run}"
                    out.mkdir()
                    result = flow.run_flow(browser, srv.url, list_id, out, screenshots=False)
                    where = ", ".join(f"{k} {v:.1f} s" for k, v in result.steps.items())
                    print(f"run {run + 1}: sign-in to downloaded PDF {result.seconds:.1f} s ({where}); "
                          f"PDF {result.pdf.stat().st_size:,} bytes")
            finally:
                browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
