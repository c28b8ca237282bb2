"""Delivery: email a finished report PDF to the partner's recipients, and remember who got what.

Optional per partner: a partner document with ``delivery: true`` has its scheduled reports
sent automatically (see :mod:`octolib.ops.scheduler`); any report can be sent or re-sent by
hand with ``octo deliver``. Nothing is ever sent when SMTP is not configured
(``OCTO_SMTP_HOST`` empty): :meth:`SmtpConfig.from_settings` returns ``None`` and
:func:`deliver_report` refuses with a message.

One email per recipient, so recipients do not see each other's addresses and each delivery
is recorded on its own. Every attempt is a document in the ``deliveries`` collection::

    {"report_id", "batch_id", "partner", "template", "template_version", "period",
     "pdf_file", "pdf_sha256",             # which version: the exact bytes that were attached
     "recipient", "status": "sent" | "failed", "error", "message_id",
     "sent_at", "resend": bool, "smtp_host", "user"}

A report already sent to a recipient is not sent to them again unless ``resend=True``, so
re-running a batch's delivery after a crash does not mail partners twice.

Security: the SMTP password is never logged nor put in a message; with
``OCTO_SMTP_STARTTLS=1`` (the default) a server that does not offer STARTTLS is refused
rather than sent the password in clear; port 465 uses implicit TLS.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from octolib.config import Settings
from octolib.errors import OctoError, redact
from octolib.store import Store
from octolib.store.core import DELIVERIES

__all__ = [
    "DELIVERIES",
    "DeliveryError",
    "SmtpConfig",
    "Delivery",
    "DeliveryResult",
    "smtp_session",
    "build_message",
    "deliver_report",
    "deliver_reports",
    "delivery_enabled",
    "recipients_for",
    "delivery_history",
    "ensure_delivery_indexes",
]

log = logging.getLogger(__name__)

IMPLICIT_TLS_PORT = 465


class DeliveryError(OctoError):
    """A report cannot be sent (SMTP not configured or unreachable, no PDF, no recipient)."""


@dataclass(frozen=True)
class SmtpConfig:
    """How to reach the SMTP server. ``ssl_context`` lets tests trust their own certificate."""

    host: str
    port: int = 587
    user: str = ""
    password: str = field(default="", repr=False)
    sender: str = ""
    starttls: bool = True
    timeout_s: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpConfig | None":
        """The config from ``OCTO_SMTP_*``, or ``None`` when ``OCTO_SMTP_HOST`` is empty (delivery off)."""
        if not settings.smtp_host:
            return None
        return cls(host=settings.smtp_host, port=settings.smtp_port, user=settings.smtp_user,
                   password=settings.smtp_password, sender=settings.smtp_from, starttls=settings.smtp_starttls,
                   timeout_s=settings.timeout_s)

    @property
    def from_address(self) -> str:
        sender = self.sender or self.user
        if "@" not in sender:
            raise DeliveryError("no sender address: set OCTO_SMTP_FROM (e.g. reports@yourcompany.example)")
        return sender

    def describe(self) -> str:
        security = "implicit TLS" if self.port == IMPLICIT_TLS_PORT else ("STARTTLS" if self.starttls else "no TLS")
        who = f" as {self.user}" if self.user else ""
        return f"{self.host}:{self.port} ({security}){who}"


@contextlib.contextmanager
def smtp_session(config: SmtpConfig) -> Iterator[smtplib.SMTP]:
    """An SMTP connection, upgraded to TLS and logged in as the config says; closed after use.

    Raises :class:`DeliveryError` with a one-line reason (never the password).
    """
    context = config.ssl_context or ssl.create_default_context()
    where = config.describe()
    try:
        if config.port == IMPLICIT_TLS_PORT:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"cannot reach the SMTP server {where}: {redact(str(exc), config.password)}") from None
    try:
        smtp.ehlo()
        if config.port != IMPLICIT_TLS_PORT and config.starttls:
            if not smtp.has_extn("starttls"):
                raise DeliveryError(f"the SMTP server {where} does not offer STARTTLS; refusing to send in clear. "
                                    "Set OCTO_SMTP_STARTTLS=0 only for a trusted relay on this machine")
            smtp.starttls(context=context)
            smtp.ehlo()
        if config.user:
            try:
                smtp.login(config.user, config.password)
            except smtplib.SMTPAuthenticationError as exc:
                raise DeliveryError(f"the SMTP server {where} refused the login (check OCTO_SMTP_USER and "
                                    f"OCTO_SMTP_PASSWORD): {exc.smtp_code} "
                                    f"{redact(_reply_text(exc.smtp_error), config.password)}") from None
        yield smtp
    except DeliveryError:
        raise
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP conversation with {where} failed: {redact(str(exc), config.password)}") from None
    finally:
        with contextlib.suppress(Exception):
            smtp.quit()


@dataclass
class Delivery:
    """One recipient of one report."""

    recipient: str
    status: str  # sent | failed | skipped
    error: str = ""
    message_id: str = ""
    at: datetime | None = None


@dataclass
class DeliveryResult:
    report_id: str
    partner: str
    pdf_sha256: str
    deliveries: list[Delivery]

    @property
    def ok(self) -> bool:
        return all(d.status != "failed" for d in self.deliveries)

    @property
    def sent(self) -> list[str]:
        return [d.recipient for d in self.deliveries if d.status == "sent"]

    def summary(self) -> str:
        lines = [f"report {self.report_id} ({self.partner}), PDF sha256 {self.pdf_sha256[:12]}:"]
        for d in self.deliveries:
            extra = f" ({d.error})" if d.error else ""
            lines.append(f"  {d.status:<7} {d.recipient}{extra}")
        return "\n".join(lines)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def ensure_delivery_indexes(store: Store) -> None:
    """Indexes of ``deliveries``: by report and recipient (the re-send check), and by time."""
    coll = store.deliveries
    coll.create_index([("report_id", 1), ("recipient", 1), ("status", 1)])
    coll.create_index([("partner", 1), ("sent_at", -1)])


def _partner_doc(store: Store, slug: str) -> Mapping[str, Any]:
    # Read leniently (no validation): delivery only needs the name, recipients and the flag.
    return store.partners.find_one({"slug": slug}, {"_id": 0}) or {}


def delivery_enabled(partner: Mapping[str, Any]) -> bool:
    """Whether the partner document asks for its scheduled reports to be emailed (``delivery: true``)."""
    value = partner.get("delivery")
    if isinstance(value, Mapping):
        value = value.get("enabled", False)
    return value is True or (isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"})


def recipients_for(store: Store, slug: str) -> list[str]:
    """The partner's ``recipients`` (deduplicated, in order)."""
    raw = _partner_doc(store, slug).get("recipients") or []
    if isinstance(raw, str):
        raw = [raw]
    return list(dict.fromkeys(str(r).strip() for r in raw if str(r).strip()))


def _report(store: Store, report_id: str, reports_root: Path | None) -> tuple[Mapping[str, Any], Path]:
    doc = store.reports.find_one({"report_id": report_id}, {"_id": 0})
    if doc is None:
        raise DeliveryError(f"no report {report_id!r}; list reports with `octo report --list` or the report builder")
    if doc.get("status") != "succeeded":
        raise DeliveryError(f"report {report_id} {doc.get('status', 'has no status')}: only a finished report is sent")
    rel = (doc.get("files") or {}).get("pdf")
    root = doc.get("files_root") or (str(reports_root) if reports_root else "")
    if not rel or not root:
        raise DeliveryError(f"report {report_id} has no PDF on record")
    path = Path(root) / rel
    if not path.is_file():
        raise DeliveryError(f"the PDF of report {report_id} is missing: {path}")
    return doc, path


def build_message(report: Mapping[str, Any], partner: Mapping[str, Any], pdf: bytes, pdf_name: str,
                  sender: str, recipient: str, *, now: datetime, pdf_sha256: str) -> EmailMessage:
    """The email for one recipient: a short note and the PDF attached.

    Headers ``X-Octopus-Report`` and ``X-Octopus-PDF-SHA256`` say exactly which report and
    which bytes were sent, for anyone tracing a complaint from the partner's inbox.
    """
    name = str(partner.get("name") or report.get("partner") or "")
    period = report.get("period") or {}
    span = f"{period.get('from')} to {period.get('to')}" if period.get("from") else ""
    msg = EmailMessage()
    msg["Subject"] = f"{name}: email campaign report" + (f", {span}" if span else "")
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    msg["X-Octopus-Report"] = str(report.get("report_id", ""))
    msg["X-Octopus-PDF-SHA256"] = pdf_sha256
    as_of = report.get("data_as_of")
    body = [
        "Hello,",
        "",
        f"Attached is the {report.get('template', '')} report for {name}" + (f", covering {span}" if span else "") + ".",
    ]
    if isinstance(as_of, datetime):
        body.append(f"The figures are as of {as_of.strftime('%Y-%m-%d %H:%M')} UTC.")
    body += ["", "This email was sent automatically; reply to reach the team that prepared it."]
    msg.set_content("\n".join(body) + "\n")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=pdf_name)
    return msg


def _already_sent(store: Store, report_id: str, recipient: str) -> Mapping[str, Any] | None:
    return store.deliveries.find_one({"report_id": report_id, "recipient": recipient, "status": "sent"},
                                         sort=[("sent_at", -1)])


def deliver_report(
    store: Store,
    report_id: str,
    config: SmtpConfig | None,
    *,
    recipients: Iterable[str] | None = None,
    resend: bool = False,
    user: str = "",
    reports_root: Path | None = None,
    clock: Callable[[], datetime] = _utcnow,
    session: Callable[[SmtpConfig], Any] = smtp_session,
) -> DeliveryResult:
    """Email report ``report_id``'s PDF to ``recipients`` (default: the partner's) and record each.

    Recipients who already received this report are skipped unless ``resend``. A recipient
    the server refuses is recorded as failed and the others still get theirs. Raises
    :class:`DeliveryError` (nothing sent) when SMTP is not configured, the report has no
    PDF, there is no recipient, or the server cannot be reached.
    """
    if config is None:
        raise DeliveryError("SMTP is not configured (OCTO_SMTP_HOST is empty): nothing was sent")
    report, pdf_path = _report(store, report_id, reports_root)
    slug = str(report.get("partner", ""))
    partner = _partner_doc(store, slug)
    to = list(dict.fromkeys(r.strip() for r in recipients if r.strip())) if recipients is not None else recipients_for(store, slug)
    if not to:
        raise DeliveryError(f"partner {slug!r} has no recipients: add `recipients:` to it in partners.yml, or pass --to")
    sender = config.from_address
    pdf = pdf_path.read_bytes()
    sha = hashlib.sha256(pdf).hexdigest()
    period = report.get("period") or {}
    pdf_name = f"{slug}-{report.get('template', 'report')}" + (f"-{period['to']}" if period.get("to") else "") + ".pdf"
    ensure_delivery_indexes(store)
    result = DeliveryResult(report_id, slug, sha, [])
    todo = []
    for r in to:
        previous = None if resend else _already_sent(store, report_id, r)
        if previous is not None:
            result.deliveries.append(Delivery(r, "skipped", f"already sent {previous.get('sent_at')}"))
        else:
            todo.append(r)
    if not todo:
        return result
    base = {
        "report_id": report_id, "batch_id": report.get("batch_id", ""), "partner": slug,
        "template": report.get("template", ""), "template_version": report.get("template_version", ""),
        "period": dict(period), "pdf_file": str(pdf_path), "pdf_sha256": sha, "resend": bool(resend),
        "smtp_host": config.host, "user": user,
    }
    with session(config) as smtp:
        for r in todo:
            now = clock()
            msg = build_message(report, partner, pdf, pdf_name, sender, r, now=now, pdf_sha256=sha)
            delivery = Delivery(r, "sent", message_id=str(msg["Message-ID"]), at=now)
            try:
                refused = smtp.send_message(msg, from_addr=sender, to_addrs=[r])
                if refused:
                    delivery.status, delivery.error = "failed", f"refused: {refused}"
            except smtplib.SMTPRecipientsRefused as exc:
                delivery.status, delivery.error = "failed", _smtp_reason(exc.recipients.get(r), exc)
            except smtplib.SMTPResponseException as exc:
                delivery.status, delivery.error = "failed", f"{exc.smtp_code} {_reply_text(exc.smtp_error)}"
            except (OSError, smtplib.SMTPException) as exc:
                delivery.status, delivery.error = "failed", redact(str(exc), config.password)
            store.deliveries.insert_one({**base, "recipient": r, "status": delivery.status,
                                             "error": delivery.error, "message_id": delivery.message_id,
                                             "sent_at": now})
            level = logging.INFO if delivery.status == "sent" else logging.WARNING
            log.log(level, "report %s to %s: %s %s", report_id, r, delivery.status, delivery.error)
            result.deliveries.append(delivery)
    return result


def _reply_text(text: bytes | str) -> str:
    """An SMTP reply's text (bytes from smtplib; typeshed allows str too)."""
    return text.decode(errors="replace") if isinstance(text, bytes) else text


def _smtp_reason(reply: Any, exc: Exception) -> str:
    if isinstance(reply, tuple) and len(reply) == 2:
        code, text = reply
        return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
    return str(exc)


def deliver_reports(
    store: Store,
    report_ids: Iterable[str],
    config: SmtpConfig | None,
    *,
    only_enabled: bool = True,
    **kwargs: Any,
) -> list[DeliveryResult]:
    """Deliver several finished reports (a scheduled batch); one failing report does not stop the rest.

    With ``only_enabled`` only partners whose document says ``delivery: true`` are mailed.
    Returns nothing, and logs why, when SMTP is not configured.
    """
    if config is None:
        log.info("delivery skipped: SMTP is not configured (OCTO_SMTP_HOST is empty)")
        return []
    results = []
    for report_id in report_ids:
        doc = store.reports.find_one({"report_id": report_id}, {"partner": 1, "status": 1, "_id": 0}) or {}
        if doc.get("status") != "succeeded":
            continue
        if only_enabled and not delivery_enabled(_partner_doc(store, str(doc.get("partner", "")))):
            continue
        try:
            results.append(deliver_report(store, report_id, config, **kwargs))
        except DeliveryError as exc:
            log.error("delivery of report %s failed: %s", report_id, exc)
            results.append(DeliveryResult(report_id, str(doc.get("partner", "")), "",
                                          [Delivery("", "failed", str(exc))]))
    return results


def delivery_history(store: Store, *, partner: str | None = None, report_id: str | None = None,
                     limit: int = 50) -> list[dict[str, Any]]:
    """Past delivery attempts, newest first: who got which report (and PDF version) when."""
    query: dict[str, Any] = {}
    if partner:
        query["partner"] = partner
    if report_id:
        query["report_id"] = report_id
    cursor = store.deliveries.find(query, {"_id": 0}).sort([("sent_at", -1)]).limit(int(limit))
    return list(cursor)
