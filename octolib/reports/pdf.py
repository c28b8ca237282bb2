"""Print a :class:`~octolib.reports.document.ReportDocument` as a branded PDF (ReportLab).

Layout: a cover (the partner's colour band, logo, name, report title, period, the
narrative summary and the analyst note), then the KPI table, the sections (tables and
charts, each heading kept with what follows), and "About these numbers" (provenance and
the metric definitions). Every page has a footer with the provenance line and
"Page X of Y".

Deterministic by construction (STYLE.md §11): ``invariant=1`` fixes ReportLab's ids, the
fonts are the Vera TTFs shipped inside ReportLab (the same glyphs on every machine, wider
coverage than the PDF base fonts), and nothing run-specific (report id, user) is printed:
the same data *and the same creation date* give the same bytes.

The creation date in the PDF's metadata is the real one (``created``, default now, UTC):
a partner's PDF viewer shows when the report was made, not ReportLab's invariant
2000-01-01. A test that wants byte-identical output passes ``reproducible=True`` (that
fixed date) or the ``created`` of the PDF it compares with (see :func:`creation_date`).
"""

from __future__ import annotations

import io
import logging
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from octolib import __version__
from octolib.reports.document import Chart, Paragraph, ReportDocument, Table

__all__ = ["build_pdf", "build_pdf_counted", "write_pdf", "creation_date", "PAGE_SIZE"]

log = logging.getLogger(__name__)

_FONTS_READY = False
FONT, FONT_BOLD, FONT_ITALIC = "OctoSans", "OctoSans-Bold", "OctoSans-Italic"


def _register_fonts() -> None:
    """Register ReportLab's bundled Vera fonts once per process."""
    global _FONTS_READY
    if _FONTS_READY:
        return
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, "VeraBd.ttf"))
    pdfmetrics.registerFont(TTFont(FONT_ITALIC, "VeraIt.ttf"))
    pdfmetrics.registerFont(TTFont(FONT + "-BoldItalic", "VeraBI.ttf"))
    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, FONT_BOLD)
    addMapping(FONT, 0, 1, FONT_ITALIC)
    addMapping(FONT, 1, 1, FONT + "-BoldItalic")
    _FONTS_READY = True


def _page_size() -> tuple[float, float]:
    from reportlab.lib.pagesizes import A4

    return A4


PAGE_SIZE = (595.2755905511812, 841.8897637795277)  # A4 in points
MARGIN = 50.0
BAND = 150.0  # height of the cover's colour band
NEW_SECTION_ROOM = 300.0  # a section starts on the current page only if this much is left


def _ink_on(hex_colour: str) -> str:
    """Black or white, whichever reads better on ``hex_colour`` (WCAG relative luminance)."""
    r, g, b = (int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5))

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#000000" if lum > 0.4 else "#FFFFFF"


def _styles(colour: str) -> dict[str, Any]:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_LEFT, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, alignment=TA_LEFT)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#444444")),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "cell_right": ParagraphStyle("cell_right", parent=base, fontSize=8, leading=10, alignment=TA_RIGHT),
        "head": ParagraphStyle("head", parent=base, fontName=FONT_BOLD, fontSize=8, leading=10,
                               textColor=colors.HexColor(_ink_on(colour))),
        "head_right": ParagraphStyle("head_right", parent=base, fontName=FONT_BOLD, fontSize=8, leading=10,
                                     alignment=TA_RIGHT, textColor=colors.HexColor(_ink_on(colour))),
        "h1": ParagraphStyle("h1", parent=base, fontName=FONT_BOLD, fontSize=15, leading=19, spaceBefore=10,
                             spaceAfter=6, textColor=colors.HexColor(colour if _ink_on(colour) == "#FFFFFF" else "#222222")),
        "h2": ParagraphStyle("h2", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4),
        "partner": ParagraphStyle("partner", parent=base, fontName=FONT_BOLD, fontSize=26, leading=31, spaceAfter=6),
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=20, spaceAfter=4),
        "period": ParagraphStyle("period", parent=base, fontSize=12, leading=16, textColor=colors.HexColor("#333333")),
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=12, bulletIndent=2, spaceAfter=3),
        "note": ParagraphStyle("note", parent=base, fontName=FONT_ITALIC, backColor=colors.HexColor("#F3F3F3"),
                               borderPadding=6, spaceBefore=6, spaceAfter=6),
        "message": ParagraphStyle("message", parent=base, fontSize=12, leading=17, spaceBefore=12),
    }


def _p(text: str, style: Any) -> Any:
    from reportlab.platypus import Paragraph as RLParagraph

    return RLParagraph(escape(text).replace("\n", "<br/>"), style)


_PAD = 13.0  # left + right cell padding, plus a little air


def _column_widths(table: Table, width: float) -> list[float]:
    """Column widths that fit ``width``: the table's proportions (or text lengths), but never
    so narrow that a header word or a number has to be broken mid-word."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    n = len(table.columns)
    if table.col_widths:
        weights = list(table.col_widths)
    else:
        longest = [max([len(table.columns[i])] + [len(r[i]) for r in table.rows]) for i in range(n)]
        weights = [float(min(max(k, 6), 40)) for k in longest]
    total = sum(weights)
    widths = [width * w / total for w in weights]
    floor = []
    for i in range(n):
        words = table.columns[i].split() or [""]
        need = max(stringWidth(w, FONT_BOLD, 8) for w in words)
        for row in table.rows:
            # numbers keep "25.0% †" together; dates, ids and words are never cut
            parts = row[i].split(" (") if i in table.numeric else row[i].split()
            need = max([need] + [stringWidth(p, FONT, 8) for p in parts])
        floor.append(min(need + _PAD, width / 3))
    for _ in range(n):  # raise narrow columns to their floor, take the room from the others
        short = [i for i in range(n) if widths[i] < floor[i] - 0.01]
        if not short:
            break
        extra = sum(floor[i] - widths[i] for i in short)
        for i in short:
            widths[i] = floor[i]
        donors = [i for i in range(n) if widths[i] > floor[i] + 0.01]
        room = sum(widths[i] - floor[i] for i in donors)
        if room <= 0:
            break
        for i in donors:
            widths[i] -= extra * (widths[i] - floor[i]) / room
    scale = width / sum(widths)
    return [w * scale for w in widths]


def _table(table: Table, styles: dict[str, Any], colour: str, width: float) -> list[Any]:
    from reportlab.lib import colors
    from reportlab.platypus import KeepTogether, Spacer
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    numeric = set(table.numeric)
    header = [_p(c, styles["head_right" if i in numeric else "head"]) for i, c in enumerate(table.columns)]
    body = [[_p(c, styles["cell_right" if i in numeric else "cell"]) for i, c in enumerate(row)] for row in table.rows]
    widths = _column_widths(table, width)
    rl = RLTable([header, *body], colWidths=widths, repeatRows=1)
    commands: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(colour)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, -1), (-1, -1), 0.5, colors.HexColor("#999999")),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    for r in range(1, len(body) + 1):
        if r % 2 == 0:
            commands.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#F4F6F8")))
    rl.setStyle(TableStyle(commands))
    parts: list[Any] = [_p(table.title, styles["h2"]), rl]
    for note in table.notes:
        parts.append(_p(note, styles["small"]))
    head = KeepTogether(parts[:2]) if len(body) <= 25 else None
    out: list[Any] = [head] if head is not None else parts[:2]
    out.extend(parts[2:])
    out.append(Spacer(1, 6))
    return out


def _chart(chart: Chart, styles: dict[str, Any], width: float) -> list[Any]:
    from reportlab.platypus import Image, KeepTogether, Spacer

    heading = _p(chart.title, styles["h2"])
    if not chart.png:
        reason = f" ({chart.error})" if chart.error else ""
        return [KeepTogether([heading, _p(f"This chart could not be drawn{reason}; its numbers are in the "
                                          "tables and the CSV appendix.", styles["small"])])]
    height = width * chart.height_px / chart.width_px
    image = Image(io.BytesIO(chart.png), width=width, height=height)
    return [KeepTogether([heading, image]), Spacer(1, 6)]


def _logo(path: str, max_w: float, max_h: float) -> Any | None:
    """The logo scaled into ``max_w`` x ``max_h`` keeping its aspect, or None if unreadable."""
    if not path:
        return None
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image

    try:
        data = Path(path).read_bytes()
        w, h = ImageReader(io.BytesIO(data)).getSize()
    except Exception as exc:  # noqa: BLE001 - a broken logo must not cost the partner its report
        log.warning("logo %s could not be read (%s); the cover is printed without it", path, exc)
        return None
    scale = min(max_w / w, max_h / h)
    image = Image(io.BytesIO(data), width=w * scale, height=h * scale)
    image.hAlign = "LEFT"
    return image


def _make_canvas(doc: ReportDocument, pages: list[int], created: datetime | None = None) -> Any:
    """A canvas class that draws the cover band, the footer and "Page X of Y" on every page
    (and appends the page count to ``pages``); ``created`` (UTC) is the metadata's
    CreationDate and ModDate, None keeps ReportLab's invariant date."""
    from reportlab.lib import colors
    from reportlab.pdfgen import canvas

    colour = doc.brand_colour
    left_text = f"{doc.partner_name} · {doc.title} · {doc.period.label()}"
    if doc.provenance.reconciliation[0]:  # octolib.sync.reconcile: were this report's numbers reconciled?
        left_text += f" · {doc.provenance.reconciliation[0]}"
    prov_text = doc.provenance.footer_text()
    with_definitions = bool(doc.provenance.definitions) and not doc.is_empty

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []
            if created is not None:
                stamp = created.astimezone(timezone.utc).strftime("D:%Y%m%d%H%M%S+00'00'")
                self.setDateFormatter(lambda *_ymdhms: stamp)

        def showPage(self) -> None:  # noqa: N802 - ReportLab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            pages.append(total)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._decorate(number, total)
                super().showPage()
            super().save()

        def _decorate(self, number: int, total: int) -> None:
            w, h = self._pagesize
            self.saveState()
            self.setFillColor(colors.HexColor(colour))
            if number == 1:
                self.rect(0, h - BAND, w, BAND, stroke=0, fill=1)
            else:
                self.rect(0, h - 12, w, 12, stroke=0, fill=1)
            self.setStrokeColor(colors.HexColor("#BBBBBB"))
            self.setLineWidth(0.5)
            self.line(MARGIN, 42, w - MARGIN, 42)
            self.setFillColor(colors.HexColor("#555555"))
            self.setFont(FONT, 7)
            self.drawString(MARGIN, 31, left_text[:120])
            where = f" · metric definitions on page {total}" if with_definitions else ""
            self.drawString(MARGIN, 21, (prov_text + where)[:160])
            self.drawRightString(w - MARGIN, 31, f"Page {number} of {total}")
            self.restoreState()

    return NumberedCanvas


def build_pdf(doc: ReportDocument, *, created: datetime | None = None, reproducible: bool = False) -> bytes:
    """The PDF bytes for ``doc``, made ``created`` (default: now). Identical input and
    creation date give identical bytes; ``reproducible=True`` fixes the date (tests)."""
    return build_pdf_counted(doc, created=created, reproducible=reproducible)[0]


def creation_date(pdf: bytes) -> datetime | None:
    """The CreationDate in a PDF's metadata (UTC), or None: what to pass as ``created`` to
    rebuild the same bytes."""
    found = re.search(rb"/CreationDate \(D:(\d{14})", pdf)
    if not found:
        return None
    return datetime.strptime(found.group(1).decode("ascii"), "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)


def build_pdf_counted(doc: ReportDocument, *, created: datetime | None = None,
                      reproducible: bool = False) -> tuple[bytes, int]:
    """``(pdf bytes, number of pages)`` for ``doc``; ``created`` and ``reproducible`` as
    :func:`build_pdf`."""
    from reportlab.lib import colors
    from reportlab.platypus import CondPageBreak, PageBreak, SimpleDocTemplate, Spacer
    from reportlab.platypus import Table as RLTable
    from reportlab.platypus import TableStyle

    _register_fonts()
    styles = _styles(doc.brand_colour)
    buf = io.BytesIO()
    template = SimpleDocTemplate(
        buf, pagesize=_page_size(), invariant=1,
        leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN, bottomMargin=60,
        title=f"{doc.partner_name}: {doc.title}, {doc.period.label()}",
        author="octopus", subject=f"{doc.title} for {doc.partner_name}",
        creator=f"octolib {__version__}", producer="octolib reports (ReportLab)",
    )
    width = template.width
    story: list[Any] = [Spacer(1, BAND - MARGIN + 18)]
    logo = _logo(doc.logo_path, 170, 70)
    if logo is not None:
        story += [logo, Spacer(1, 10)]
    story += [
        _p(doc.partner_name, styles["partner"]),
        _p(doc.title, styles["title"]),
        _p(doc.period.label() + f"  ({doc.period.start.isoformat()} to {doc.period.end.isoformat()})", styles["period"]),
        Spacer(1, 14),
    ]
    if doc.is_empty:
        story.append(_p(doc.empty_message, styles["message"]))
    if doc.narrative:
        story.append(_p("Summary", styles["h1"]))
        for sentence in doc.narrative:
            story.append(_p(sentence, styles["bullet"]))
            story[-1].bulletText = "•"
    if doc.note:
        story.append(_p("Analyst note", styles["h2"]))
        story.append(_p(doc.note, styles["note"]))
    if doc.kpis is not None and not doc.is_empty:
        story += _table(doc.kpis, styles, doc.brand_colour, width)

    if not doc.is_empty:
        for i, section in enumerate(doc.sections):
            # The first section starts on a fresh page after the cover; later ones flow on
            # when a good part of the page is left (a heading never sits alone at the bottom).
            story.append(PageBreak() if i == 0 else CondPageBreak(NEW_SECTION_ROOM))
            story.append(_p(section.title, styles["h1"]))
            for block in section.blocks:
                if isinstance(block, Table):
                    story += _table(block, styles, doc.brand_colour, width)
                elif isinstance(block, Chart):
                    story += _chart(block, styles, width)
                elif isinstance(block, Paragraph):
                    story.append(_p(block.text, styles.get(block.style, styles["body"])))
        story.append(CondPageBreak(NEW_SECTION_ROOM))
        story.append(_p("About these numbers", styles["h1"]))
    else:
        story.append(Spacer(1, 18))
    prov = doc.provenance
    story.append(_p(
        f"Data as of {prov.as_of_text()}, the end of sync run {prov.sync_run_id or 'none'}. "
        f"Template {prov.template}, version {prov.template_version}. Days and hours are in {prov.timezone}. "
        "This report carries aggregates only: no contact's address appears in it."
        + (f" {prov.reconciliation[1]}" if prov.reconciliation[1] else ""), styles["small"]))
    if prov.definitions and not doc.is_empty:
        story.append(Spacer(1, 6))
        story.append(_p("Metric definitions", styles["h2"]))
        rows = [[_p(n, styles["cell"]), _p(f, styles["cell"]), _p(m, styles["cell"])] for n, f, m in prov.definitions]
        header = [_p(h, styles["head"]) for h in ("Metric", "Formula", "Meaning")]
        rl = RLTable([header, *rows], colWidths=[width * 0.22, width * 0.33, width * 0.45], repeatRows=1)
        rl.setStyle(TableStyle([
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(doc.brand_colour)),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#CCCCCC")),
        ]))
        story.append(rl)
    pages: list[int] = []
    when = None if reproducible else (created or datetime.now(timezone.utc))
    template.build(story, canvasmaker=_make_canvas(doc, pages, when))
    return buf.getvalue(), pages[-1]


def write_pdf(doc: ReportDocument, path: str | Path, *, created: datetime | None = None,
              reproducible: bool = False) -> Path:
    """Build and write the PDF (``created``, ``reproducible`` as :func:`build_pdf`); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(build_pdf(doc, created=created, reproducible=reproducible))
    return out

