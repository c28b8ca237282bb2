"""The pieces every page is made of: a frame with navigation and messages, tables, charts,
a download button (CSV, PDF) and the page probe.

Why these rules (they keep Voilà pages from stalling and from breaking):

* **No ``ipywidgets.Output``.** Voilà executes the notebook with nbclient, whose Output
  widget stand-in writes to the kernel's shell socket from a second task while the first
  one waits for ``execute_reply`` on that socket; that send can swallow the socket's
  wake-up and the page never finishes (see :mod:`octolib.server.voila`). Messages go
  to :class:`ipywidgets.HTML`, charts to ``go.FigureWidget``; nothing is ``print``-ed.
* **Every callback is guarded** (:meth:`Page.guard`): an exception becomes a message in the
  page, never a traceback in an output area.
* **Text is escaped** before it becomes HTML (campaign names come from users).
"""

from __future__ import annotations

import base64
import csv
import functools
import html
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as w
import numpy as np
import plotly.graph_objects as go
import traitlets
from ipywidgets.widgets.trait_types import Date, date_serialization

from octolib import charts
from octolib.dashboards.registry import NAVIGATION
from octolib.metrics import format_count, format_rate
from octolib.metrics.display import plural

__all__ = [
    "Page",
    "Column",
    "DataTable",
    "Chart",
    "FileDownload",
    "IsoDateInput",
    "PageProbe",
    "kpi_cards",
    "esc",
    "message_html",
    "fmt_time",
    "section",
    "CSS",
]

log = logging.getLogger(__name__)

CSS = """<style>
.octo-page { max-width: 1200px; margin: 0 auto; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2933; }
.octo-nav { display: flex; gap: 4px; flex-wrap: wrap; align-items: center; border-bottom: 2px solid #0f4c5c; padding: 6px 0 8px 0; margin-bottom: 6px; }
.octo-nav .octo-brand { font-weight: 700; color: #0f4c5c; margin-right: 14px; font-size: 16px; }
.octo-nav a { text-decoration: none; color: #0f4c5c; padding: 4px 10px; border-radius: 4px; }
.octo-nav a:hover { background: #e3eef1; }
.octo-nav a.active { background: #0f4c5c; color: white; }
.octo-nav .octo-right { margin-left: auto; font-size: 12px; }
.octo-title { font-size: 22px; font-weight: 600; margin: 6px 0 2px 0; }
.octo-sub { color: #52606d; font-size: 12px; }
.octo-msg { padding: 8px 12px; border-radius: 4px; margin: 6px 0; font-size: 13px; }
.octo-msg.info { background: #e8f1fb; border-left: 4px solid #2f6fb3; }
.octo-msg.warn { background: #fff6e0; border-left: 4px solid #c98a00; }
.octo-msg.error { background: #fdecea; border-left: 4px solid #c0392b; }
.octo-msg.ok { background: #e9f7ef; border-left: 4px solid #2e8b57; }
.octo-cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
.octo-card { flex: 1 1 150px; max-width: 230px; background: #f7fafb; border: 1px solid #d9e2e7; border-radius: 6px; padding: 8px 12px; min-width: 140px; }
.octo-card .label { color: #52606d; font-size: 12px; }
.octo-card .value { font-size: 22px; font-weight: 600; color: #0f4c5c; }
.octo-card .hint { color: #7b8794; font-size: 11px; }
table.octo-table { border-collapse: collapse; width: 100%; font-size: 13px; }
table.octo-table th { text-align: left; background: #eef3f5; border-bottom: 1px solid #c8d3d9; padding: 5px 6px; white-space: nowrap; }
table.octo-table td { border-bottom: 1px solid #edf1f3; padding: 4px 6px; vertical-align: top; }
table.octo-table td.num, table.octo-table th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.octo-table tr:hover td { background: #f5f9fa; }
table.octo-table a, .octo-flag-list a { color: #0b6e99; text-decoration: underline; text-decoration-color: #9cc3d5; }
.octo-flag { color: #b03a2e; font-weight: 600; }
.octo-section { font-size: 16px; font-weight: 600; margin: 14px 0 4px 0; color: #0f4c5c; }
.octo-muted { color: #7b8794; font-size: 12px; }
.octo-empty { color: #52606d; padding: 10px; font-style: italic; }
</style>"""


def esc(value: Any) -> str:
    """HTML-escaped text of ``value`` (None -> "")."""
    return html.escape("" if value is None else str(value), quote=True)


def message_html(kind: str, text: str) -> str:
    """A message box (kind: info, warn, error, ok); empty text gives no box."""
    if not text:
        return ""
    return f'<div class="octo-msg {esc(kind)}" role="status" data-kind="{esc(kind)}">{esc(text)}</div>'


def fmt_time(value: Any, tz: str = "UTC", with_time: bool = True) -> str:
    """A UTC time (datetime or datetime64) in ``tz``, ``—`` when missing."""
    from octolib.dashboards.data import _fmt_local, to_datetime

    if isinstance(value, np.datetime64):
        value = to_datetime(value)
    if not isinstance(value, datetime):
        return "—"
    text = _fmt_local(value, tz)
    return text if with_time else text[:10]


def kpi_cards(items: Sequence[tuple[str, str, str]]) -> str:
    """HTML for a row of KPI cards from ``(label, value, hint)``."""
    cards = "".join(
        f'<div class="octo-card" data-kpi="{esc(label)}"><div class="label">{esc(label)}</div>'
        f'<div class="value">{esc(value)}</div><div class="hint">{esc(hint)}</div></div>'
        for label, value, hint in items
    )
    return f'<div class="octo-cards">{cards}</div>'


class PageProbe(anywidget.AnyWidget):
    """An invisible widget that tells the kernel the page was opened, and its URL query.

    Why: with pre-started kernels the notebook runs before anyone asks for the page, so the
    kernel learns the query string (``?id=...`` on the campaign page) and the moment of the
    view only when the browser renders this widget. Plain JavaScript, no network.
    """

    _esm = """
export default {
  render({ model, el }) {
    el.style.display = "none";
    model.set("query", window.location.search || "");
    model.set("viewed", (model.get("viewed") || 0) + 1);
    model.save_changes();
    const bundle = model.get("preload");
    if (bundle) {
      // Start evaluating plotly.js (about a second) while the kernel puts the charts in.
      let base = "/";
      try {
        base = JSON.parse(document.getElementById("jupyter-config-data").textContent).baseUrl || "/";
      } catch (e) {}
      if (!base.endsWith("/")) base += "/";
      const load = () => import(new URL(base + bundle, window.location.href).href).catch(() => {});
      // Only once the page is in the document and painted: evaluating blocks the browser
      // for that second, and the controls and tables should be on screen first.
      const start = () => el.isConnected ? requestAnimationFrame(() => setTimeout(load, 0))
                                         : requestAnimationFrame(start);
      start();
    }
  }
};
"""
    query = traitlets.Unicode("").tag(sync=True)
    viewed = traitlets.Int(0).tag(sync=True)
    preload = traitlets.Unicode("").tag(sync=True)  # a module to start loading on view


class IsoDateInput(anywidget.AnyWidget):
    """A date box that reads and writes ``YYYY-MM-DD``, whatever the browser's locale.

    Why not ``ipywidgets.DatePicker``: the browser's native date input shows the visitor's
    locale ("mm/dd/yyyy" in a US browser) and was clipped at the page's width ("mm/dd/yyy"),
    while every date the dashboards and reports print is ISO. Same Python API as the
    picker: ``value`` is a ``datetime.date`` or None, observable; ``disabled``; a label.
    A typed text that is not a real day is marked and not applied.
    """

    _esm = """
export default {
  render({ model, el }) {
    const label = document.createElement("label");
    label.className = "octo-date";
    label.style.cssText = "display:inline-flex;align-items:center;gap:6px;margin:2px 8px 2px 0";
    const text = document.createElement("span");
    const input = document.createElement("input");
    input.type = "text";
    input.placeholder = "YYYY-MM-DD";
    input.inputMode = "numeric";
    input.autocomplete = "off";
    input.maxLength = 10;
    input.style.cssText = "width:11ch;font:inherit;padding:2px 6px;border:1px solid #b0bec5;border-radius:2px";
    const pad = (n) => String(n).padStart(2, "0");
    const show = () => {
      const v = model.get("value");
      input.value = v ? `${v.year}-${pad(v.month + 1)}-${pad(v.date)}` : "";
      input.disabled = model.get("disabled");
      input.style.background = input.disabled ? "#f1f3f5" : "";
      input.style.color = input.disabled ? "#8a949e" : "";
      input.style.borderColor = "#b0bec5";
      input.title = "";
      text.textContent = model.get("description");
    };
    show();
    model.on("change:value", show);
    model.on("change:disabled", show);
    model.on("change:description", show);
    input.addEventListener("change", () => {
      const raw = input.value.trim();
      if (raw === "") { model.set("value", null); model.save_changes(); return; }
      const m = /^(\\d{4})-(\\d{2})-(\\d{2})$/.exec(raw);
      const d = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])) : null;
      if (!d || d.getUTCFullYear() !== +m[1] || d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[3]) {
        input.style.borderColor = "#d55e00";
        input.title = "Write the date as YYYY-MM-DD, e.g. 2026-07-01";
        return;
      }
      input.style.borderColor = "#b0bec5";
      input.title = "";
      model.set("value", { year: +m[1], month: +m[2] - 1, date: +m[3] });
      model.save_changes();
    });
    label.append(text, input);
    el.appendChild(label);
  }
};
"""
    value = Date(None, allow_none=True).tag(sync=True, **date_serialization)
    description = traitlets.Unicode("").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)


class FileDownload(anywidget.AnyWidget):
    """A button that downloads a file the kernel makes when it is clicked (a table's CSV, a
    report's PDF): one widget for every download.

    Why not a ``data:`` link: the CSV of 6,000 contacts would travel to the browser on every
    filter change, and the server serves no file without a session (Voilà serves none).
    Here the click asks the kernel (a custom message); it calls ``make`` for the bytes as
    they are now (the rows as currently filtered, the PDF on disk) and answers with them in
    base64; the browser saves them as ``filename``.
    """

    _esm = """
export default {
  render({ model, el }) {
    const btn = document.createElement("button");
    btn.style.width = "auto";
    btn.style.padding = "0 12px";
    const sync = () => {
      btn.className = "jupyter-widgets jupyter-button widget-button octo-" + model.get("kind");
      btn.textContent = model.get("label");
      btn.disabled = model.get("disabled");
    };
    sync();
    model.on("change:label", sync);
    model.on("change:disabled", sync);
    btn.addEventListener("click", () => model.send({ type: "file" }));
    model.on("msg:custom", (msg) => {
      if (!msg || msg.type !== "file") return;
      const bytes = Uint8Array.from(atob(msg.data), (c) => c.charCodeAt(0));
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([bytes], { type: msg.mime }));
      a.download = msg.filename;
      document.body.appendChild(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    });
    el.appendChild(btn);
  }
};
"""
    label = traitlets.Unicode("Download").tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)
    kind = traitlets.Unicode("download").tag(sync=True)  # the button's class: octo-<kind>

    def __init__(self, make: Callable[[], bytes | str] | None, filename: str, *, mime: str,
                 on_error: Callable[[Exception], None] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.make = make
        self.filename = filename
        self.mime = mime
        self.on_error = on_error
        self.on_msg(self._handle)

    @classmethod
    def csv(cls, make_csv: Callable[[], str], filename: str,
            on_error: Callable[[Exception], None] | None = None) -> "FileDownload":
        """The CSV button of a table: ``make_csv`` gives the text of the rows shown now."""
        return cls(make_csv, filename, mime="text/csv;charset=utf-8", on_error=on_error, label="Download CSV",
                   kind="csv")

    def point_at(self, path: Path | None, filename: str | None = None, label: str | None = None) -> None:
        """Offer the file at ``path`` (read when clicked); disabled when there is none."""
        self.make = None if path is None else path.read_bytes
        self.filename = filename or (path.name if path is not None else self.filename)
        if label is not None:
            self.label = label
        self.disabled = path is None or not path.is_file()

    def payload(self) -> dict[str, str]:
        """The message the browser turns into a file (also what tests check)."""
        if self.make is None:
            raise FileNotFoundError("there is no file to download")
        try:
            content = self.make()
        except FileNotFoundError:
            raise FileNotFoundError(f"{self.filename} is no longer on disk") from None
        data = content.encode("utf-8") if isinstance(content, str) else content
        return {"type": "file", "filename": self.filename, "mime": self.mime,
                "data": base64.b64encode(data).decode("ascii")}

    def _handle(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "file":
            return
        try:
            message = self.payload()
        except Exception as exc:  # noqa: BLE001 - shown in the page, never raised into output
            log.exception("download of %s failed", self.filename)
            if self.on_error:
                self.on_error(exc)
            return
        self.send(message)


class Page:
    """A dashboard page: navigation, title, "data as of" line, a message area and a body.

    Display it (``page`` as the last expression of a cell, or ``display(page)``). Builders
    put their controls and results in :attr:`body`; :meth:`say` shows a message;
    :meth:`guard` wraps callbacks so no exception reaches an output area.
    """

    def __init__(self, title: str, active: str, subtitle: str = "") -> None:
        self.title = title
        self.active = active
        self.nav = w.HTML(self._nav_html())
        self.heading = w.HTML(f'<div class="octo-title">{esc(title)}</div>')
        self.status_line = w.HTML(f'<div class="octo-sub">{esc(subtitle)}</div>')
        self.message_box = w.HTML("")
        self.body = w.VBox([])
        self.probe = PageProbe()
        self.widget = w.VBox(
            [w.HTML(CSS), self.nav, self.heading, self.status_line, self.message_box, self.body, self.probe],
            layout=w.Layout(width="100%"),
        )
        self.widget.add_class("octo-page")
        self.last_message: tuple[str, str] = ("", "")
        self._view_hooks: list[Callable[[], None]] = []
        self.probe.observe(self._viewed_now, "viewed")

    def on_view(self, hook: Callable[[], None]) -> None:
        """Run ``hook`` each time the page is viewed, before the charts are put in place.

        Why before: a view can change what the charts show (the campaign page reads its
        campaign from the URL then); charts attached first were drawn, then replaced and
        closed while the browser was still setting them up ("[anywidget] Failed to
        initialize model"), a wasted plotly draw per chart on every campaign page view.
        A hook that fails says so on the page (:meth:`guard`); the others and the charts
        still run."""
        self._view_hooks.append(self.guard(hook))

    def _viewed_now(self, _change: Any) -> None:
        for hook in self._view_hooks:
            hook()
        self.attach_charts()

    def charts(self) -> list["Chart"]:
        """Every :class:`Chart` in the page's widget tree."""
        found: list[Chart] = []
        stack: list[Any] = [self.widget]
        while stack:
            node = stack.pop()
            if isinstance(node, _ChartBox):
                found.append(node.chart)
            stack.extend(getattr(node, "children", ()))
        return found

    def preload_charts(self) -> None:
        """Ask the browser to start loading plotly as soon as the page shows (pages with
        charts call this once their charts exist)."""
        from octolib.server.voila import PLOTLY_BUNDLE_PATH

        self.probe.preload = PLOTLY_BUNDLE_PATH if self.charts() else ""

    def attach_charts(self) -> None:
        """Put the charts in place of their placeholders (the page is on screen)."""
        for chart in self.charts():
            chart.attach()

    def _nav_html(self) -> str:
        links = "".join(
            f'<a href="{stem}.ipynb" class="{"active" if stem == self.active else ""}">{esc(label)}</a>'
            for stem, label in NAVIGATION
        )
        return (f'<div class="octo-nav"><span class="octo-brand">octopus</span>{links}'
                f'<span class="octo-right"><a href="../../dashboards">All dashboards</a>'
                f'<a href="../../logout">Sign out</a></span></div>')

    def say(self, kind: str, text: str) -> None:
        """Show ``text`` as a message of ``kind`` (info, warn, error, ok); "" clears it."""
        self.last_message = (kind, text) if text else ("", "")
        self.message_box.value = message_html(kind, text)

    def set_status(self, text: str) -> None:
        self.status_line.value = f'<div class="octo-sub">{esc(text)}</div>'

    def guard(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` that shows an error message instead of raising."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the page must stay usable
                log.exception("dashboard callback %s failed", getattr(fn, "__name__", fn))
                self.say("error", f"Something went wrong: {type(exc).__name__}: {exc}. "
                                  "Change a filter or reload the page; the details are in the server log.")
                return None

        return wrapper

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


# -- tables --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    """A table column. ``kind``: text, count, rate, datetime, date, html (trusted, built by
    us). ``link`` makes the cell an anchor to ``link(row)``."""

    key: str
    label: str
    kind: str = "text"
    sortable: bool = True
    link: Callable[[dict[str, Any]], str] | None = None

    @property
    def numeric(self) -> bool:
        return self.kind in ("count", "rate")


def _sort_key(value: Any) -> tuple[int, Any]:
    """Missing values (None, NaN, NaT, "") sort last whatever the direction."""
    if value is None or value == "":
        return (1, 0)
    if isinstance(value, float) and np.isnan(value):
        return (1, 0)
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return (1, 0)
        return (0, int(value.astype("datetime64[s]").astype(np.int64)))
    if isinstance(value, datetime):
        return (0, value.timestamp())
    if isinstance(value, str):
        return (0, value.lower())
    if isinstance(value, (list, tuple)):
        return (0, ", ".join(map(str, value)).lower())
    return (0, value)


class DataTable:
    """A paginated, searchable, sortable HTML table of row dicts, with a CSV button.

    Tests drive it like a person would: set ``search.value``, ``sort_by.value``,
    ``descending.value``, click ``next_button``; read ``visible_rows`` (all rows after search
    and sort) and ``page_rows`` (the rows on screen).
    """

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        page_size: int = 25,
        search_keys: Sequence[str] | None = None,
        search_placeholder: str = "Search…",
        csv_name: str = "table.csv",
        empty_text: str = "Nothing matches these filters.",
        tz: str = "UTC",
        default_sort: str | None = None,
        default_descending: bool = True,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self.columns = list(columns)
        self.page_size = page_size
        self.search_keys = list(search_keys) if search_keys is not None else [
            c.key for c in self.columns if c.kind in ("text", "html")]
        self.empty_text = empty_text
        self.tz = tz
        self.rows: list[dict[str, Any]] = []
        self.visible_rows: list[dict[str, Any]] = []
        self.page = 0
        sortable = [(c.label, c.key) for c in self.columns if c.sortable]
        self.search = w.Text(placeholder=search_placeholder, layout=w.Layout(width="240px"), continuous_update=False)
        self.sort_by = w.Dropdown(options=sortable, value=default_sort or (sortable[0][1] if sortable else None),
                                  description="Sort by", layout=w.Layout(width="230px"))
        self.descending = w.ToggleButtons(options=[("↓ desc", True), ("↑ asc", False)], value=default_descending,
                                          style={"button_width": "60px"})
        self.csv = FileDownload.csv(self.csv_text, csv_name, on_error=on_error)
        self.html = w.HTML()
        self.prev_button = w.Button(description="‹ Previous", layout=w.Layout(width="100px"))
        self.next_button = w.Button(description="Next ›", layout=w.Layout(width="100px"))
        self.page_label = w.HTML()
        toolbar = w.HBox([self.search, self.sort_by, self.descending, self.csv],
                         layout=w.Layout(flex_flow="row wrap", align_items="center"))
        pager = w.HBox([self.prev_button, self.page_label, self.next_button], layout=w.Layout(align_items="center"))
        self.widget = w.VBox([toolbar, self.html, pager])
        self.search.observe(lambda _: self._refresh(reset=True), "value")
        self.sort_by.observe(lambda _: self._refresh(reset=True), "value")
        self.descending.observe(lambda _: self._refresh(reset=True), "value")
        self.prev_button.on_click(lambda _: self.go(self.page - 1))
        self.next_button.on_click(lambda _: self.go(self.page + 1))
        self._refresh(reset=True)

    # -- state ----------------------------------------------------------------------------

    def set_rows(self, rows: Sequence[dict[str, Any]]) -> None:
        """Replace the rows (filters outside the table produced them); back to page 1."""
        self.rows = list(rows)
        self._refresh(reset=True)

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.visible_rows) // self.page_size))

    @property
    def page_rows(self) -> list[dict[str, Any]]:
        start = self.page * self.page_size
        return self.visible_rows[start:start + self.page_size]

    def go(self, page: int) -> None:
        self.page = min(max(0, page), self.pages - 1)
        self._render()

    def _matches(self, row: dict[str, Any], needle: str) -> bool:
        for key in self.search_keys:
            value = row.get(key)
            if isinstance(value, (list, tuple)):
                value = " ".join(map(str, value))
            if value is not None and needle in str(value).lower():
                return True
        return False

    def _refresh(self, reset: bool = False) -> None:
        needle = self.search.value.strip().lower()
        rows = [r for r in self.rows if self._matches(r, needle)] if needle else list(self.rows)
        key = self.sort_by.value
        if key:
            present = [r for r in rows if _sort_key(r.get(key))[0] == 0]
            missing = [r for r in rows if _sort_key(r.get(key))[0] == 1]
            present.sort(key=lambda r: _sort_key(r.get(key)), reverse=bool(self.descending.value))
            rows = present + missing
        self.visible_rows = rows
        if reset:
            self.page = 0
        self.page = min(self.page, self.pages - 1)
        self._render()

    # -- output ---------------------------------------------------------------------------

    def cell_text(self, col: Column, value: Any) -> str:
        """The text a cell shows (also used for CSV of formatted columns)."""
        if col.kind == "count":
            return format_count(value)
        if col.kind == "rate":
            return format_rate(value)
        if col.kind in ("datetime", "date"):
            return fmt_time(value, self.tz, with_time=col.kind == "datetime")
        if isinstance(value, (list, tuple)):
            return ", ".join(map(str, value))
        return "" if value is None else str(value)

    def _cell(self, col: Column, row: dict[str, Any]) -> str:
        value = row.get(col.key)
        if col.kind == "html":
            inner = "" if value is None else str(value)
        else:
            inner = esc(self.cell_text(col, value))
        if col.link is not None:
            href = col.link(row)
            if href:
                inner = f'<a href="{esc(href)}">{inner}</a>'
        cls = ' class="num"' if col.numeric else ""
        return f"<td{cls}>{inner}</td>"

    def _render(self) -> None:
        if not self.visible_rows:
            self.html.value = f'<div class="octo-empty" data-empty="1">{esc(self.empty_text)}</div>'
        else:
            num = ' class="num"'
            head = "".join(f"<th{num if c.numeric else ''}>{esc(c.label)}</th>" for c in self.columns)
            body = "".join("<tr>" + "".join(self._cell(c, r) for c in self.columns) + "</tr>" for r in self.page_rows)
            self.html.value = (f'<table class="octo-table" data-rows="{len(self.visible_rows)}">'
                               f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        n = len(self.visible_rows)
        start = self.page * self.page_size + 1 if n else 0
        end = min(n, (self.page + 1) * self.page_size)
        self.page_label.value = (f'<span class="octo-muted" style="padding:0 10px">'
                                 f"{start}–{end} of {format_count(n)} · page {self.page + 1} of {self.pages}</span>")
        self.prev_button.disabled = self.page <= 0
        self.next_button.disabled = self.page >= self.pages - 1
        self.csv.disabled = n == 0
        self.csv.label = f"Download CSV ({plural(n, 'row')})" if n else "Download CSV"

    def csv_text(self) -> str:
        """The visible rows (all pages) as CSV: raw values, times in ISO 8601 UTC."""
        out = io.StringIO()
        writer = csv.writer(out)
        cols = [c for c in self.columns if c.kind != "html" or c.key.endswith("_text")]
        writer.writerow([c.label for c in cols])
        for row in self.visible_rows:
            values = []
            for c in cols:
                v = row.get(c.key)
                if isinstance(v, np.datetime64):
                    v = "" if np.isnat(v) else str(v.astype("datetime64[s]")) + "Z"
                elif isinstance(v, datetime):
                    v = v.isoformat()
                elif isinstance(v, float) and np.isnan(v):
                    v = ""
                elif isinstance(v, (list, tuple)):
                    v = ";".join(map(str, v))
                values.append("" if v is None else v)
            writer.writerow(values)
        return out.getvalue()


# -- charts --------------------------------------------------------------------------------

def _plotly_loader() -> str:
    """The ``_esm`` of the dashboards' FigureWidgets: import plotly's bundle from the server
    (see :mod:`octolib.server.voila`) instead of carrying its 5 MB in every widget."""
    from octolib.server.voila import PLOTLY_BUNDLE_PATH

    return f"""
let base = "/";
try {{
  base = JSON.parse(document.getElementById("jupyter-config-data").textContent).baseUrl || "/";
}} catch (e) {{}}
if (!base.endsWith("/")) base += "/";
const url = new URL(base + "{PLOTLY_BUNDLE_PATH}", window.location.href);
const mod = await import(url.href);
export default mod.default;
"""


class _FigureWidget(go.FigureWidget):
    """plotly's FigureWidget with the small loader as its front-end code."""

    _esm = _plotly_loader()


class _ChartBox(w.Box):
    """The slot a :class:`Chart` lives in (found by :meth:`Page.attach_charts`)."""

    def __init__(self, chart: "Chart", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chart = chart


class Chart:
    """A chart slot: :meth:`show` puts a new ``go.FigureWidget`` of ``fig`` in it.

    Why a FigureWidget and not ``fig.show()``: it is a widget, so it needs no Output widget
    (see the module doc). Why a new one each time rather than mutating one: plotly syncs a
    FigureWidget's full state only when it is built; later edits travel as one-off messages
    that a browser which connects afterwards (every Voilà page, whose notebook ran before
    the page was sent) never sees. Building one costs about 3 ms.

    Until the page is on screen (:meth:`attach`, called when the page probe reports a view)
    the slot holds a light placeholder: the browser shows the page's controls, cards and
    tables at once, and spends the second that plotly.js needs to start afterwards, instead
    of showing nothing until every chart could be drawn. The FigureWidget itself is built
    then too: the browser sets up every widget the kernel holds, so a FigureWidget built
    before the view and replaced by it (the campaign page reads its campaign from the URL
    on view) was set up for nothing and closed under the browser ("[anywidget] Failed to
    initialize model").
    """

    def __init__(self, title: str = "", height: int | None = None, width: int = 1150) -> None:
        self.height = height
        self.width = width
        self.attached = False
        self.figure: go.Figure = charts.empty_figure(title, "Loading…")
        self.figure_widget: go.FigureWidget | None = None  # built by attach()
        self.placeholder = w.HTML(self._placeholder_html())
        self.widget = _ChartBox(self, children=[self.placeholder],
                                layout=w.Layout(width="100%" if width >= 1000 else f"{width + 10}px"))

    def _placeholder_html(self) -> str:
        height = int(self.figure.layout.height or self.height or 450)
        title = esc(self.figure.layout.title.text or "")
        return (f'<div class="octo-chart-wait" style="height:{height}px;width:{self.width}px;display:flex;'
                f'align-items:center;justify-content:center;color:#7b8794;border:1px dashed #d9e2e7">'
                f"{title + ': ' if title else ''}loading chart…</div>")

    def _widget(self, fig: go.Figure) -> go.FigureWidget:
        # A FigureWidget does not size itself to its container: give it the page's width.
        fig.update_layout(width=self.width)
        fw = _FigureWidget(fig)
        fw._config = dict(charts.FIGURE_CONFIG)
        return fw

    def show(self, fig: go.Figure) -> None:
        """Replace the chart with ``fig``."""
        if self.height:
            fig.update_layout(height=self.height)
        self.figure = fig
        if not self.attached:
            self.placeholder.value = self._placeholder_html()
            return
        old = self.figure_widget
        self.figure_widget = self._widget(fig)
        self.widget.children = (self.figure_widget,)
        if old is not None:
            old.close()

    def attach(self) -> None:
        """Show the chart itself (from now on every :meth:`show` draws at once)."""
        if not self.attached:
            self.attached = True
            self.show(self.figure)

    @property
    def title(self) -> str:
        return str(self.figure.layout.title.text or "")

    @property
    def traces(self) -> tuple[Any, ...]:
        return tuple(self.figure.data)


def section(title: str) -> w.HTML:
    """A section heading."""
    return w.HTML(f'<div class="octo-section">{esc(title)}</div>')
