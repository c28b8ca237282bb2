"""Idle timeout and lockout on a real server configured with very short durations.

``OCTO_SESSION_IDLE_MINUTES=0.04`` (2.4 s) and ``OCTO_LOCKOUT_MINUTES=0.05`` (3 s): the
server has no injectable clock (it is another process), so these tests wait a few seconds
of real time; the same rules are tested with a fake clock, without waiting, in
test_auth_users.py and test_auth_session.py.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import requests

from octolib.server.testing import login, running_server
from octolib.auth.users import open_user_store
from octolib.config import Settings

FIXTURES = Path(__file__).parent / "notebooks"
IDLE_S = 0.04 * 60
LOCK_S = 0.05 * 60
PASSWORDS = {"erin": "Erin-Strong-Pass-5", "frank": "Frank-Strong-Pass-6"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("timeouts")
    nb_dir = root / "notebooks"
    nb_dir.mkdir()
    shutil.copy(FIXTURES / "hello_dashboard.ipynb", nb_dir)
    data_dir = root / "data"
    store = open_user_store(Settings(data_dir=data_dir))
    for name, password in PASSWORDS.items():
        store.create(name, password)
    store.close()
    env = {"OCTO_SESSION_IDLE_MINUTES": "0.04", "OCTO_LOCKOUT_MINUTES": "0.05", "OCTO_LOCKOUT_ATTEMPTS": "5"}
    with running_server(nb_dir, data_dir, env=env) as srv:
        yield srv


def test_activity_keeps_a_session_alive_and_idleness_ends_it(server):
    s = requests.Session()
    assert login(s, server.url, "erin", PASSWORDS["erin"]).status_code == 302
    start = time.monotonic()
    # Page loads every 0.8 s for longer than the idle timeout: still signed in.
    while time.monotonic() - start < IDLE_S * 1.6:
        time.sleep(0.8)
        assert s.get(server.url + "dashboards", allow_redirects=False, timeout=10).status_code == 200
    # Then nothing for longer than the timeout: the session is over.
    time.sleep(IDLE_S + 0.6)
    r = s.get(server.url + "dashboards", allow_redirects=False, timeout=10)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert s.get(server.url + "api/me", timeout=10).status_code == 403


def test_background_polls_do_not_keep_a_session_alive(server):
    s = requests.Session()
    assert login(s, server.url, "frank", PASSWORDS["frank"]).status_code == 302
    start = time.monotonic()
    codes = []
    # What an open JupyterLab tab does on its own: GET /api/... every few seconds.
    while time.monotonic() - start < IDLE_S + 1.2:
        codes.append(s.get(server.url + "api/kernels", timeout=10).status_code)
        time.sleep(0.5)
    assert codes[0] == 200 and codes[-1] == 403


def test_lockout_after_five_failures_then_expiry(server):
    s = requests.Session()
    pages = [login(s, server.url, "erin", f"Wrong-Password-{i}") for i in range(5)]
    assert [p.status_code for p in pages] == [401, 401, 401, 401, 429]
    assert "One more failed attempt locks" in pages[3].text and "One more" not in pages[2].text
    locked = login(s, server.url, "erin", PASSWORDS["erin"])
    assert locked.status_code == 429 and "Too many failed sign-in attempts" in locked.text
    assert "locked for 1 minute" in locked.text  # 3 s, rounded up to whole minutes
    # Per user: a colleague at the same client address still signs in.
    assert login(requests.Session(), server.url, "frank", PASSWORDS["frank"]).status_code == 302
    time.sleep(LOCK_S + 0.5)
    assert login(requests.Session(), server.url, "erin", PASSWORDS["erin"]).status_code == 302
    store = open_user_store(Settings(data_dir=server.data_dir))
    try:
        lockouts = list(store.audit_log.find({"event": "lockout"}))
    finally:
        store.close()
    assert {e.get("scope") for e in lockouts} == {"user"}
