"""The content of one partner report, independent of how it is printed.

Why: the PDF, the CSV appendix and the executed notebook must show *exactly* the same
numbers. A template's builder computes the metrics once and formats every number once into
a :class:`ReportDocument`; :mod:`octolib.reports.pdf` prints it, :func:`appendix_rows`
writes the CSV from it, and :mod:`octolib.reports.notebook` displays it. Nobody formats a
number twice.

Every text that enters a document passes through :func:`scrub`, which removes anything
shaped like an email address: partner PDFs carry aggregates only, and a tracking link or a
campaign name must not smuggle a contact's address into one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from octolib.reports.period import Period

__all__ = [
    "EMAIL_PATTERN",
    "scrub",
    "Table",
    "Chart",
    "Paragraph",
    "Section",
    "Provenance",
    "ReportDocument",
    "appendix_rows",
    "appendix_csv",
]

EMAIL_PATTERN = re.compile(r"[A-Za-z0-9._%+\-]+(?:@|%40)[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
EMAIL_MASK = "[address removed]"


def scrub(text: Any) -> str:
    """``text`` as a string with every email-like substring (also URL-encoded) masked.

    >>> scrub("https://x.example/?u=ana%40mail.example&utm_source=n")
    'https://x.example/?u=[address removed]&utm_source=n'
    >>> scrub(38.5)
    '38.5'
    """
    return EMAIL_PATTERN.sub(EMAIL_MASK, "" if text is None else str(text))


@dataclass
class Table:
    """A table as printed: every cell is already-formatted text.

    ``key`` is the stable name used in the CSV appendix (``kpis``, ``campaigns``, ...);
    ``numeric`` marks the columns to right-align; ``notes`` are footnotes printed under it
    (for example what the small-number mark means).
    """

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    numeric: tuple[int, ...] = ()
    notes: list[str] = field(default_factory=list)
    col_widths: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        self.title = scrub(self.title)
        self.columns = [scrub(c) for c in self.columns]
        self.rows = [[scrub(c) for c in row] for row in self.rows]
        self.notes = [scrub(n) for n in self.notes]
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(f"table {self.key!r}: a row has {len(row)} cells for {len(self.columns)} columns")


@dataclass
class Chart:
    """A chart: the plotly figure (for the notebook) and its rendered image (for the PDF).

    ``png`` is None when the image could not be rendered; the PDF then says so in place of
    the chart, and ``error`` tells why.
    """

    key: str
    title: str
    figure: Any = None
    png: bytes | None = None
    width_px: int = 900
    height_px: int = 420
    error: str = ""

    def __post_init__(self) -> None:
        self.title = scrub(self.title)
        self.error = scrub(self.error)


@dataclass
class Paragraph:
    """A paragraph of plain text (no markup)."""

    text: str
    style: str = "body"

    def __post_init__(self) -> None:
        self.text = scrub(self.text)


Block = Table | Chart | Paragraph


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.title = scrub(self.title)


@dataclass
class Provenance:
    """Where the numbers come from; printed in every page footer and the last section.

    ``definitions`` are ``(name, formula, meaning)`` triples, the metric definitions table.
    """

    template: str
    template_version: str
    data_as_of: datetime | None
    sync_run_id: str
    definitions: Sequence[tuple[str, str, str]] = ()
    timezone: str = "UTC"
    software: str = ""
    #: (footer words, sentence) on the reconciliation of the report's campaigns
    #: (:func:`octolib.sync.reconcile.report_note`); empty: nothing to say.
    reconciliation: tuple[str, str] = ("", "")

    def as_of_text(self) -> str:
        if self.data_as_of is None:
            return "no completed sync"
        return self.data_as_of.strftime("%Y-%m-%d %H:%M UTC")

    def footer_text(self) -> str:
        run = self.sync_run_id or "none"
        return (f"Data as of {self.as_of_text()} (sync run {run}) · template {self.template} "
                f"v{self.template_version}")


@dataclass
class ReportDocument:
    """Everything a partner report shows.

    ``empty_message`` set means there was nothing to report (no campaign in the period):
    the PDF is then the cover, the message and the provenance, nothing more.
    """

    template: str
    title: str
    partner_slug: str
    partner_name: str
    period: Period
    provenance: Provenance
    brand_colour: str = "#1F4E79"
    logo_path: str = ""
    narrative: list[str] = field(default_factory=list)
    note: str = ""
    kpis: Table | None = None
    sections: list[Section] = field(default_factory=list)
    empty_message: str = ""

    def __post_init__(self) -> None:
        self.title = scrub(self.title)
        self.partner_name = scrub(self.partner_name)
        self.narrative = [scrub(s) for s in self.narrative]
        self.note = scrub(self.note)
        self.empty_message = scrub(self.empty_message)

    def tables(self) -> list[Table]:
        """Every table, in print order (KPIs first)."""
        out = [self.kpis] if self.kpis is not None else []
        for section in self.sections:
            out.extend(b for b in section.blocks if isinstance(b, Table))
        return out

    def charts(self) -> list[Chart]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Chart)]

    @property
    def is_empty(self) -> bool:
        return bool(self.empty_message)


APPENDIX_COLUMNS = ("partner", "template", "period_from", "period_to", "table", "row", "column", "value")


def appendix_rows(doc: ReportDocument) -> Iterable[list[str]]:
    """The CSV appendix rows: one per printed table cell, values exactly as printed.

    The row label is the table's first cell of that row, so a reader can find any number
    of the PDF by (table, row, column).
    """
    yield list(APPENDIX_COLUMNS)
    base = [doc.partner_slug, doc.template, doc.period.start.isoformat(), doc.period.end.isoformat()]
    for table in doc.tables():
        for row in table.rows:
            label = row[0] if row else ""
            for column, value in zip(table.columns[1:], row[1:], strict=True):
                yield [*base, table.key, label, column, value]


def appendix_csv(doc: ReportDocument) -> bytes:
    """:func:`appendix_rows` as UTF-8 CSV bytes (``\\n`` line ends, so builds are identical)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(appendix_rows(doc))
    return buf.getvalue().encode("utf-8")
