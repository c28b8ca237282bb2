#!/usr/bin/env python3
"""Rebuild the dashboards' partial plotly widget bundle from npm.

Why: plotly's widget bundle carries all of plotly.js (4.8 MB, about a second to evaluate
in the browser on every page); the dashboards draw four trace types. This installs the
pinned ``plotly.js`` (and esbuild, acorn) from npm into a scratch folder, bundles plotly.js's
core with only :data:`octolib.server.voila.PLOTLY_TRACE_TYPES`, and puts it in place of
plotly.js inside the installed Python plotly's ``widgetbundle.js``
(``scripts/build_plotly_bundle.mjs``). Writes :data:`octolib.server.voila.PARTIAL_BUNDLE`
and its manifest; commit both.

Run after upgrading the Python ``plotly`` package (set ``PLOTLY_JS_VERSION`` to the
plotly.js its widget carries; the build refuses a mismatch) or after a chart starts using
a new trace type (add it to ``PLOTLY_TRACE_TYPES``). Needs node and npm.

    .venv/bin/python scripts/build_plotly_bundle.py [--work DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

#: Build tools, pinned so a rebuild uses what the committed bundle was made with.
ESBUILD_VERSION = "0.28.2"
ACORN_VERSION = "8.15.0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch folder for node_modules (default: a temporary one; reuse it to skip the install)")
    args = parser.parse_args(argv)

    from octolib.server.voila import (PARTIAL_BUNDLE, PARTIAL_MANIFEST, PLOTLY_JS_VERSION, PLOTLY_TRACE_TYPES,
                                      installed_widget_bundle, plotly_version)

    work = args.work or Path(tempfile.mkdtemp(prefix="octo-plotly-"))
    work.mkdir(parents=True, exist_ok=True)
    package = {"private": True, "dependencies": {
        "plotly.js": PLOTLY_JS_VERSION, "esbuild": ESBUILD_VERSION, "acorn": ACORN_VERSION}}
    (work / "package.json").write_text(json.dumps(package, indent=2))
    print(f"npm install in {work} (plotly.js {PLOTLY_JS_VERSION}, a few minutes the first time)", flush=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
                   cwd=work, check=True)

    widget = installed_widget_bundle()
    PARTIAL_BUNDLE.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["node", str(Path(__file__).with_suffix(".mjs")),
                    "--widget", str(widget), "--plotly-js", PLOTLY_JS_VERSION,
                    "--traces", ",".join(PLOTLY_TRACE_TYPES), "--plotly-py", plotly_version(),
                    "--out", str(PARTIAL_BUNDLE)], cwd=work, check=True)
    manifest = {
        "plotly": plotly_version(),
        "plotly.js": PLOTLY_JS_VERSION,
        "traces": sorted(PLOTLY_TRACE_TYPES),
        "source": "plotly/package_data/widgetbundle.js",
        "source_sha256": hashlib.sha256(widget.read_bytes()).hexdigest(),
        "bytes": PARTIAL_BUNDLE.stat().st_size,
    }
    PARTIAL_MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {PARTIAL_BUNDLE} and {PARTIAL_MANIFEST.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
