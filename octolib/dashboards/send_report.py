"""Send from the page: email a made report to the partner's recipients, after a confirmation.

Why it is its own panel: sending is the one action of the report builder that leaves the
building, so it has its own two steps (ask, then confirm) and its own result. It uses the
same delivery code as ``octo deliver`` (:func:`octolib.ops.delivery.deliver_report`: one
email per recipient, recorded in ``deliveries``, never twice unless re-sent) and records who
sent it in ``audit_log``. Without SMTP settings the button is off and says why; the password
is never shown (delivery errors are redacted there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from octolib import audit
from octolib.config import Settings
from octolib.dashboards.widgets import esc, message_html
from octolib.metrics.display import plural

if TYPE_CHECKING:
    from octolib.ops.delivery import DeliveryResult
    from octolib.store import Store

__all__ = ["SendPanel"]


class SendPanel:
    """``send_button`` asks; ``confirm_button`` sends the report :meth:`point_at` names;
    ``result`` shows each recipient's outcome. ``session`` (tests) replaces the SMTP session."""

    def __init__(self, settings: Settings, store_of: Callable[[], Store], analyst: Callable[[], str],
                 guard: Callable[[Callable[..., Any]], Callable[..., Any]], session: Any = None) -> None:
        from octolib.ops.delivery import SmtpConfig

        self.settings = settings
        self._store_of = store_of
        self._analyst = analyst
        self._session = session
        self.config = SmtpConfig.from_settings(settings)
        self.report_id = ""
        self.last: DeliveryResult | None = None
        self.send_button = w.Button(description="Email to the partner…", icon="envelope",
                                    layout=w.Layout(width="200px"), disabled=True)
        self.confirm_button = w.Button(description="Send now", button_style="danger", layout=w.Layout(width="120px"))
        self.cancel_button = w.Button(description="Cancel", layout=w.Layout(width="100px"))
        self.question = w.HTML()
        self.confirm_row = w.HBox([self.question, self.confirm_button, self.cancel_button],
                                  layout=w.Layout(align_items="center", display="none"))
        self.result = w.HTML()
        self.why_off = w.HTML()
        self.send_button.on_click(lambda _: guard(self.ask)())
        self.confirm_button.on_click(lambda _: guard(self.send)())
        self.cancel_button.on_click(lambda _: guard(self.cancel)())
        self.widget = w.VBox([w.HBox([self.send_button, self.why_off], layout=w.Layout(align_items="center")),
                              self.confirm_row, self.result])
        self.point_at("")

    def point_at(self, report_id: str) -> None:
        """The report the button would send (the one previewed); "" for none."""
        self.report_id = report_id
        self.cancel()
        if self.config is None:
            self.send_button.disabled = True
            self.why_off.value = ('<span class="octo-muted">Sending is off: no SMTP server is set '
                                  "(OCTO_SMTP_HOST and OCTO_SMTP_FROM; see the README's settings).</span>")
            return
        self.send_button.disabled = not report_id
        self.why_off.value = "" if report_id else '<span class="octo-muted">Make or pick a report to send it.</span>'

    def _recipients(self) -> tuple[str, list[str]]:
        from octolib.ops.delivery import recipients_for
        from octolib.reports import get_report

        doc = get_report(self._store_of(), self.report_id) or {}
        slug = str(doc.get("partner", ""))
        return slug, recipients_for(self._store_of(), slug) if slug else []

    def ask(self) -> None:
        """Step one: say what would be sent to whom, and wait for the confirmation."""
        if self.config is None or not self.report_id:
            return
        slug, to = self._recipients()
        self.result.value = ""
        if not to:
            self.result.value = message_html("warn", f"Partner {slug} has no recipients: add them on the Partners "
                                                     "page, then send.")
            return
        self.question.value = (f"Send this report to {plural(len(to), 'recipient')} of {esc(slug)} "
                               f"({esc(', '.join(to))}), one email each?&nbsp;")
        self.confirm_row.layout.display = ""
        self.send_button.disabled = True

    def cancel(self) -> None:
        self.confirm_row.layout.display = "none"
        self.question.value = ""
        if self.config is not None:
            self.send_button.disabled = not self.report_id

    def send(self) -> DeliveryResult | None:
        """Step two: send with the delivery code of ``octo deliver``, show and record the result."""
        from octolib.errors import OctoError
        from octolib.ops.delivery import deliver_report, smtp_session

        if self.config is None or not self.report_id:
            return None
        self.confirm_row.layout.display = "none"
        actor = self._analyst()
        store = self._store_of()
        slug, _ = self._recipients()
        try:
            result = deliver_report(store, self.report_id, self.config, user=actor,
                                    session=self._session or smtp_session)
        except OctoError as exc:
            self.result.value = message_html("error", f"Nothing was sent: {exc}")
            audit.record(store, actor=actor, action="emailed_report_to", target=slug, report_id=self.report_id,
                         sent=0, failed=0, error=str(exc))
            self.cancel()
            return None
        self.last = result
        failed = [d for d in result.deliveries if d.status == "failed"]
        skipped = [d for d in result.deliveries if d.status == "skipped"]
        lines = "".join(f"<li>{esc(d.recipient)}: {esc(d.status)}{(' (' + esc(d.error) + ')') if d.error else ''}</li>"
                        for d in result.deliveries)
        kind = "error" if failed else ("ok" if result.sent else "info")
        head = (f"Sent to {plural(len(result.sent), 'recipient')}" + (f", {len(failed)} failed" if failed else "")
                + (f", {len(skipped)} already had it" if skipped else "") + ".")
        self.result.value = message_html(kind, head) + f"<ul class='octo-muted'>{lines}</ul>"
        audit.record(store, actor=actor, action="emailed_report_to", target=slug, report_id=self.report_id,
                     sent=len(result.sent), failed=len(failed), skipped=len(skipped))
        self.cancel()
        return result
