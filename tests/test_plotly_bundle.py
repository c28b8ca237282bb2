"""The dashboards' partial plotly.js bundle: it carries every trace type the charts draw, and
a chart page draws with it in a real browser.

* every trace type a chart can emit (each ``go.<Trace>`` the chart and page modules build,
  and every trace of every chart the pages build on the synced tiny account) is one of
  :data:`~octolib.server.voila.PLOTLY_TRACE_TYPES`, and the bundle file carries that trace's
  plotly.js module (the bundle names its modules: ``node_modules/plotly.js/src/traces/<t>/``);
* the bundle served is the committed partial one, built from the installed plotly;
* the engagement page (heatmaps, bars, a line) draws its four charts from it in headless
  Chromium with no uncaught error and no console error. (The campaign page's funnel draws
  empty in the widget with plotly's full bundle as well: not a bundle matter, so not here.)
"""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import plotly.graph_objects as go
import pytest
from plotly.basedatatypes import BaseTraceType

from octolib.config import Settings
from octolib.server.voila import (PARTIAL_BUNDLE, PARTIAL_MANIFEST, PLOTLY_BUNDLE_PATH, PLOTLY_JS_VERSION,
                                  PLOTLY_TRACE_TYPES, installed_widget_bundle, plotly_bundle_file, plotly_version)

ROOT = Path(__file__).resolve().parents[1]
CHART_SOURCES = sorted((ROOT / "octolib" / "charts").glob("*.py")) + sorted((ROOT / "octolib" / "dashboards").glob("*.py"))


def _trace_types_in_source() -> dict[str, str]:
    """trace type -> where: every ``go.<Name>(...)`` call whose class is a plotly trace."""
    found: dict[str, str] = {}
    for path in CHART_SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "go"):
                cls = getattr(go, node.func.attr, None)
                if isinstance(cls, type) and issubclass(cls, BaseTraceType):
                    found.setdefault(cls().type, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _bundle_traces(text: str) -> set[str]:
    return {t for t in _all_plotly_traces() if f'"node_modules/plotly.js/src/traces/{t}/index.js"' in text}


def _all_plotly_traces() -> list[str]:
    return sorted({cls().type for name in dir(go) if isinstance(cls := getattr(go, name), type)
                   and issubclass(cls, BaseTraceType) and cls is not BaseTraceType})


def test_every_trace_type_the_charts_emit_is_in_the_bundle(synced_template, tmp_path):
    from octolib.dashboards import registry
    from octolib.dashboards import widgets as dash_widgets
    from octolib.dashboards.base import open_data
    from octolib.store import campaign_arrays, connect
    import octolib.dashboards as dashboards

    in_source = _trace_types_in_source()
    assert {"bar", "scatter"} <= set(in_source), in_source  # the scan sees the charts

    # Every chart every page builds on the synced account (the campaign page for each sent campaign).
    shutil.copytree(synced_template, tmp_path / "data")
    settings = Settings(data_dir=tmp_path / "data")
    with connect(settings) as store:
        sent = [str(c) for c in campaign_arrays(store, {"status": "sent"})["campaign_id"]]
    data, _ = open_data(settings)

    drawn: dict[str, str] = {}
    for spec in registry.PAGES:
        builder = getattr(dashboards, spec.builder)
        if spec.name == "campaign":
            pages = [builder(data, c) for c in sent]
        elif spec.name in ("sync", "report_builder", "partners", "segments"):  # builders that take the settings
            pages = [builder(data, settings)]
        else:
            pages = [builder(data)]
        for page in pages:
            charts: list[dash_widgets.Chart] = page.charts()
            for chart in charts:
                for trace in chart.figure.data:
                    drawn.setdefault(trace.type, spec.name)
    assert {"bar", "funnel", "heatmap", "scatter"} <= set(drawn), drawn

    bundle = PARTIAL_BUNDLE.read_text()
    carried = _bundle_traces(bundle)
    emitted = set(in_source) | set(drawn)
    assert emitted <= set(PLOTLY_TRACE_TYPES), f"charts draw {sorted(emitted - set(PLOTLY_TRACE_TYPES))} " \
        "which PLOTLY_TRACE_TYPES lacks: add them and run scripts/build_plotly_bundle.py"
    assert emitted <= carried, f"the bundle lacks {sorted(emitted - carried)}: run scripts/build_plotly_bundle.py"
    # It is partial: nothing but the listed types (e.g. no maps, no 3-D).
    assert carried == set(PLOTLY_TRACE_TYPES), carried


def test_bundle_is_built_from_the_installed_plotly():
    manifest = json.loads(PARTIAL_MANIFEST.read_text())
    assert manifest["plotly"] == plotly_version()
    assert manifest["plotly.js"] == PLOTLY_JS_VERSION
    assert manifest["traces"] == sorted(PLOTLY_TRACE_TYPES)
    assert plotly_bundle_file() == PARTIAL_BUNDLE
    text = PARTIAL_BUNDLE.read_text()
    full = installed_widget_bundle().read_text()
    # The widget code (after plotly.js) is the installed one, byte for byte; plotly.js is cut.
    tail = full[full.index("window.PlotlyConfig="):]
    assert text.endswith(tail)
    assert len(text) < len(full) / 3
    assert f'version="{PLOTLY_JS_VERSION}"' in text


# -- in the browser -----------------------------------------------------------------------------

USER, PASSWORD = "analyst", "Bundle-Pass-Word-9"
# What each chart on the page drew: the visible trace types plotly plotted (a type the bundle
# lacks is not plotted: plotly marks it invisible), for charts that have their SVG.
DRAWN_JS = ("() => [...document.querySelectorAll('.js-plotly-plot')].filter(gd => gd.querySelector('.main-svg'))"
            ".map(gd => (gd._fullData || []).filter(t => t.visible !== false).map(t => t.type))")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic"]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_engagement_page_draws_its_charts_from_the_partial_bundle(tmp_path):
    from octolib.dashboards.testing import add_user, sync_fake_account
    from octolib.server.testing import browser_sign_in, running_server

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium not found (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    data_dir = tmp_path / "data"
    sync_fake_account(data_dir, size="tiny")
    add_user(data_dir, USER, PASSWORD)

    problems: list[str] = []
    with running_server(ROOT / "notebooks", data_dir, pool_size=1, pool_notebooks=("engagement.ipynb",),
                        wait_for_pools=True, start_timeout_s=300) as server, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("pageerror", lambda e: problems.append(f"uncaught: {e}"))
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            browser_sign_in(page, server.url, USER, PASSWORD)
            page.goto(server.url + "voila/render/engagement.ipynb", wait_until="commit", timeout=120_000)
            try:
                page.wait_for_function(f"() => {{ const t = new Set(({DRAWN_JS})().flat());"
                                       f" return ['heatmap', 'bar', 'scatter'].every(x => t.has(x)) && ({DRAWN_JS})().length >= 4; }}",
                                       timeout=120_000)
            except sync_api.TimeoutError:
                pass  # said below, with what was drawn
            drawn = page.evaluate(DRAWN_JS)
            served = page.evaluate("u => fetch(u).then(r => r.text()).then(t => t.slice(0, 200))",
                                   server.url + PLOTLY_BUNDLE_PATH)
            page.screenshot(path=str(tmp_path / "engagement.png"), full_page=True)
            print(f"screenshot: {tmp_path / 'engagement.png'}")
        finally:
            browser.close()
    assert served.startswith("/* octopus: plotly's widget"), served
    types = {t for traces in drawn for t in traces}
    assert {"heatmap", "bar", "scatter"} <= types, drawn
    assert len(drawn) == 4 and all(drawn), f"every chart draws its traces: {drawn}"
    assert problems == [], problems
