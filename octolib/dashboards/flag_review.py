"""Dismissed flags: an analyst says "seen, nothing to do", and the flag stops asking.

Why the audit log holds them: a dismissal is an action by a signed-in analyst, and who
dismissed what and when is exactly an audit record (:func:`octolib.audit.record`, action
``flag_dismissed``, target the flag's key). The key (campaign id + rule,
:class:`octolib.metrics.flags.Flag`) does not change when new data arrives, so a dismissed
flag stays dismissed after any later sync; the record also keeps the sentence as it read
when it was dismissed.

A dismissal can be undone ("Restore", action ``flag_restored``, audited the same way): the
log stays append-only, and a flag is dismissed when its latest record is a dismissal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from octolib import audit
from octolib.metrics.flags import Flag

__all__ = ["DISMISSED", "RESTORED", "Dismissal", "dismissals", "dismiss", "restore", "dismissed_text"]

DISMISSED = "flag_dismissed"
RESTORED = "flag_restored"
#: Dismissals read back at most (the audit log is append-only; more than this would be a
#: sign that flags are dismissed wholesale, which the thresholds should fix instead).
LIMIT = 100_000

Dismissal = audit.AuditRecord


def dismissals(store: Any) -> dict[str, Dismissal]:
    """Flag key → its dismissal record (who and when), for the flags dismissed now: those whose
    latest dismissal or restore record is a dismissal."""
    latest: dict[str, Dismissal] = {}
    for rec in audit.recent(store, LIMIT, actions=(DISMISSED, RESTORED)):  # newest first
        if rec.target and rec.target not in latest:
            latest[rec.target] = rec
    return {key: rec for key, rec in latest.items() if rec.action == DISMISSED}


def dismiss(store: Any, flag: Flag, actor: str, clock: Any = None) -> None:
    """Record that ``actor`` dismissed ``flag`` (with the campaign and the sentence it showed)."""
    kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
    audit.record(store, actor=actor, action=DISMISSED, target=flag.key, campaign=flag.campaign, rule=flag.rule,
                 text=flag.text, **kwargs)


def restore(store: Any, flag: Flag, actor: str, clock: Any = None) -> None:
    """Record that ``actor`` undid the dismissal of ``flag``: it is shown again."""
    kwargs: dict[str, Any] = {"clock": clock} if clock is not None else {}
    audit.record(store, actor=actor, action=RESTORED, target=flag.key, campaign=flag.campaign, rule=flag.rule,
                 text=flag.text, **kwargs)


def dismissed_text(rec: Dismissal) -> str:
    """"dismissed by alice on 2026-11-30 18:02 UTC"."""
    when = rec.at.strftime("%Y-%m-%d %H:%M UTC") if isinstance(rec.at, datetime) else "?"
    return f"dismissed by {rec.actor or 'someone'} on {when}"
