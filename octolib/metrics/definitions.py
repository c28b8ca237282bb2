"""The metric definitions: written once, shown by the README and by every PDF footer.

Why one constant: a partner who reads "click rate 4.1 %" in a PDF and a colleague who
reads the README must see the same formula, so neither text is written by hand. The code
in :mod:`octolib.metrics.rates` implements exactly these rows; a test checks the names.
"""

from __future__ import annotations

from dataclasses import dataclass

from octolib.metrics.display import format_rate
from octolib.metrics.flags import FlagThresholds

__all__ = ["MetricDefinition", "METRIC_DEFINITIONS", "definitions_markdown", "definition"]


@dataclass(frozen=True)
class MetricDefinition:
    """One row of the definitions table."""

    name: str
    label: str
    formula: str
    meaning: str


_FLAGS = FlagThresholds()

METRIC_DEFINITIONS: tuple[MetricDefinition, ...] = (
    MetricDefinition("delivered_count", "Delivered", "sent − hard bounces − soft bounces",
                     "Emails that reached a mailbox."),
    MetricDefinition("open_rate", "Open rate", "unique opens ÷ delivered",
                     "Share of delivered emails opened at least once (image-blocking clients "
                     "undercount, privacy proxies overcount)."),
    MetricDefinition("click_rate", "Click rate", "unique clicks ÷ delivered",
                     "Share of delivered emails with at least one tracked click."),
    MetricDefinition("click_to_open_rate", "Click-to-open rate", "unique clicks ÷ unique opens",
                     "Of those who opened, the share who clicked: how well the content worked."),
    MetricDefinition("bounce_rate", "Bounce rate", "(hard + soft bounces) ÷ sent",
                     "Share of sends that did not arrive; flagged above "
                     f"{format_rate(_FLAGS.bounce_rate, 0)} by default."),
    MetricDefinition("hard_bounce_rate", "Hard bounce rate", "hard bounces ÷ sent",
                     "Permanent failures (address does not exist)."),
    MetricDefinition("soft_bounce_rate", "Soft bounce rate", "soft bounces ÷ sent",
                     "Temporary failures (mailbox full, server busy)."),
    MetricDefinition("unsubscribe_rate", "Unsubscribe rate", "unsubscribes ÷ delivered",
                     "Share of recipients who left the list from this email."),
    MetricDefinition("complaint_rate", "Complaint rate", "spam complaints ÷ delivered",
                     "Share of recipients who marked the email as spam; flagged above "
                     f"{format_rate(_FLAGS.complaint_rate)} by default."),
    MetricDefinition("time_to_open", "Time to open", "median of (first open − send time)",
                     "How soon a typical opener opened; half-life = ln 2 × mean delay."),
    MetricDefinition("engaged_rate", "Engaged (N days)",
                     "contacts with an open or click in the last N days ÷ contacts",
                     "How much of a list is still active (N = 30, 90, 180)."),
    MetricDefinition("churn_rate", "Churn rate",
                     "unsubscribes in the period ÷ (subscribers at its start + new in it)",
                     "Share of the people on a list during a period who left in it."),
)

_BY_NAME = {d.name: d for d in METRIC_DEFINITIONS}


def definition(name: str) -> MetricDefinition:
    """The definition of ``name``; KeyError names the known metrics.

    >>> definition("click_rate").formula
    'unique clicks ÷ delivered'
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown metric {name!r}; known: {', '.join(_BY_NAME)}") from None


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def definitions_markdown() -> str:
    """The definitions as a Markdown table (the README includes this output verbatim).

    Rates are ratios in [0, 1], shown as percentages; a rate whose denominator is zero is
    undefined and shown as "—".

    >>> print(definitions_markdown().splitlines()[0])
    | Metric | Formula | Meaning |
    """
    lines = ["| Metric | Formula | Meaning |", "|---|---|---|"]
    for d in METRIC_DEFINITIONS:
        lines.append(f"| {_cell(d.label)} (`{d.name}`) | {_cell(d.formula)} | {_cell(d.meaning)} |")
    return "\n".join(lines) + "\n"
