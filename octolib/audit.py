"""Who did what: one append-only ``audit_log`` for sign-ins and for analysts' actions.

Why one collection: the login gate already writes every sign-in, failure and lockout to
``audit_log`` (:meth:`octolib.auth.users.UserStore.audit`); syncs started from a page,
reports, partner changes, uploads and deliveries go to the same place, so one list answers
"who did what, when". The documents keep the sign-in shape, so old and new records read
alike::

    {"at": datetime (UTC),
     "event": "partner_created",      # the action, snake_case
     "username": "alice",             # the signed-in analyst (the actor)
     "target": "acme",                # what it was done to (a partner slug, a report id), or absent
     "details": {"template": "..."}}  # facts only, never a password or key

Secrets never enter: detail keys that name a secret (password, key, token, secret) are
refused with :class:`AuditError` rather than stored, so a careless caller fails in tests,
not in production logs. Writing a record never breaks the action it records: a store
failure is logged and swallowed (like the sign-in records).

:func:`describe` turns a record into a sentence for the activity list ("alice created
partner acme"), so every surface says it the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from octolib.errors import OctoError

__all__ = ["AuditError", "AuditRecord", "record", "recent", "describe", "ACTIONS"]

log = logging.getLogger(__name__)

#: Words that may not appear in a detail key: the value would be a secret.
_SECRET_WORDS = ("password", "passwd", "secret", "token", "api_key", "apikey")

#: How each action reads in a sentence: "<who> <verb> <target>". Actions not listed read as
#: their name with spaces ("<who> <action> <target>").
ACTIONS: dict[str, str] = {
    # sign-in records written by octolib.auth.users
    "login": "signed in",
    "logout": "signed out",
    "login_failed": "failed to sign in",
    "login_refused_locked": "was refused sign-in (locked)",
    "login_refused_disabled": "was refused sign-in (account disabled)",
    "lockout": "was locked out",
    "user_created": "was given an account",
    "password_reset": "had the password reset",
    "user_enabled": "had the account enabled",
    "user_disabled": "had the account disabled",
    # analysts' actions
    "sync_started": "started a sync",
    "report_made": "made a report for",
    "report_failed": "tried to make a report for",
    "partner_created": "created partner",
    "partner_updated": "changed partner",
    "partner_archived": "archived partner",
    "partner_restored": "restored partner",
    "partners_imported": "imported partners from",
    "partner_logo_set": "set the logo of partner",
    # conversions (octolib.conversions)
    "conversions_uploaded": "uploaded an outcome file for",
    "conversions_removed": "removed an outcome file of",
    # custom reports and sending from the report builder
    "saved_preset_for": "saved the report preset of",
    "emailed_report_to": "emailed a report to",
    # flags (octolib.dashboards.flag_review)
    "flag_dismissed": "dismissed the flag",
    "flag_restored": "restored the dismissed flag",
}


class AuditError(OctoError):
    """A record that must not be written (a detail that would hold a secret)."""


@dataclass(frozen=True)
class AuditRecord:
    """One ``audit_log`` document, read back."""

    at: datetime | None
    action: str
    actor: str | None
    target: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sentence(self) -> str:
        return describe(self)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _check_details(details: Mapping[str, Any]) -> None:
    for key in details:
        lowered = key.lower()
        if lowered == "key" or any(word in lowered for word in _SECRET_WORDS):
            raise AuditError(f"audit detail {key!r} looks like a secret; audit records hold facts only")


def record(store: Any, *, actor: str, action: str, target: str | None = None,
           clock: Callable[[], datetime] = utcnow, **details: Any) -> None:
    """Append one record: ``actor`` (the signed-in analyst) did ``action`` to ``target``.

    ``store`` is an :class:`octolib.store.Store` (anything with an ``audit_log``
    collection). ``details`` are facts (counts, a template name, changed field names); a key
    that names a secret raises :class:`AuditError` before anything is written. A failing
    write is logged, never raised: the action it records has already happened.
    """
    if not action:
        raise AuditError("an audit record needs an action")
    _check_details(details)
    doc: dict[str, Any] = {"at": clock(), "event": action, "username": actor}
    if target is not None:
        doc["target"] = target
    clean = {k: v for k, v in details.items() if v is not None}
    if clean:
        doc["details"] = clean
    try:
        store.audit_log.insert_one(doc)
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("could not write audit record %s by %s", action, actor)
        return
    log.info("audit %s by=%s target=%s", action, actor, target or "-")


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _from_doc(doc: Mapping[str, Any]) -> AuditRecord:
    details = dict(doc.get("details") or {})
    # Sign-in records keep their facts at the top level (client_ip, scope, by, until).
    for key, value in doc.items():
        if key not in ("_id", "at", "event", "username", "target", "details"):
            details.setdefault(key, value)
    return AuditRecord(at=_aware(doc.get("at")), action=str(doc.get("event") or ""),
                       actor=doc.get("username"), target=doc.get("target"), details=details)


def recent(store: Any, limit: int = 50, *, actions: tuple[str, ...] | None = None) -> list[AuditRecord]:
    """The latest ``limit`` records, newest first (``actions``: only those events)."""
    query: dict[str, Any] = {"event": {"$in": list(actions)}} if actions else {}
    # _id breaks ties of one instant (two records of one click), so newest first holds
    docs = store.audit_log.find(query).sort([("at", -1), ("_id", -1)]).limit(int(limit))
    return [_from_doc(d) for d in docs]


def describe(rec: AuditRecord) -> str:
    """A record as a sentence: ``alice created partner acme``.

    >>> describe(AuditRecord(None, "partner_created", "alice", "acme"))
    'alice created partner acme'
    >>> describe(AuditRecord(None, "sync_started", "bob", None, {"full": True}))
    'bob started a sync (full)'
    >>> describe(AuditRecord(None, "login_failed", None, None, {"client_ip": "10.0.0.1"}))
    'someone failed to sign in from 10.0.0.1'
    """
    who = rec.actor or "someone"
    verb = ACTIONS.get(rec.action, rec.action.replace("_", " "))
    text = f"{who} {verb}"
    if rec.target:
        text += f" {rec.target}"
    details = rec.details
    if rec.action == "sync_started" and details.get("full"):
        text += " (full)"
    if rec.action.startswith("report_") and details.get("template"):
        text += f" ({details['template']}"
        if details.get("period"):
            text += f", {details['period']}"
        text += ")"
    if rec.action == "partners_imported" and details.get("count") is not None:
        text += f" ({details['count']})"
    if rec.action == "partner_updated" and details.get("fields"):
        fields = details["fields"]
        if isinstance(fields, (list, tuple)):
            text += ": " + ", ".join(str(f) for f in fields)
    if details.get("client_ip"):
        text += f" from {details['client_ip']}"
    if details.get("by") and details.get("by") != rec.actor:
        text += f" (by {details['by']})"
    return text
