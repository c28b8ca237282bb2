"""Accounts: password policy and hashing, lockout per user and per address, admin, audit.

Runs on the embedded store (litemongo) in tmp_path with a fake clock: lockout expiry is
tested by moving the clock, never by sleeping.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import litemongo
import pytest

from octolib.auth.users import (
    LockoutPolicy,
    PasswordPolicyError,
    UnknownUserError,
    UserError,
    UserExistsError,
    UserStore,
    ensure_demo_user,
    generate_password,
    hash_password,
    open_user_store,
    password_problems,
    verify_password,
)
from octolib.config import Settings

GOOD = "Tangerine-Rocket-77"


@pytest.fixture
def store(tmp_path, clock) -> UserStore:
    db = litemongo.connect(str(tmp_path / "db"), tz_aware=True)["octopus"]
    users = UserStore(db["users"], db["audit_log"], db["login_attempts"],
                      lockout=LockoutPolicy(attempts=5, minutes=15), clock=clock)
    users.ensure_indexes()
    return users


@pytest.fixture
def alice(store) -> str:
    store.create("alice", GOOD, full_name="Alice A", created_by="test")
    return "alice"


# -- policy and hashing ------------------------------------------------------------------

@pytest.mark.parametrize("password,fragment", [
    ("Short-1", "12 characters"),
    ("alllowercaseletters", "two kinds"),
    ("ALLUPPERCASELETTERS", "two kinds"),
    ("123456789012345", "two kinds"),
    ("!!!!!!!!!!!!!!!!", "two kinds"),
    ("Alice.Example", None),   # fine for another user, but see the username case below
])
def test_password_policy(password, fragment):
    problems = password_problems("bob", password)
    if fragment is None:
        assert problems == []
    else:
        assert any(fragment in p for p in problems), problems


def test_password_may_not_be_the_username_in_any_case():
    assert any("username" in p for p in password_problems("alice.example", "Alice.Example"))


def test_generated_passwords_pass_the_policy_and_differ():
    seen = {generate_password() for _ in range(20)}
    assert len(seen) == 20
    assert all(password_problems("demo", p) == [] for p in seen)


def test_stored_hash_is_slow_salted_and_not_the_password(store, alice):
    doc = store.users.find_one({"username": "alice"})
    stored = doc["password_hash"]
    assert GOOD not in stored
    assert stored.startswith("argon2:$argon2id$")
    # Salted: the same password hashes differently each time, and both verify.
    other = hash_password(GOOD)
    assert other != stored
    assert verify_password(stored, GOOD) and verify_password(other, GOOD)
    assert not verify_password(stored, GOOD + "x")


@pytest.mark.parametrize("bad_hash", ["", "sha1:abc:def", "argon2:not-a-hash", None, 42])
def test_malformed_hashes_fail_closed(bad_hash):
    # Whatever is in the document, verification answers False and does not raise.
    assert verify_password(bad_hash, GOOD) is False  # type: ignore[arg-type]


def test_hash_check_is_well_under_a_second():
    h = hash_password(GOOD)
    t0 = time.perf_counter()
    assert verify_password(h, GOOD)
    assert time.perf_counter() - t0 < 1.0


# -- admin -------------------------------------------------------------------------------

def test_create_rejects_bad_names_weak_passwords_and_duplicates(store, alice):
    with pytest.raises(UserError, match="not valid"):
        store.create("x y", GOOD)
    with pytest.raises(PasswordPolicyError) as err:
        store.create("bob", "bob")
    assert len(err.value.problems) >= 2  # every problem listed at once
    with pytest.raises(UserExistsError):
        store.create("ALICE", GOOD)  # usernames are case-insensitive
    assert [u["username"] for u in store.list_users()] == ["alice"]


def test_unique_index_stops_a_racing_duplicate(store, alice):
    # Another process inserting the same name directly hits the unique index.
    with pytest.raises(Exception) as err:
        store.users.insert_one({"username": "alice"})
    assert type(err.value).__name__ == "DuplicateKeyError"


def test_listing_never_shows_hashes(store, alice):
    listed = store.list_users()
    assert listed and all("password_hash" not in u for u in listed)
    assert "password_hash" not in (store.get("alice") or {})


def test_unknown_user_operations_name_the_fix(store):
    with pytest.raises(UnknownUserError, match="octo user list"):
        store.set_active("ghost", False)


def test_disable_and_enable(store, alice, clock):
    store.set_active("alice", False, by="admin")
    assert store.authenticate("alice", GOOD, "10.0.0.1").reason == "disabled"
    assert store.get("alice")["sessions_valid_after"] is not None
    store.set_active("alice", True, by="admin")
    assert store.authenticate("alice", GOOD, "10.0.0.1").ok


def test_reset_password_changes_hash_and_ends_sessions(store, alice, clock):
    before = store.users.find_one({"username": "alice"})["password_hash"]
    clock.advance(minutes=1)
    store.set_password("alice", "Another-Good-Pass-9", by="admin")
    doc = store.users.find_one({"username": "alice"})
    assert doc["password_hash"] != before
    assert doc["sessions_valid_after"].replace(tzinfo=timezone.utc) == clock.now.replace(microsecond=clock.now.microsecond // 1000 * 1000)
    assert not store.authenticate("alice", GOOD, "10.0.0.1").ok
    assert store.authenticate("alice", "Another-Good-Pass-9", "10.0.0.1").ok


def test_demo_user_gets_a_fresh_working_password_each_time(store):
    name, first = ensure_demo_user(store)
    again, second = ensure_demo_user(store)
    assert name == again == "demo" and first != second
    assert not store.authenticate("demo", first, "10.0.0.2").ok
    assert store.authenticate("demo", second, "10.0.0.2").ok


# -- login and lockout -------------------------------------------------------------------

def test_good_and_bad_passwords(store, alice):
    ok = store.authenticate("Alice", GOOD, "10.0.0.1")
    assert ok.ok and ok.username == "alice" and ok.full_name == "Alice A"
    assert store.users.find_one({"username": "alice"})["last_login"] is not None
    bad = store.authenticate("alice", "Wrong-password-1", "10.0.0.1")
    assert not bad.ok and bad.reason == "bad_credentials"
    unknown = store.authenticate("nobody", GOOD, "10.0.0.1")
    assert not unknown.ok and unknown.reason == "bad_credentials"  # same answer as a wrong password


def test_user_lockout_after_five_failures_and_expiry(store, alice, clock):
    for i in range(4):
        assert store.authenticate("alice", f"Wrong-password-{i}", f"10.0.1.{i}").reason == "bad_credentials"
    fifth = store.authenticate("alice", "Wrong-password-5", "10.0.1.5")
    assert fifth.reason == "locked" and fifth.locked_until == clock.now + timedelta(minutes=15)
    # Locked: even the right password from a fresh address is refused, without a check.
    assert store.authenticate("alice", GOOD, "10.0.2.1").reason == "locked"
    clock.advance(minutes=14, seconds=59)
    assert store.authenticate("alice", GOOD, "10.0.2.1").reason == "locked"
    clock.advance(seconds=2)
    assert store.authenticate("alice", GOOD, "10.0.2.1").ok


def test_one_users_mistakes_do_not_lock_a_colleague_at_the_same_address(store, alice, clock):
    store.create("bob", GOOD)
    for i in range(5):
        store.authenticate("alice", f"Wrong-password-{i}", "203.0.113.9")
    assert store.authenticate("alice", GOOD, "203.0.113.9").reason == "locked"
    assert store.authenticate("bob", GOOD, "203.0.113.9").ok  # same office address, not locked


def test_the_address_is_locked_only_at_its_much_higher_threshold(store, alice, clock):
    store.create("bob", GOOD)
    assert store.lockout.address_attempts == 50
    results = [store.authenticate(f"guess{i}", GOOD, "203.0.113.9") for i in range(50)]
    assert [r.reason for r in results[:49]] == ["bad_credentials"] * 49
    assert results[49].reason == "locked" and results[49].scope == "address"
    # The address is locked, for every account, even with the right password...
    locked = store.authenticate("bob", GOOD, "203.0.113.9")
    assert locked.reason == "locked" and "network address" in locked.message() and "15 minutes" in locked.message()
    # ...while another address is unaffected, and bob himself is not locked.
    assert store.authenticate("bob", GOOD, "198.51.100.1").ok
    clock.advance(minutes=15, seconds=1)
    assert store.authenticate("bob", GOOD, "203.0.113.9").ok


def test_the_attempt_before_the_lock_warns_and_the_lock_says_for_how_long(store, alice, clock):
    said = [store.authenticate("alice", f"Wrong-password-{i}", "10.0.6.1").message() for i in range(5)]
    assert said[:3] == ["Invalid username or password."] * 3
    assert "One more failed attempt locks" in said[3]
    assert "locked for 15 minutes" in said[4]
    clock.advance(minutes=10, seconds=30)
    assert "locked for 5 minutes" in store.authenticate("alice", GOOD, "10.0.6.1").message()


def test_an_unknown_username_gets_the_same_warning_and_lock_as_a_real_one(store, alice, clock):
    real = [store.authenticate("alice", "Wrong-password-1", "10.0.7.1") for _ in range(5)]
    ghost = [store.authenticate("nobody", "Wrong-password-1", "10.0.7.2") for _ in range(5)]
    assert [r.message() for r in real] == [r.message() for r in ghost]
    assert "nobody" not in repr(list(store.attempts.find({})))  # the name is not stored


def test_old_failures_are_forgotten(store, alice, clock):
    for i in range(4):
        store.authenticate("alice", "Wrong-password-x", "10.0.3.1")
    clock.advance(minutes=16)
    # A new failure starts a new window: no lockout at the fifth lifetime failure.
    assert store.authenticate("alice", "Wrong-password-x", "10.0.3.1").reason == "bad_credentials"
    assert store.authenticate("alice", GOOD, "10.0.3.1").ok


def test_success_resets_the_user_counter(store, alice):
    for _ in range(4):
        store.authenticate("alice", "Wrong-password-x", "10.0.4.1")
    assert store.authenticate("alice", GOOD, "10.0.4.2").ok
    assert store.authenticate("alice", "Wrong-password-x", "10.0.4.3").reason == "bad_credentials"


def test_audit_log_records_events_and_never_a_password(store, alice, clock):
    store.authenticate("alice", GOOD, "10.0.5.1")
    store.authenticate("alice", "Wrong-Secret-123", "10.0.5.1")
    store.authenticate("Typed-My-Password-Here-1", "x", "10.0.5.1")
    for _ in range(5):
        store.authenticate("alice", "Wrong-Secret-123", "10.0.5.2")
    store.end_sessions("alice", client_ip="10.0.5.1")
    events = list(store.audit_log.find({}, {"_id": 0}))
    kinds = [e["event"] for e in events]
    for expected in ("user_created", "login", "login_failed", "lockout", "logout"):
        assert expected in kinds
    text = repr(events)
    for secret in (GOOD, "Wrong-Secret-123", "Typed-My-Password-Here-1", "typed-my-password-here-1"):
        assert secret not in text
    failed_unknown = [e for e in events if e.get("reason") == "unknown_user"]
    assert failed_unknown and failed_unknown[0]["username"] is None
    assert all(isinstance(e["at"], datetime) for e in events)


def test_open_user_store_uses_the_configured_store(tmp_path):
    settings = Settings(data_dir=tmp_path, lockout_attempts=2, lockout_minutes=1)
    users = open_user_store(settings)
    try:
        users.create("carol", GOOD)
        users.authenticate("carol", "Wrong-password-1", "10.9.9.9")
        assert users.authenticate("carol", "Wrong-password-2", "10.9.9.9").reason == "locked"
    finally:
        users.close()
    # A second process (here: a second open) sees the same account.
    again = open_user_store(settings)
    try:
        assert again.get("carol")["username"] == "carol"
    finally:
        again.close()
