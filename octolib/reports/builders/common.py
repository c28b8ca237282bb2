"""What every template builder shares: the partner's campaigns in a period, and cells.

Formatting rules (one place, so the PDF, CSV and notebook agree):

- rates through ``octolib.metrics.format_rate``, counts through ``format_count``;
- a rate resting on fewer than :data:`SMALL` units (``octolib.metrics.is_small``) is shown
  with its count and marked: ``"25.0% † (n=16)"``, and the table carries :data:`SMALL_NOTE`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from octolib.metrics.definitions import METRIC_DEFINITIONS
from octolib.metrics.maturity import IN_PROGRESS, settled
from octolib.metrics.display import MISSING, format_count, format_delta, format_rate
from octolib.metrics.rate_specs import COUNT_NAMES
from octolib.metrics.ratios import SMALL_DENOMINATOR, is_small
from octolib.metrics.timezones import to_local
from octolib.reports.document import ReportDocument, Table
from octolib.reports.period import Period
from octolib.reports.sections import Nothing, Plan, make_sections
from octolib.store import campaign_arrays

if TYPE_CHECKING:  # the context module imports the builders lazily; types only here
    from octolib.reports.kit import ReportContext
    from octolib.store import Store

D = TypeVar("D")

__all__ = [
    "assemble",
    "SMALL", "SMALL_MARK", "SMALL_NOTE", "MISSING", "rate_cell", "count_cell", "delta_cell",
    "CampaignSet", "partner_campaigns", "account_campaigns", "in_period", "definitions_for",
    "local_day", "take", "as_of", "settled_rows", "in_progress_note", "lists_cell", "IN_PROGRESS",
    "new_document",
]

SMALL = SMALL_DENOMINATOR
SMALL_MARK = "†"
SMALL_NOTE = (f"{SMALL_MARK} rests on fewer than {SMALL} delivered emails (n = how many): "
              "read with care, small numbers swing a lot.")


def rate_cell(rate: float, n: float | int, minimum: int = SMALL) -> str:
    """A rate as printed: ``38.2%``; ``25.0% † (n=16)`` when its denominator is small.

    >>> rate_cell(0.382, 900), rate_cell(0.25, 16), rate_cell(float("nan"), 0)
    ('38.2%', '25.0% † (n=16)', '—')
    """
    text = format_rate(rate)
    if text == MISSING:
        return MISSING
    if is_small(n, minimum):
        return f"{text} {SMALL_MARK} (n={format_count(n)})"
    return text


def count_cell(n: Any) -> str:
    return format_count(n)


def delta_cell(now: float, before: float, n_now: float, n_before: float) -> str:
    """The change in percentage points between the two *printed* rates (so a reader's own
    subtraction agrees with it), or ``—`` when either side is missing or small.

    >>> delta_cell(0.0046, 0.0064, 1000, 1000)  # printed 0.5% and 0.6%
    '-0.1 pp'
    >>> delta_cell(0.3, 0.2, 16, 1000)
    '—'
    """
    if is_small(n_now) or is_small(n_before):
        return MISSING
    a, b = format_rate(now), format_rate(before)
    if MISSING in (a, b):
        return MISSING
    return format_delta((float(a.rstrip("%")) - float(b.rstrip("%"))) / 100)


def take(arrays: Mapping[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    """Rows ``mask`` of a dict of aligned arrays."""
    return {k: v[mask] for k, v in arrays.items()}


@dataclass
class CampaignSet:
    """Campaign rows (``campaign_arrays`` columns) of one selection; aligned arrays."""

    arrays: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.arrays["campaign_id"])

    @property
    def ids(self) -> list[str]:
        return [str(x) for x in self.arrays["campaign_id"]]

    def sum(self, key: str) -> int:
        return int(np.asarray(self.arrays[key], dtype=np.int64).sum()) if len(self) else 0

    def totals(self) -> dict[str, np.ndarray]:
        """One-row arrays of summed counts, so pooled rates use the metric definitions as-is."""
        keys = (*COUNT_NAMES, "opened_total", "clicked_total")
        return {k: np.array([self.sum(k)], dtype=np.int64) for k in keys if k in self.arrays}


def _sent_mask(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    sent_at = arrays["sent_at"]
    return ~np.isnat(sent_at) & (np.asarray(arrays["sent"]) > 0)


def in_period(arrays: Mapping[str, np.ndarray], period: Period) -> dict[str, np.ndarray]:
    """Campaigns sent (``sent_at`` set, ``sent > 0``) within ``period`` (its local days)."""
    lo, hi = period.bounds_utc()
    lo64 = np.datetime64(lo.replace(tzinfo=None), "s")
    hi64 = np.datetime64(hi.replace(tzinfo=None), "s")
    sent_at = arrays["sent_at"]
    ok = _sent_mask(arrays)
    mask = ok & (np.where(ok, sent_at, lo64) >= lo64) & (np.where(ok, sent_at, lo64) < hi64)
    return take(arrays, mask)


def partner_campaigns(store: Store, query: dict[str, Any]) -> dict[str, np.ndarray]:
    return campaign_arrays(store, query)


def account_campaigns(store: Store) -> dict[str, np.ndarray]:
    return campaign_arrays(store)


def local_day(times: np.ndarray, tz: str) -> list[str]:
    """``YYYY-MM-DD`` local dates of UTC ``datetime64`` values (``—`` for NaT)."""
    local = to_local(np.asarray(times, dtype="datetime64[s]"), tz)
    return [MISSING if np.isnat(t) else str(t.astype("datetime64[D]")) for t in local]


def definitions_for(names: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(label, formula, meaning)`` rows of ``METRIC_DEFINITIONS`` for the named metrics."""
    by_name = {d.name: d for d in METRIC_DEFINITIONS}
    return [(by_name[n].label, by_name[n].formula, by_name[n].meaning) for n in names if n in by_name]


def new_document(ctx: ReportContext, definitions: Sequence[tuple[str, str, str]]) -> ReportDocument:
    """The empty document of ``ctx``'s template for its partner and period: title, branding,
    the analyst's note and the provenance (with the metric ``definitions`` the report prints)."""
    partner, info = ctx.partner, ctx.template
    provenance = ctx.provenance(definitions)
    provenance.reconciliation = reconciliation_of(ctx)
    return ReportDocument(
        template=info.name, title=info.title, partner_slug=partner.slug, partner_name=partner.name,
        period=ctx.period, provenance=provenance, brand_colour=partner.brand_colour,
        logo_path=partner.logo, note=partner.note if ctx.note is None else ctx.note,
    )


def reconciliation_of(ctx: ReportContext) -> tuple[str, str]:
    """What the footer says about the reconciliation (``octolib.sync.reconcile``) of the partner's
    campaigns sent in the period: only those, so no other partner's campaign is named."""
    from octolib.reports.partners import campaign_query
    from octolib.sync.reconcile import report_note, results_for

    mine = in_period(campaign_arrays(ctx.store, campaign_query(ctx.partner)), ctx.period)
    return report_note(results_for(ctx.store, mine["campaign_id"]))


def assemble(
    ctx: ReportContext,
    definitions: Sequence[tuple[str, str, str]],
    chosen: Plan[D],
    prepare: Callable[[ReportContext], D | Nothing],
    key_figures: Callable[[D], Table],
    summary: Callable[[D], list[str]],
) -> ReportDocument:
    """Every template's ``build``: the document, then (unless :class:`Nothing` is to report)
    the KPI table and the narrative from the prepared data, then the chosen sections, in
    order; each frame part only when ``chosen`` (:func:`~octolib.reports.sections.plan`) has it."""
    doc = new_document(ctx, definitions if chosen.definitions else ())
    data = prepare(ctx)
    if isinstance(data, Nothing):
        doc.empty_message = data.message
        return doc
    if chosen.kpis:
        doc.kpis = key_figures(data)
    if chosen.summary:
        doc.narrative = summary(data)
    doc.sections = make_sections(data, chosen.specs)
    return doc


# -- in progress and list names ------------------------------------------------------------

def as_of(ctx: ReportContext) -> datetime:
    """The report's "now": the data's as-of time (the last sync), else the end of its period.

    Every maturity decision in a report uses this one moment, so the same data gives the
    same report whenever it is built.
    """
    if ctx.data_as_of is not None:
        return ctx.data_as_of
    return ctx.period.bounds_utc()[1].astimezone(timezone.utc)


def settled_rows(ctx: ReportContext, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    """Mask of campaigns settled at :func:`as_of` (``octolib.metrics.maturity.settled``,
    with the ``OCTO_SETTLED_HOURS`` of the report's settings)."""
    return settled(arrays["status"], arrays["sent_at"], as_of(ctx), ctx.settings.settled_hours)


def in_progress_note(ctx: ReportContext, n: int) -> str:
    """The sentence that says what happened to ``n`` in-progress campaigns ("" when none)."""
    if n <= 0:
        return ""
    hours = ctx.settings.settled_hours
    word = "campaign is" if n == 1 else "campaigns are"
    return (f"{n} {word} {IN_PROGRESS} (still sending, or sent less than {hours:g} hours before the data's as-of "
            f"time, {as_of(ctx):%Y-%m-%d %H:%M} UTC): listed and marked, but left out of the key figures, "
            "medians, rankings, flags and trends until their numbers settle.")


def lists_cell(list_ids: Sequence[str], names: Mapping[str, str], mine: Sequence[str] | set[str]) -> str:
    """The lists a campaign went to, as a partner may read them: the partner's own lists by
    name, every other list only counted (another partner's list is never named).

    >>> lists_cell(["a", "b", "c"], {"a": "Customers", "b": "Events", "c": "Volunteers"}, {"a"})
    'Customers + 2 other lists'
    >>> lists_cell(["b"], {"b": "Events"}, set()), lists_cell([], {}, set())
    ('1 other list', '—')
    """
    own = [str(names.get(i, i)) for i in list_ids if i in mine]
    others = sum(1 for i in list_ids if i not in mine)
    if not own and not others:
        return MISSING
    text = ", ".join(own)
    if others:
        text += (" + " if own else "") + f"{others} other list{'s' if others != 1 else ''}"
    return text
