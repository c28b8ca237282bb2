"""The metric definitions: written once, shown by the README and by every PDF footer.

Why one constant: a partner who reads "click rate 4.1 %" in a PDF and a colleague who
reads the README must see the same formula, so neither text is written by hand. The rate
rows come from the rate table (:data:`~octolib.metrics.rate_specs.RATES`), the same rows
the code computes; a test checks that the README holds this table verbatim.
"""

from __future__ import annotations

from dataclasses import dataclass

from octolib.metrics.display import format_rate
from octolib.metrics.flags import FlagThresholds
from octolib.metrics.rate_specs import RATES, RateSpec

__all__ = ["MetricDefinition", "METRIC_DEFINITIONS", "definitions_markdown", "definition"]


@dataclass(frozen=True)
class MetricDefinition:
    """One row of the definitions table."""

    name: str
    label: str
    formula: str
    meaning: str


_FLAGS = FlagThresholds()

def _from_rate(spec: RateSpec) -> MetricDefinition:
    meaning = spec.meaning.format(bounce=format_rate(_FLAGS.bounce_rate, 0), complaint=format_rate(_FLAGS.complaint_rate))
    return MetricDefinition(spec.name, spec.label, spec.formula, meaning)


#: Delivered, then every row of the rate table (:data:`~octolib.metrics.rate_specs.RATES`),
#: then the metrics that are not per-campaign rates.
METRIC_DEFINITIONS: tuple[MetricDefinition, ...] = (
    MetricDefinition("delivered_count", "Delivered", "sent − hard bounces − soft bounces",
                     "Emails that reached a mailbox."),
    *(_from_rate(spec) for spec in RATES.values()),
    MetricDefinition("time_to_open", "Time to open", "median of (first open − send time)",
                     "How soon a typical opener opened: half of all first opens came within this time."),
    MetricDefinition("engaged_rate", "Engaged (N days)",
                     "contacts with an open or click in the last N days ÷ contacts",
                     "How much of a list is still active (N = 30, 90, 180)."),
    MetricDefinition("churn_rate", "Churn rate",
                     "unsubscribes in the period ÷ (subscribers at its start + new in it)",
                     "Share of the people on a list during a period who left in it."),
    # Conversions (octolib.metrics.conversions): EmailOctopus's API has no conversion data,
    # so these come from the partner's goal links or the partner's own uploaded outcomes.
    MetricDefinition("goal_clicks", "Goal clicks",
                     "unique clicks on the campaign's links that match the partner's goal link patterns, summed",
                     "Clicks that count as conversions because they reached a goal page (e.g. the sign-up page). "
                     "EmailOctopus's API has no conversion data; goal links are one of two ways octopus counts them."),
    MetricDefinition("goal_rate", "Goal rate", "goal clicks ÷ delivered",
                     "Share of delivered emails whose reader reached a goal page. Unique per link, so a reader who "
                     "clicked two goal links counts twice; not clipped."),
    MetricDefinition("conversion_count", "Conversions",
                     "uploaded outcomes whose contact last clicked this campaign within the window before the outcome",
                     "Outcomes from the partner's own uploaded file (EmailOctopus's API has no conversion data), each "
                     "credited to the last campaign the contact clicked at most OCTO_CONVERSION_WINDOW_DAYS (default 7) "
                     "days before it; outcomes with no such click are unattributed."),
    MetricDefinition("conversion_rate", "Conversion rate", "conversions ÷ delivered",
                     "Share of delivered emails followed by an uploaded outcome credited to the campaign."),
    MetricDefinition("conversion_value", "Conversion value", "sum of the values of the conversions",
                     "What the credited outcomes were worth, as the uploaded file states it (outcomes without a "
                     "value add nothing)."),
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

    Rates are ratios shown as percentages, never clipped (above 100 % means the inputs
    disagree); a rate whose denominator is zero is undefined and shown as "—".

    >>> print(definitions_markdown().splitlines()[0])
    | Metric | Formula | Meaning |
    """
    lines = ["| Metric | Formula | Meaning |", "|---|---|---|"]
    for d in METRIC_DEFINITIONS:
        lines.append(f"| {_cell(d.label)} (`{d.name}`) | {_cell(d.formula)} | {_cell(d.meaning)} |")
    return "\n".join(lines) + "\n"
