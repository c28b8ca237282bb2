"""The outcome upload panel: a partner's conversions file, uploaded from the browser.

A small block any page can show (the Campaigns page does): pick the partner, choose the CSV,
press "Upload outcomes". The whole file is checked first (:func:`octolib.conversions.check_outcomes`);
a bad file is refused with every bad row and its line number next to the field, and nothing
is stored. Stored uploads are listed (file, partner, outcomes, who, when) and can be removed
with their conversions. Who: the signed-in analyst (:func:`octolib.dashboards.identity.current_analyst`,
read at the moment of the click), never the server's operating-system user.

Tests drive it without a browser: set ``upload.value`` as ipywidgets' FileUpload does
(``({"name", "content", ...},)``), call :meth:`ConversionUploadPanel.submit`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from octolib.conversions import MAX_FILE_BYTES, OutcomeFileError, import_outcomes, list_uploads, remove_upload
from octolib.dashboards.widgets import esc, fmt_time
from octolib.errors import ConfigError

if TYPE_CHECKING:
    from octolib.store import Store

__all__ = ["ConversionUploadPanel", "conversion_upload_panel"]


def _default_actor() -> str:
    from octolib.dashboards.identity import current_analyst

    return current_analyst()


class ConversionUploadPanel:
    """Controls: ``partner``, ``upload`` (the CSV), ``store_button``, ``remove_choice`` and
    ``remove_button``. Results: ``message`` (HTML next to the file field) and ``uploads``
    (the table of stored uploads). ``on_change`` runs after an upload or removal (the page
    refreshes its conversion columns)."""

    def __init__(self, store: Store, *, actor: Callable[[], str] = _default_actor, tz: str = "UTC",
                 on_change: Callable[[], None] | None = None) -> None:
        self.store = store
        self.actor = actor
        self.tz = tz
        self.on_change = on_change
        self.partner = w.Dropdown(description="Partner", layout=w.Layout(width="320px"))
        self.upload = w.FileUpload(accept=".csv,text/csv", multiple=False, description="Choose CSV",
                                   layout=w.Layout(width="auto"))
        self.store_button = w.Button(description="Upload outcomes", button_style="primary", icon="upload")
        self.message = w.HTML()
        self.uploads = w.HTML()
        self.remove_choice = w.Dropdown(description="Upload", layout=w.Layout(width="420px"))
        self.remove_button = w.Button(description="Remove upload", button_style="danger", icon="trash")
        self.store_button.on_click(lambda _b: self.submit())
        self.remove_button.on_click(lambda _b: self.remove())
        self.upload.observe(lambda _c: self._picked(), "value")
        help_text = ("EmailOctopus reports no conversions: upload the partner's own outcome file (CSV with a header: "
                     "email or contact_id, time, optional value). Each outcome counts for the last campaign of the "
                     "partner the contact clicked within the attribution window before it. The whole file is checked "
                     "first; nothing is stored unless every row is valid.")
        self.widget = w.VBox([
            w.HTML(f'<div class="octo-muted">{esc(help_text)}</div>'),
            w.HBox([self.partner, self.upload, self.store_button], layout=w.Layout(flex_flow="row wrap")),
            self.message,
            self.uploads,
            w.HBox([self.remove_choice, self.remove_button], layout=w.Layout(flex_flow="row wrap")),
        ])
        self.widget.add_class("octo-conversions")
        self.refresh()

    # -- state ------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the partners and the stored uploads."""
        slugs = [(d.get("name") or d["slug"], d["slug"]) for d in
                 self.store.partners.find({}, {"_id": 0, "slug": 1, "name": 1}).sort("slug", 1)]
        keep = self.partner.value if self.partner.value in {s for _, s in slugs} else (slugs[0][1] if slugs else None)
        self.partner.options = slugs
        self.partner.value = keep
        uploads = list_uploads(self.store)
        if not uploads:
            self.uploads.value = '<div class="octo-empty" data-uploads="0">No outcome file uploaded yet.</div>'
        else:
            rows = "".join(
                f"<tr><td>{esc(u.filename)}</td><td>{esc(u.partner)}</td><td class='num'>{u.rows:,}</td>"
                f"<td>{esc(u.uploaded_by)}</td><td>{esc(fmt_time(u.uploaded_at, self.tz))}</td>"
                f"<td>{esc(u.upload_id)}</td></tr>" for u in uploads)
            self.uploads.value = (f'<table class="octo-table" data-uploads="{len(uploads)}"><thead><tr><th>File</th>'
                                  "<th>Partner</th><th class='num'>Outcomes</th><th>Uploaded by</th><th>When</th>"
                                  f"<th>Id</th></tr></thead><tbody>{rows}</tbody></table>")
        keep_upload = self.remove_choice.value
        self.remove_choice.options = [(f"{u.filename} ({u.partner}, {fmt_time(u.uploaded_at, self.tz)})", u.upload_id)
                                      for u in uploads]
        ids = [u.upload_id for u in uploads]
        self.remove_choice.value = keep_upload if keep_upload in ids else (ids[0] if ids else None)
        self.remove_button.disabled = not uploads
        self.store_button.disabled = not slugs or not self._file()

    def _file(self) -> dict[str, Any] | None:
        value = self.upload.value
        return dict(value[0]) if value else None

    def _picked(self) -> None:
        f = self._file()
        self.store_button.disabled = not self.partner.options or f is None
        if f is not None and int(f.get("size") or len(bytes(f["content"]))) > MAX_FILE_BYTES:
            self._say("error", f"{f['name']} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split the file.")
        else:
            self._say("", "")

    def _say(self, kind: str, text: str, lines: list[str] | None = None) -> None:
        if not text:
            self.message.value = ""
            return
        items = "".join(f"<li>{esc(x)}</li>" for x in lines or [])
        self.message.value = (f'<div class="octo-msg {esc(kind)}" role="status" data-kind="{esc(kind)}">{esc(text)}'
                              + (f"<ul>{items}</ul>" if items else "") + "</div>")

    # -- actions ----------------------------------------------------------------------------

    def submit(self) -> bool:
        """Check and store the chosen file for the chosen partner; True when stored."""
        f = self._file()
        if not self.partner.value:
            self._say("error", "Choose the partner whose outcomes these are.")
            return False
        if f is None:
            self._say("error", "Choose the outcome CSV file first.")
            return False
        try:
            upload = import_outcomes(self.store, self.partner.value, bytes(f["content"]), filename=str(f["name"]),
                                     actor=self.actor(), tz=self.tz)
        except OutcomeFileError as exc:
            shown = [f"line {n}: {m}" if n else m for n, m in exc.problems[:20]]
            more = len(exc.problems) - len(shown)
            self._say("error", f"{exc.filename}: {len(exc.problems)} problem{'s' if len(exc.problems) != 1 else ''}, "
                               "nothing was stored.", shown + ([f"... and {more} more"] if more else []))
            return False
        except ConfigError as exc:
            self._say("error", str(exc))
            return False
        self.upload.value = ()
        self._say("ok", f"Stored {upload.rows:,} outcomes of {upload.filename} for {upload.partner} "
                        f"(upload {upload.upload_id}, by {upload.uploaded_by}).")
        self.refresh()
        if self.on_change is not None:
            self.on_change()
        return True

    def remove(self) -> bool:
        """Remove the chosen upload and its conversions; True when removed."""
        if not self.remove_choice.value:
            self._say("error", "Choose the upload to remove.")
            return False
        try:
            u = remove_upload(self.store, str(self.remove_choice.value), actor=self.actor())
        except ConfigError as exc:
            self._say("error", str(exc))
            return False
        self._say("ok", f"Removed {u.filename} ({u.rows:,} outcomes) of {u.partner}.")
        self.refresh()
        if self.on_change is not None:
            self.on_change()
        return True


def conversion_upload_panel(store: Store, *, actor: Callable[[], str] = _default_actor, tz: str = "UTC",
                            on_change: Callable[[], None] | None = None) -> ConversionUploadPanel:
    """The upload panel over ``store``; show ``panel.widget`` in a page."""
    return ConversionUploadPanel(store, actor=actor, tz=tz, on_change=on_change)
