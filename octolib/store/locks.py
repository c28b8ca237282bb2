"""Named locks in the ``locks`` collection, with an expiry, shared by every process.

One document per lock: ``{_id: name, owner: {host, pid, token, ...}, acquired_at,
expires_at}``. A holder refreshes ``expires_at`` while it works (:func:`refresh_lock`).
Another process may take the lock over when it has expired, or at once when the holder was
a process on this same host that no longer exists (a ``kill -9`` must not block the next
sync for the whole expiry).

The embedded store has no multi-document atomicity across processes: two processes taking
over the same expired lock in the same millisecond could both succeed. The read-back check
in :func:`acquire_lock` narrows that window; MongoDB closes it (single-document updates are
atomic there).
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from pymongo.errors import DuplicateKeyError

from octolib.errors import OctoError

__all__ = ["LockHeld", "acquire_lock", "refresh_lock", "release_lock", "lock_owner", "new_owner"]


class LockHeld(OctoError):
    """Raised by :func:`acquire_lock` with the current holder's document.

    An :class:`~octolib.errors.OctoError` like every error octolib raises on purpose, so the
    ``octo`` command prints it as one line (who holds the lock, until when), not a traceback.
    """

    def __init__(self, name: str, holder: dict[str, Any]) -> None:
        owner = holder.get("owner") or {}
        super().__init__(
            f"lock {name!r} is held by {owner.get('label') or owner.get('token')} "
            f"(pid {owner.get('pid')} on {owner.get('host')}) until {holder.get('expires_at')}"
        )
        self.name = name
        self.holder = holder


def new_owner(**extra: Any) -> dict[str, Any]:
    """An owner record for this process: host, pid, a unique token, plus ``extra``."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "token": uuid.uuid4().hex, **extra}


def _aware(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return None


def _holder_is_dead(owner: dict[str, Any]) -> bool:
    if owner.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(owner.get("pid", -1)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError, OverflowError):
        return False
    return False


def lock_owner(collection: Any, name: str) -> dict[str, Any] | None:
    """The lock document, or ``None`` when nobody holds ``name``."""
    return collection.find_one({"_id": name})


def acquire_lock(
    collection: Any, name: str, owner: dict[str, Any], ttl_s: float, *, now: datetime | None = None
) -> dict[str, Any]:
    """Take lock ``name`` for ``owner`` (from :func:`new_owner`) or raise :class:`LockHeld`."""
    now = now or datetime.now(timezone.utc)
    doc = {"_id": name, "owner": owner, "acquired_at": now, "expires_at": now + timedelta(seconds=ttl_s)}
    try:
        collection.insert_one(dict(doc))
    except DuplicateKeyError:
        holder = collection.find_one({"_id": name}) or {}
        expires = _aware(holder.get("expires_at"))
        held_owner = holder.get("owner") or {}
        stale = expires is None or expires <= now or _holder_is_dead(held_owner)
        if not stale:
            raise LockHeld(name, holder) from None
        # Take over only if nobody else did since we looked (same token as we saw).
        result = collection.update_one(
            {"_id": name, "owner.token": held_owner.get("token")},
            {"$set": {"owner": owner, "acquired_at": now, "expires_at": doc["expires_at"],
                      "previous_owner": held_owner}},
        )
        if result.matched_count != 1:
            raise LockHeld(name, collection.find_one({"_id": name}) or {}) from None
    check = collection.find_one({"_id": name}) or {}
    if (check.get("owner") or {}).get("token") != owner["token"]:
        raise LockHeld(name, check)
    return check


def refresh_lock(
    collection: Any, name: str, owner: dict[str, Any], ttl_s: float, *, now: datetime | None = None
) -> bool:
    """Push the expiry of a lock we hold; ``False`` if we no longer hold it."""
    now = now or datetime.now(timezone.utc)
    result = collection.update_one(
        {"_id": name, "owner.token": owner["token"]},
        {"$set": {"expires_at": now + timedelta(seconds=ttl_s)}},
    )
    return result.matched_count == 1


def release_lock(collection: Any, name: str, owner: dict[str, Any]) -> bool:
    """Drop the lock if we hold it."""
    return collection.delete_one({"_id": name, "owner.token": owner["token"]}).deleted_count == 1
