"""The report builder's custom report panel: one partner's campaigns, sections, note and preset.

Why a panel of its own: it is one idea (what goes into *this* partner's report) with its own
state, and the report builder page only needs two things from it: a checked
:class:`~octolib.reports.runner.ReportRequest` to run, and "save this as the preset". It
computes nothing: the campaigns an analyst may tick and the rule behind them come from
:mod:`octolib.reports.campaign_choice`, the sections from the template registry, the preset
from :mod:`octolib.reports.presets`.

What it shows, prefilled from the partner's preset when it has one, else from its rules:

- campaigns: a checkbox per campaign the partner's report may hold (its rules' campaigns
  ticked, unclaimed ones offered unticked; another partner's never listed), and how the
  choice carries to next month's run (follow the rules with these changes, or exactly these);
- sections: a checkbox per part of the template with up/down buttons for the order (the
  summary and the KPI table always open the report and the definitions close it);
- the analyst note.

Bad input (no campaign, no section, a note too long) is said next to its field, and nothing
is run or stored.

Choosing a partner redraws the boxes, and the browser keeps showing the previous ones until
the redraw arrives: a tick made in that moment lands on a box the browser already shows. So a
box is made once per campaign and per section and kept for the page's life; a redraw sets
its value and places it, never replaces it. The kernel handles messages in order, so a click
made after choosing partner P reaches it after P's redraw and is the last word, whichever
view of the box it was made on (a replaced box would have swallowed it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from octolib.dashboards.widgets import esc
from octolib.metrics.display import plural

if TYPE_CHECKING:
    from octolib.reports.presets import Preset
    from octolib.reports.runner import ReportRequest
    from octolib.store import Store

__all__ = ["CustomReportPanel", "NOTE_LIMIT"]

#: The longest analyst note the panel takes (a note is a paragraph on the cover, not a letter).
NOTE_LIMIT = 2000
_POLICIES = [("Follow the partner's rules with these changes (next month's new campaigns come in)", "rules"),
             ("Exactly these campaigns", "fixed")]


def _field_message(text: str) -> str:
    return f'<div class="octo-field-error" style="color:#b42318;font-size:12px">{esc(text)}</div>' if text else ""


class CustomReportPanel:
    """Controls: ``partner``, ``template``, ``campaign_boxes`` ({id: Checkbox}), ``policy``,
    ``section_boxes`` ({name: Checkbox}) in ``section_order``, ``note``. :meth:`request`
    returns the checked request (or None, with the reason next to the field);
    :meth:`save_preset` stores the choice with the partner."""

    def __init__(self, store_of: Callable[[], Store], partners: Sequence[tuple[str, str]],
                 say: Callable[[str, str], None], guard: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
        from octolib.reports.templates import TEMPLATES

        self._store_of = store_of
        self._say = say
        self.partner = w.Dropdown(options=[("— choose a partner —", ""), *partners], value="",
                                  description="Partner", layout=w.Layout(width="420px"))
        self.template = w.Dropdown(options=[(t.title, n) for n, t in TEMPLATES.items()], value="campaign_summary",
                                   description="Template", layout=w.Layout(width="420px"))
        self.campaign_boxes: dict[str, w.Checkbox] = {}
        # every box ever drawn, by campaign id and by section name: reused, never replaced
        self._campaign_widgets: dict[str, w.Checkbox] = {}
        self._section_widgets: dict[str, w.Checkbox] = {}
        self.campaign_list = w.VBox(layout=w.Layout(max_height="260px", overflow="auto", width="640px",
                                                    border="1px solid #d9e2e7", padding="4px"))
        self.campaign_count = w.HTML()
        self.campaign_error = w.HTML()
        self.policy = w.RadioButtons(options=_POLICIES, value="rules", layout=w.Layout(width="auto"))
        self.section_boxes: dict[str, w.Checkbox] = {}
        self.section_titles: dict[str, str] = {}
        self.section_order: list[str] = []
        self.section_list = w.VBox(layout=w.Layout(width="640px"))
        self.section_error = w.HTML()
        self.note = w.Textarea(placeholder="The analyst note printed on the cover (optional)",
                               layout=w.Layout(width="640px", height="80px"))
        self.note_error = w.HTML()
        self.preset_line = w.HTML()
        self.make_button = w.Button(description="Make this report", button_style="primary",
                                    layout=w.Layout(width="180px"), disabled=True)
        self.save_button = w.Button(description="Save as the partner's preset", layout=w.Layout(width="240px"),
                                    disabled=True)
        self.partner.observe(guard(lambda _: self.load()), "value")
        self.template.observe(guard(lambda _: self._load_sections(None)), "value")
        self.widget = w.VBox([
            w.HTML('<div class="octo-muted">One partner\'s report with the campaigns, sections and note you choose. '
                   "Save it as the partner's preset and scheduled runs and <code>octo report --all</code> make this "
                   "report for them.</div>"),
            w.HBox([self.partner, self.template], layout=w.Layout(flex_flow="row wrap")),
            self.preset_line,
            w.HTML("<b>Campaigns</b>"), self.campaign_count, self.campaign_list, self.campaign_error, self.policy,
            w.HTML("<b>Sections</b> <span class='octo-muted'>(tick to include, arrows to order; the summary and "
                   "key figures open the report, the definitions close it)</span>"),
            self.section_list, self.section_error,
            w.HTML("<b>Analyst note</b>"), self.note, self.note_error,
            w.HBox([self.make_button, self.save_button], layout=w.Layout(margin="6px 0")),
        ])
        self._load_sections(None)

    # -- loading ---------------------------------------------------------------------------

    def set_partners(self, partners: Sequence[tuple[str, str]]) -> None:
        """Offer ``partners`` ((name, slug) pairs), keeping the chosen one if it is still there."""
        current = self.partner.value
        self.partner.options = [("— choose a partner —", ""), *partners]
        self.partner.value = current if current in {slug for _, slug in partners} else ""

    def load(self) -> None:
        """Fill the panel for the chosen partner: its preset when it has one, else its rules."""
        from octolib.reports.campaign_choice import campaign_options
        from octolib.reports.partners import get_partner
        from octolib.reports.presets import get_preset

        slug = self.partner.value
        self._clear_errors()
        enabled = bool(slug)
        self.make_button.disabled = self.save_button.disabled = not enabled
        if not slug:
            self.campaign_boxes = {}
            self.campaign_list.children = []
            self.campaign_count.value = ""
            self.preset_line.value = ""
            self._load_sections(None)
            return
        store = self._store_of()
        partner = get_partner(store, slug)
        preset = get_preset(store, slug)
        options = campaign_options(store, partner)
        ticked = self._ticked_for(preset, [o.campaign_id for o in options if o.by_rules])
        boxes = {}
        for o in options:
            day = f"{o.sent_at:%Y-%m-%d}" if o.sent_at is not None else "not sent"
            extra = "" if o.by_rules else " · not in the rules"
            boxes[o.campaign_id] = self._campaign_box(o.campaign_id, f"{o.name} · {day}{extra}",
                                                      o.campaign_id in ticked)
        self.campaign_boxes = boxes
        self.campaign_list.children = list(boxes.values())
        self._rules_count = sum(o.by_rules for o in options)
        self._count()
        if preset is not None:
            self.template.value = preset.template
            self.policy.value = preset.campaigns.policy
            when = f" on {preset.saved_at:%Y-%m-%d %H:%M} UTC" if preset.saved_at else ""
            self.preset_line.value = (f'<div class="octo-muted">Loaded {esc(partner.name)}\'s preset (saved by '
                                      f"{esc(preset.saved_by or 'someone')}{esc(when)}).</div>")
        else:
            self.policy.value = "rules"
            self.preset_line.value = (f'<div class="octo-muted">{esc(partner.name)} has no preset yet: the campaigns '
                                      "are the ones its rules pick.</div>")
        self._load_sections(preset)
        self.note.value = (preset.note if preset is not None and preset.note is not None else partner.note) or ""

    def _campaign_box(self, campaign_id: str, description: str, value: bool) -> w.Checkbox:
        """The one box of ``campaign_id``, set to ``value`` (made on first use)."""
        box = self._campaign_widgets.get(campaign_id)
        if box is None:
            box = self._campaign_widgets[campaign_id] = w.Checkbox(value=value, description=description, indent=False,
                                                                   layout=w.Layout(width="auto"))
            box.observe(lambda _: self._count(), "value")
        box.description = description
        box.value = value
        return box

    def _section_box(self, name: str, title: str, value: bool) -> w.Checkbox:
        """The one box of section ``name``, set to ``value`` (made on first use)."""
        box = self._section_widgets.get(name)
        if box is None:
            box = self._section_widgets[name] = w.Checkbox(value=value, description=title, indent=False,
                                                           layout=w.Layout(width="300px"))
        box.description = title
        box.value = value
        return box

    def _ticked_for(self, preset: Preset | None, by_rules: list[str]) -> set[str]:
        if preset is None:
            return set(by_rules)
        c = preset.campaigns
        if c.policy == "fixed":
            return set(c.ids)
        return (set(by_rules) - set(c.remove)) | set(c.add)

    def _count(self) -> None:
        n = sum(b.value for b in self.campaign_boxes.values())
        self.campaign_count.value = (f'<div class="octo-muted">{plural(n, "campaign")} ticked of '
                                     f"{len(self.campaign_boxes)} this partner's report may hold "
                                     f"({getattr(self, '_rules_count', 0)} picked by its rules; campaigns of other "
                                     "partners are never listed).</div>")

    def _load_sections(self, preset: Preset | None) -> None:
        from octolib.reports.templates import template_info

        info = template_info(self.template.value)
        self.section_titles = dict(info.choices)
        chosen = list(preset.sections) if preset is not None and preset.sections is not None \
            and preset.template == info.name else list(info.default_choice)
        rest = [n for n, _ in info.choices if n not in chosen]
        self.section_order = chosen + rest
        self.section_boxes = {n: self._section_box(n, self.section_titles[n], n in chosen) for n in self.section_order}
        self._draw_sections()

    def _draw_sections(self) -> None:
        rows = []
        for i, name in enumerate(self.section_order):
            up = w.Button(icon="arrow-up", tooltip="Move up", layout=w.Layout(width="34px"), disabled=i == 0)
            down = w.Button(icon="arrow-down", tooltip="Move down", layout=w.Layout(width="34px"),
                            disabled=i == len(self.section_order) - 1)
            up.on_click(lambda _, n=name: self.move(n, -1))
            down.on_click(lambda _, n=name: self.move(n, 1))
            rows.append(w.HBox([self.section_boxes[name], up, down], layout=w.Layout(align_items="center")))
        self.section_list.children = rows

    def move(self, name: str, step: int) -> None:
        """Move section ``name`` one place up (-1) or down (+1)."""
        i = self.section_order.index(name)
        j = i + step
        if 0 <= j < len(self.section_order):
            self.section_order[i], self.section_order[j] = self.section_order[j], self.section_order[i]
            self._draw_sections()

    # -- reading the choice ------------------------------------------------------------------

    @property
    def chosen_sections(self) -> list[str]:
        return [n for n in self.section_order if self.section_boxes[n].value]

    @property
    def chosen_campaigns(self) -> list[str]:
        return [cid for cid, box in self.campaign_boxes.items() if box.value]

    def _clear_errors(self) -> None:
        self.campaign_error.value = self.section_error.value = self.note_error.value = ""

    def _checked(self) -> bool:
        """Every field valid; the reason next to each one that is not."""
        self._clear_errors()
        ok = True
        if not self.partner.value:
            self._say("warn", "Choose a partner for the custom report.")
            return False
        if not self.chosen_campaigns:
            self.campaign_error.value = _field_message("Tick at least one campaign: a report of nothing says nothing.")
            ok = False
        if not self.chosen_sections:
            self.section_error.value = _field_message("Tick at least one section.")
            ok = False
        if len(self.note.value) > NOTE_LIMIT:
            self.note_error.value = _field_message(
                f"The note has {len(self.note.value):,} characters; keep it under {NOTE_LIMIT:,} (it goes on the cover).")
            ok = False
        return ok

    def request(self, date_from: str, date_to: str) -> ReportRequest | None:
        """The custom report as a runner request (its campaign choice checked), or None with
        the reasons shown next to the fields."""
        from octolib.errors import ConfigError
        from octolib.reports.runner import ReportRequest, check_choice

        if not self._checked():
            return None
        req = ReportRequest(self.partner.value, self.template.value, date_from, date_to, {
            "sections": self.chosen_sections, "campaign_ids": self.chosen_campaigns, "note": self.note.value})
        try:
            check_choice(self._store_of(), req)
        except ConfigError as exc:
            self.campaign_error.value = _field_message(str(exc))
            return None
        return req

    def save_preset(self, user: str) -> Preset | None:
        """Store the panel's choice as the partner's preset; None (and why) when it is not valid."""
        from octolib.errors import ConfigError
        from octolib.reports.partners import get_partner
        from octolib.reports.presets import Preset, choice_from_selection, save_preset

        if not self._checked():
            return None
        store = self._store_of()
        partner = get_partner(store, self.partner.value)
        choice = choice_from_selection(store, partner, self.chosen_campaigns, self.policy.value)
        try:
            saved = save_preset(store, partner.slug, Preset(self.template.value, tuple(self.chosen_sections), choice,
                                                            self.note.value), user=user)
        except ConfigError as exc:
            self.campaign_error.value = _field_message(str(exc))
            return None
        self.preset_line.value = (f'<div class="octo-muted">Saved as {esc(partner.name)}\'s preset: its scheduled '
                                  "and --all reports are this one now.</div>")
        return saved
