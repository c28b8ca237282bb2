"""Accounts for the login gate: password hashing and policy, lockout, user admin, audit log.

Why a module of its own: the Jupyter identity provider (``octolib.auth.jupyter``), the
``octo user`` command and the demo bootstrap all need the same rules, and the rules must be
testable without a web server. Everything here works on pymongo-API collections passed in
(MongoDB, or the embedded litemongo store), and takes a ``clock`` so tests move time instead
of sleeping.

The ``users`` document (DESIGN.md §3)::

    {"username": "alice",              # lower case, unique
     "email": "", "full_name": "", "role": "analyst",
     "password_hash": "argon2:$argon2id$...",   # never the password
     "is_active": true,
     "created_at": datetime, "created_by": "octo user create",
     "last_login": datetime | None,
     "failed_logins": 0, "failed_since": datetime | None, "locked_until": datetime | None,
     "sessions_valid_after": datetime | None}   # logout/disable/reset end older sessions

Failures per client address live in ``login_attempts`` (``{"_id": "ip:<addr>", ...}``), in
the same database as ``users``. The lockout is per user (``OCTO_LOCKOUT_ATTEMPTS``, 5): one
person mistyping locks only their own account, and the attempt before the lock says so.
An address is locked only at a much higher count (``OCTO_LOCKOUT_ADDRESS_ATTEMPTS``, 50),
so two analysts behind one office address do not lock each other out while a guesser
cycling usernames is still stopped. Failures for usernames that do not exist are counted
too, so the warning and the lock look the same whether or not an account exists. They are
keyed ``{"_id": "name:<HMAC of the name>"}`` with a key that lives only in this process's
memory: what was typed into the username box (sometimes a password) is never stored, and
the stored key cannot be tested against guesses offline. Every login, failure, lockout and logout is one document in
``audit_log`` (``{"at", "event", "username", "client_ip", ...}``), never a password.

Errors::

    OctoError
    └── UserError                 an account operation that cannot be done
        ├── PasswordPolicyError   the new password breaks the policy (reasons listed)
        ├── UserExistsError       create() with a username already taken
        └── UnknownUserError      the username does not exist
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from octolib.errors import OctoError

__all__ = [
    "UserError",
    "PasswordPolicyError",
    "UserExistsError",
    "UnknownUserError",
    "LockoutPolicy",
    "LoginResult",
    "UserStore",
    "MIN_PASSWORD_LENGTH",
    "password_problems",
    "check_password_policy",
    "hash_password",
    "verify_password",
    "generate_password",
    "normalize_username",
    "open_user_store",
    "ensure_demo_user",
]

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 12
# Long enough for any passphrase, short enough that nobody can make the server hash megabytes.
MAX_PASSWORD_LENGTH = 1024
_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_PUBLIC_FIELDS = ("username", "email", "full_name", "role", "is_active", "created_at", "created_by",
                  "last_login", "failed_logins", "locked_until")


class UserError(OctoError):
    """An account operation that cannot be done (message says why and what to do)."""


class PasswordPolicyError(UserError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("password rejected: " + "; ".join(problems))
        self.problems = problems


class UserExistsError(UserError):
    pass


class UnknownUserError(UserError):
    pass


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: Any) -> datetime | None:
    """Datetimes from the store may come back naive (UTC) or aware; compare them as aware."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: ``Alice`` and ``alice`` are one account."""
    return (username or "").strip().lower()


def _character_classes(password: str) -> int:
    classes = [
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ]
    return sum(classes)


def password_problems(username: str, password: str) -> list[str]:
    """What is wrong with ``password`` for ``username`` (empty list: acceptable).

    The policy from issue #8: at least 12 characters, not the username, and not all one
    character class (lower case, upper case, digits, symbols/spaces).

    >>> password_problems("alice", "short")
    ['at least 12 characters are needed (got 5)', 'mix at least two kinds of characters (lower case, upper case, digits, symbols)']
    >>> password_problems("alice", "correct horse battery")
    []
    """
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"at least {MIN_PASSWORD_LENGTH} characters are needed (got {len(password)})")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"at most {MAX_PASSWORD_LENGTH} characters are allowed")
    if username and password.strip().lower() == normalize_username(username):
        problems.append("the password must not be the username")
    if _character_classes(password) < 2:
        problems.append("mix at least two kinds of characters (lower case, upper case, digits, symbols)")
    return problems


def check_password_policy(username: str, password: str) -> None:
    """Raise :class:`PasswordPolicyError` listing every problem, so the user fixes all at once."""
    problems = password_problems(username, password)
    if problems:
        raise PasswordPolicyError(problems)


def hash_password(password: str) -> str:
    """A slow salted hash (argon2id through jupyter_server's own helper).

    jupyter_server already depends on argon2-cffi, and its ``passwd()`` format
    (``argon2:$argon2id$...``) carries the salt and cost parameters, so a later change of
    cost still verifies old hashes.
    """
    from jupyter_server.auth.security import passwd

    return passwd(password, algorithm="argon2")


def verify_password(stored_hash: str, password: str) -> bool:
    """True when ``password`` matches ``stored_hash``; False for any malformed hash."""
    if not stored_hash or not isinstance(stored_hash, str) or not stored_hash.startswith("argon2:"):
        # Only argon2 hashes are ever written; anything else (e.g. an unsalted sha1 from a
        # hand-edited document) is refused rather than trusted.
        return False
    from jupyter_server.auth.security import passwd_check

    try:
        return bool(passwd_check(stored_hash, password))
    except Exception:  # a corrupted hash must fail closed, not crash the login page
        log.warning("unreadable password hash in the users collection; login refused")
        return False


_DUMMY_HASH: str | None = None


def _burn_hash_time(password: str) -> None:
    """Check against a throwaway hash so unknown usernames take as long as known ones."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    verify_password(_DUMMY_HASH, password)


def generate_password(length: int = 20) -> str:
    """A random password that passes the policy (for the demo account and ``--generate``).

    >>> p = generate_password(); len(p) == 20 and password_problems("demo", p) == []
    True
    """
    alphabet = string.ascii_letters + string.digits + "-_.!@#%+="
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(max(length, MIN_PASSWORD_LENGTH)))
        if _character_classes(candidate) >= 3:
            return candidate


@dataclass(frozen=True)
class LockoutPolicy:
    """After ``attempts`` failures for one user within ``minutes``, refuse that user's logins
    for ``minutes``; after ``address_attempts`` failures from one address, refuse that address."""

    attempts: int = 5
    minutes: float = 15.0
    address_attempts: int = 50

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class LoginResult:
    """The outcome of one login attempt.

    ``reason`` is ``"ok"``, ``"bad_credentials"`` (unknown user or wrong password: the form
    says the same for both), ``"disabled"`` or ``"locked"``. ``attempts_left`` is set when
    one more failure will lock (so the form can warn); ``scope`` says what is locked
    (``"user"`` or ``"address"``); ``now`` is when the attempt was judged.
    """

    ok: bool
    reason: str
    username: str = ""
    full_name: str = ""
    locked_until: datetime | None = None
    attempts_left: int | None = None
    scope: str = ""
    now: datetime | None = None

    def message(self) -> str:
        """What the sign-in form says: the same for an unknown user and a wrong password,
        a warning on the attempt before a lock, and how long a lock lasts."""
        if self.reason == "locked":
            who = "from this network address" if self.scope == "address" else "for this account"
            return (f"Too many failed sign-in attempts {who}: sign-in is locked for "
                    f"{_minutes_left(self.locked_until, self.now)}. Ask an admin to reset it sooner.")
        if self.reason == "disabled":
            return "This account is disabled. Ask an admin to enable it."
        if self.reason == "bad_credentials":
            if self.attempts_left == 1:
                return "Invalid username or password. One more failed attempt locks this account for a while."
            return "Invalid username or password."
        return ""


def _minutes_left(until: datetime | None, now: datetime | None) -> str:
    if until is None or now is None:
        return "a while"
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


class UserStore:
    """Users, lockout and audit on top of pymongo-API collections.

    ``attempts`` defaults to the ``login_attempts`` collection of the ``users`` database.
    All writes are single-document updates, so two server processes (Jupyter server and a
    standalone Voilà) can share the store.
    """

    def __init__(
        self,
        users: Any,
        audit_log: Any,
        attempts: Any | None = None,
        *,
        lockout: LockoutPolicy = LockoutPolicy(),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.users = users
        self.audit_log = audit_log
        self.attempts = attempts if attempts is not None else users.database["login_attempts"]
        self.lockout = lockout
        self.clock = clock
        self._owner: Any = None
        self._name_secret = secrets.token_bytes(32)  # never stored: see the module docstring

    def close(self) -> None:
        """Close the store this UserStore opened (see :func:`open_user_store`)."""
        if self._owner is not None:
            self._owner.close()
            self._owner = None

    # -- admin -------------------------------------------------------------------------

    def ensure_indexes(self) -> None:
        """Idempotent: the unique username index that makes ``create`` race-free."""
        self.users.create_index("username", unique=True)

    def create(
        self,
        username: str,
        password: str,
        *,
        full_name: str = "",
        email: str = "",
        role: str = "analyst",
        created_by: str = "",
    ) -> dict[str, Any]:
        """Add an account (there is no sign-up: only operators call this)."""
        name = normalize_username(username)
        if not _USERNAME_RE.match(name):
            raise UserError(
                f"username {username!r} is not valid: use 2-64 characters, lower-case letters, "
                "digits, '.', '_' or '-', starting with a letter or digit"
            )
        check_password_policy(name, password)
        if self.users.find_one({"username": name}, {"_id": 1}) is not None:
            raise UserExistsError(f"user {name!r} already exists; use `octo user reset-password {name}`")
        now = self.clock()
        doc = {
            "username": name,
            "email": email,
            "full_name": full_name,
            "role": role,
            "password_hash": hash_password(password),
            "is_active": True,
            "created_at": now,
            "created_by": created_by,
            "last_login": None,
            "failed_logins": 0,
            "failed_since": None,
            "locked_until": None,
            "sessions_valid_after": None,
        }
        try:
            self.users.insert_one(doc)
        except Exception as exc:  # DuplicateKeyError from a concurrent create
            if type(exc).__name__ == "DuplicateKeyError":
                raise UserExistsError(f"user {name!r} already exists") from None
            raise
        self.audit("user_created", name, by=created_by)
        return self.get(name) or {}

    def get(self, username: str) -> dict[str, Any] | None:
        """The account without its password hash (for listings and the identity provider)."""
        doc = self.users.find_one({"username": normalize_username(username)})
        if doc is None:
            return None
        return {k: doc.get(k) for k in _PUBLIC_FIELDS} | {"sessions_valid_after": doc.get("sessions_valid_after")}

    def list_users(self) -> list[dict[str, Any]]:
        """Every account, sorted by username, without password hashes."""
        docs = self.users.find({}, {"password_hash": 0})
        out = [{k: d.get(k) for k in _PUBLIC_FIELDS} for d in docs]
        return sorted(out, key=lambda d: d["username"] or "")

    def _require(self, username: str) -> str:
        name = normalize_username(username)
        if self.users.find_one({"username": name}, {"_id": 1}) is None:
            raise UnknownUserError(f"no user {name!r}; `octo user list` shows the accounts")
        return name

    def set_password(self, username: str, password: str, *, by: str = "") -> None:
        """Replace the password, clear any lockout and end the user's open sessions."""
        name = self._require(username)
        check_password_policy(name, password)
        now = self.clock()
        self.users.update_one({"username": name}, {"$set": {
            "password_hash": hash_password(password), "failed_logins": 0, "failed_since": None,
            "locked_until": None, "sessions_valid_after": now}})
        self.audit("password_reset", name, by=by)

    def set_active(self, username: str, active: bool, *, by: str = "") -> None:
        """Disable (ends open sessions at once) or re-enable an account; nothing is deleted."""
        name = self._require(username)
        update: dict[str, Any] = {"is_active": bool(active)}
        if not active:
            update["sessions_valid_after"] = self.clock()
        else:
            update.update(failed_logins=0, failed_since=None, locked_until=None)
        self.users.update_one({"username": name}, {"$set": update})
        self.audit("user_enabled" if active else "user_disabled", name, by=by)

    def end_sessions(self, username: str, *, client_ip: str = "", event: str = "logout") -> None:
        """Make every session cookie issued to ``username`` until now invalid (logout)."""
        name = normalize_username(username)
        self.users.update_one({"username": name}, {"$set": {"sessions_valid_after": self.clock()}})
        self.audit(event, name, client_ip=client_ip)

    # -- login -------------------------------------------------------------------------

    def authenticate(self, username: str, password: str, client_ip: str = "") -> LoginResult:
        """Check one login attempt, apply the lockout rules and write the audit record.

        A locked user or address is refused before the password is checked, so guessing
        stops during the lockout; unknown usernames cost the same hashing time as known ones.
        """
        now = self.clock()
        name = normalize_username(username)
        ip_key = f"ip:{client_ip or 'unknown'}"

        ip_doc = self.attempts.find_one({"_id": ip_key}) or {}
        ip_locked = _aware(ip_doc.get("locked_until"))
        if ip_locked and ip_locked > now:
            user = self.users.find_one({"username": name}, {"_id": 1})
            self.audit("login_refused_locked", name if user else None, client_ip=client_ip, scope="ip")
            return LoginResult(False, "locked", name, locked_until=ip_locked, scope="address", now=now)

        user = self.users.find_one({"username": name}) if _USERNAME_RE.match(name) else None
        if user is not None:
            user_locked = _aware(user.get("locked_until"))
            if user_locked and user_locked > now:
                self.audit("login_refused_locked", name, client_ip=client_ip, scope="user")
                return LoginResult(False, "locked", name, locked_until=user_locked, scope="user", now=now)

        name_key = f"name:{hmac.new(self._name_secret, name.encode('utf-8'), hashlib.sha256).hexdigest()}"
        name_doc: Mapping[str, Any] = {}
        if user is None:
            name_doc = self.attempts.find_one({"_id": name_key}) or {}
            name_locked = _aware(name_doc.get("locked_until"))
            if name_locked and name_locked > now:  # looks exactly like a locked account
                self.audit("login_refused_locked", None, client_ip=client_ip, scope="user")
                return LoginResult(False, "locked", name, locked_until=name_locked, scope="user", now=now)
            _burn_hash_time(password)
            ok = False
        else:
            ok = verify_password(user.get("password_hash", ""), password)

        if ok and user is not None and not user.get("is_active", True):
            self.audit("login_refused_disabled", name, client_ip=client_ip)
            return LoginResult(False, "disabled", name)

        if ok and user is not None:
            self.users.update_one({"username": name}, {"$set": {
                "last_login": now, "failed_logins": 0, "failed_since": None, "locked_until": None}})
            self.audit("login", name, client_ip=client_ip)
            return LoginResult(True, "ok", name, full_name=user.get("full_name") or "")

        # A failure: count it for the address and (if the account exists) for the user.
        # Unknown usernames are not stored: a password typed into the username box
        # must not end up in the audit log.
        self.audit("login_failed", name if user else None, client_ip=client_ip,
                   reason="bad_password" if user else "unknown_user")
        ip_until, _ = self._count_failure_ip(ip_key, ip_doc, now, client_ip)
        if user is not None:
            user_until, left = self._count_failure_user(user, now, client_ip)
        else:
            user_until, left = self._count_failure_name(name_key, name_doc, now)
        if user_until:
            return LoginResult(False, "locked", name, locked_until=user_until, scope="user", now=now)
        if ip_until:
            return LoginResult(False, "locked", name, locked_until=ip_until, scope="address", now=now)
        return LoginResult(False, "bad_credentials", name, attempts_left=left, now=now)

    def _next_count(self, count: Any, since: Any, now: datetime) -> tuple[int, datetime]:
        """Failures are counted within one lockout window; older ones are forgotten."""
        since_dt = _aware(since)
        if not since_dt or now - since_dt > self.lockout.window:
            return 1, now
        return int(count or 0) + 1, since_dt

    def _count_failure_ip(self, key: str, doc: Mapping[str, Any], now: datetime,
                          client_ip: str) -> tuple[datetime | None, int]:
        """Count a failure from an address; lock it at ``address_attempts``. Returns (until, left)."""
        return self._count_in_attempts(key, doc, now, self.lockout.address_attempts,
                                       lambda until: self.audit("lockout", None, client_ip=client_ip, scope="ip",
                                                                until=until))

    def _count_failure_name(self, key: str, doc: Mapping[str, Any], now: datetime) -> tuple[datetime | None, int]:
        """Count a failure for a username that does not exist, as if it did (same warning, same lock)."""
        return self._count_in_attempts(key, doc, now, self.lockout.attempts, lambda until: None)

    def _count_in_attempts(self, key: str, doc: Mapping[str, Any], now: datetime, limit: int,
                           on_lock: Callable[[datetime], None]) -> tuple[datetime | None, int]:
        count, since = self._next_count(doc.get("failures"), doc.get("failed_since"), now)
        if count >= limit:
            until = now + self.lockout.window
            self.attempts.update_one({"_id": key}, {"$set": {
                "failures": 0, "failed_since": None, "locked_until": until, "last_failed_at": now}}, upsert=True)
            on_lock(until)
            return until, 0
        self.attempts.update_one({"_id": key}, {"$set": {
            "failures": count, "failed_since": since, "last_failed_at": now}}, upsert=True)
        return None, limit - count

    def _count_failure_user(self, user: Mapping[str, Any], now: datetime,
                            client_ip: str) -> tuple[datetime | None, int]:
        """Count a failed password for an account; lock it at ``attempts``. Returns (until, left)."""
        name = user["username"]
        count, since = self._next_count(user.get("failed_logins"), user.get("failed_since"), now)
        if count >= self.lockout.attempts:
            until = now + self.lockout.window
            self.users.update_one({"username": name}, {"$set": {
                "failed_logins": 0, "failed_since": None, "locked_until": until}})
            self.audit("lockout", name, client_ip=client_ip, scope="user", until=until)
            return until, 0
        self.users.update_one({"username": name}, {"$set": {"failed_logins": count, "failed_since": since}})
        return None, self.lockout.attempts - count

    # -- audit -------------------------------------------------------------------------

    def audit(self, event: str, username: str | None, **fields: Any) -> None:
        """Append one audit record. Callers pass facts only; never a password."""
        doc = {"at": self.clock(), "event": event, "username": username}
        doc.update({k: v for k, v in fields.items() if v not in (None, "")})
        try:
            self.audit_log.insert_one(doc)
        except Exception:  # an audit write must not turn a login into a 500
            log.exception("could not write audit record %s for %s", event, username)
        log.info("auth %s user=%s %s", event, username or "-",
                 " ".join(f"{k}={v}" for k, v in fields.items() if v not in (None, "")))


def open_user_store(settings: Any, *, clock: Callable[[], datetime] = utcnow) -> UserStore:
    """Open the configured store (MongoDB or embedded) and return its :class:`UserStore`.

    ``settings`` is an :class:`octolib.config.Settings`; the lockout numbers come from
    ``OCTO_LOCKOUT_ATTEMPTS`` / ``OCTO_LOCKOUT_MINUTES``. Indexes are ensured on every open
    (idempotent), so a fresh database gets its unique username index before the first user.
    """
    from octolib.store import connect

    store = connect(settings)
    store.ensure_indexes()
    users = UserStore(
        store.users,
        store.audit_log,
        store.login_attempts,
        lockout=LockoutPolicy(settings.lockout_attempts, settings.lockout_minutes,
                              settings.lockout_address_attempts),
        clock=clock,
    )
    users._owner = store
    return users


def ensure_demo_user(users: UserStore, username: str = "demo", *, by: str = "octo demo") -> tuple[str, str]:
    """Create (or re-enable with a new password) the demo account; return its name and password.

    The password is generated fresh each time and only returned, never stored in clear, so
    the caller prints it once (the README's first command does).
    """
    password = generate_password()
    name = normalize_username(username)
    if users.get(name) is None:
        users.create(name, password, full_name="Demo user", role="analyst", created_by=by)
    else:
        users.set_password(name, password, by=by)
        users.set_active(name, True, by=by)
    return name, password
