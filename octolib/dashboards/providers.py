"""The "Deliverability by mailbox provider" section, shared by the campaign detail and lists pages.

Recipients per provider (:func:`octolib.metrics.providers.provider_view`, the definition the
PDF prints too): the stored ``sent`` events when the sync keeps them
(``OCTO_SYNC_SENT_EVENTS=1``: exact); otherwise an estimate from list membership at the time
of sending. The section says which it used, and compares the recipients found with the
summary's ``sent``. Rates resting on fewer than
:data:`~octolib.metrics.SMALL_DENOMINATOR` are marked, as in the reports.
"""

from __future__ import annotations

from collections.abc import Sequence

from octolib.dashboards.data import DashboardData
from octolib.dashboards.widgets import esc
from octolib.metrics import RATES, format_count
from octolib.metrics.providers import PROVIDER_RATES, ProviderView, provider_table
from octolib.metrics.providers import provider_view as metric_provider_view
from octolib.reports.builders.common import SMALL_NOTE, rate_cell
from octolib.vocabulary import EVENT_TYPES

__all__ = ["ProviderView", "provider_view", "provider_html"]


def provider_view(data: DashboardData, campaign_ids: Sequence[str]) -> ProviderView:
    """:func:`octolib.metrics.providers.provider_view` over the page's cached reads."""
    return metric_provider_view(campaign_ids, data.campaigns().cols, data.contacts(),
                                data.events((*EVENT_TYPES, "sent")))


def provider_html(view: ProviderView) -> str:
    """The section's table: one row per provider, the rates of :data:`PROVIDER_RATES`."""
    table = provider_table()
    c = view.counts
    if not len(c):
        return '<div class="octo-muted" data-providers="empty">No recipients or events to group by provider.</div>'
    rates = c.rates()
    head = "".join(f'<th class="num">{esc(RATES[r].label)}</th>' for r in PROVIDER_RATES)
    rows = []
    for k in range(len(c)):
        sent, delivered = int(c.counts["sent"][k]), int(c.counts["delivered"][k])
        cells = []
        for r in PROVIDER_RATES:
            n = sent if RATES[r].denominator == ("sent",) else delivered
            cells.append(f'<td class="num">{esc(rate_cell(float(rates[r][k]), n))}</td>')
        rows.append(f'<tr data-provider="{esc(c.provider[k])}"><td>{esc(table.label(str(c.provider[k])))}</td>'
                    f'<td class="num">{esc(format_count(sent))}</td>{"".join(cells)}</tr>')
    how = ("Recipients from the stored per-contact sends." if view.exact else
           "Recipients estimated from list membership at the time of sending (pending contacts left out; turn on "
           "OCTO_SYNC_SENT_EVENTS for exact recipients).")
    compare = (f" {format_count(view.recipients)} recipients found against {format_count(view.summary_sent)} sent "
               "in EmailOctopus's summary.")
    note = (f'<div class="octo-muted">Provider from the address\'s domain (table reviewed {esc(table.reviewed)}); '
            f'company domains are “other / business domains”. {esc(how)}{esc(compare)} Bounces are not split into '
            f'hard and soft per contact. {esc(SMALL_NOTE)}</div>')
    return (f'<table class="octo-table" data-table="providers"><tr><th>Mailbox provider</th>'
            f'<th class="num">Recipients</th>{head}</tr>{"".join(rows)}</table>{note}')
