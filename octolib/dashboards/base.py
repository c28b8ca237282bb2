"""What every dashboard shares: opening the data, the date-range control, and refresh on view.

A page is built in two steps so tests need no server: ``open_data(settings)`` (the edge:
the store and the cache folder from settings) and ``build_<page>(data)`` (pure wiring,
driven by pytest through widget values). The ``<page>(settings)`` functions the notebooks
call do both and turn a store that cannot be opened into a message on the page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np

from octolib.config import Settings
from octolib.dashboards.data import DashboardData, local_day_bounds
from octolib.dashboards.warm import cache_dir_for, data_options, flag_thresholds
from octolib.dashboards.widgets import IsoDateInput, Page
from octolib.errors import OctoError

__all__ = ["Dashboard", "DateRange", "open_data", "cache_dir_for", "page_for_settings", "PRESETS"]

log = logging.getLogger(__name__)


class _Capture(logging.Handler):
    """Collects warnings emitted while the store opens, to show them on the page instead
    of letting Python's last-resort handler print them into the output area."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def open_data(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> tuple[DashboardData, list[str]]:
    """Connect to the store ``settings`` name and wrap it; returns the data and any
    warnings the store emitted while opening (e.g. "using the embedded store")."""
    from octolib.store import connect

    capture = _Capture()
    logger = logging.getLogger("octolib.store")
    logger.addHandler(capture)
    try:
        store = connect(settings)
    finally:
        logger.removeHandler(capture)
    kwargs: dict[str, Any] = data_options(settings)
    if clock is not None:
        kwargs["clock"] = clock
    return DashboardData(store, **kwargs), capture.messages


def page_for_settings(title: str, active: str, build: Callable[..., Page], settings: Settings,
                      *, pass_settings: bool = False, **kwargs: Any) -> Page:
    """Open the data and build the page; if the store cannot be opened, a page that says so."""
    try:
        data, notes = open_data(settings)
    except (OctoError, OSError) as exc:
        log.exception("cannot open the store")
        page = Page(title, active)
        page.say("error", f"The data store cannot be opened: {exc}. Check OCTO_MONGODB_URI / OCTO_DATA_DIR "
                          "and that `octo sync` has run.")
        return page
    for note in notes:
        log.info("store: %s", note)
    if pass_settings:
        kwargs["settings"] = settings
    page = build(data, **kwargs)
    if isinstance(page, Dashboard) and data.store.kind == "embedded":
        page.store_note = "embedded store"
        page._show_sync()
    return page


#: Quick date ranges: label -> days back from today (None = all time).
PRESETS: tuple[tuple[str, int | None], ...] = (
    ("All time", None),
    ("Last 30 days", 30),
    ("Last 90 days", 90),
    ("Last 12 months", 365),
    ("Custom", -1),
)


class DateRange:
    """Two date pickers and a preset menu. ``bounds()`` gives UTC ``datetime64`` bounds of
    whole local days; ``reversed`` says the start is after the end."""

    def __init__(self, today: date, tz: str, on_change: Callable[[], None], default: str = "All time") -> None:
        self.today = today
        self.tz = tz
        self.preset = w.Dropdown(options=[p for p, _ in PRESETS], value=default, description="Period",
                                 layout=w.Layout(width="220px"))
        self.start = IsoDateInput(description="From")
        self.end = IsoDateInput(description="To")
        self.widget = w.HBox([self.preset, self.start, self.end], layout=w.Layout(flex_flow="row wrap"))
        self._on_change = on_change
        self._applying = False
        self._apply_preset(default)
        self.preset.observe(self._preset_changed, "value")
        self.start.observe(self._date_changed, "value")
        self.end.observe(self._date_changed, "value")

    def _apply_preset(self, label: str) -> None:
        days = dict(PRESETS)[label]
        if days == -1:
            return
        self._applying = True
        try:
            self.start.value = None if days is None else self.today - timedelta(days=days)
            self.end.value = None if days is None else self.today
        finally:
            self._applying = False

    def _preset_changed(self, _change: Any) -> None:
        self._apply_preset(self.preset.value)
        self._on_change()

    def _date_changed(self, _change: Any) -> None:
        if self._applying:
            return
        if self.preset.value != "Custom":
            self._applying = True
            try:
                self.preset.value = "Custom"
            finally:
                self._applying = False
        self._on_change()

    @property
    def reversed(self) -> bool:
        return self.start.value is not None and self.end.value is not None and self.start.value > self.end.value

    def bounds(self) -> tuple[np.datetime64, np.datetime64]:
        return local_day_bounds(self.start.value, self.end.value, self.tz)

    def describe(self) -> str:
        s, e = self.start.value, self.end.value
        if s is None and e is None:
            return "all time"
        return f"{s or '…'} to {e or '…'}"


class Dashboard(Page):
    """A page over :class:`DashboardData` that re-reads when a newer sync has finished.

    Subclasses build their widgets, then call :meth:`ready`; :meth:`update` redraws from
    the current filters. When the browser shows the page (the probe reports a view) and a
    sync finished since the kernel loaded its data, the page reloads the data and redraws:
    a pre-started kernel never shows data older than the last sync.
    """

    def __init__(self, data: DashboardData, title: str, active: str) -> None:
        super().__init__(title, active)
        self.data = data
        self.store_note = ""
        self.updates = 0
        self.on_view(self._viewed)

    @property
    def today(self) -> date:
        return self.data.clock().astimezone(timezone.utc).date()

    def ready(self) -> None:
        """Show the freshness line and draw once."""
        self.preload_charts()
        self._show_sync()
        self.guard(self.update)()

    def _show_sync(self) -> None:
        note = f" · {self.store_note}" if self.store_note else ""
        self.set_status(self.data.sync.describe(self.data.tz) + note)

    def _viewed(self) -> None:
        if self.data.refresh():
            self._show_sync()
            self.reload()

    def reload(self) -> None:
        """Called after newer data arrived; default: redraw."""
        self.update()

    def update(self) -> None:  # pragma: no cover - every page overrides it
        raise NotImplementedError
