"""A sync killed with SIGKILL at any point is resumed by the next run, and the end state is the
same as an uninterrupted sync's: no duplicates, no lost snapshot, no lost event.

The sync runs in real subprocesses (``scripts/manual_sync.py``, configured through ``OCTO_*``
like a user would), against the fake account served from this process; the test kills them
once they have made a given number of requests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from octolib.api import EmailOctopusClient
from octolib.config import Settings
from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer, Faults
from octolib.store import connect
from octolib.sync import run_sync
from test_sync import FAST, assert_matches_account, dump

ROOT = Path(__file__).resolve().parents[1]
NO_MONGOD = lambda name: None  # noqa: E731


def start_sync(data_dir: Path, base_url: str, cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCTO_")}
    env.update({
        "OCTO_API_BASE": base_url, "OCTO_API_KEY": DEMO_API_KEY, "OCTO_DATA_DIR": str(data_dir),
        "OCTO_RATE_PER_S": "1000", "OCTO_RATE_BURST": "1000", "OCTO_MAX_WORKERS": "2", "OCTO_MONGODB_URI": "",
        "PATH": "/usr/bin:/bin",  # no mongod: the embedded store, as in CI
    })
    return subprocess.Popen([sys.executable, str(ROOT / "scripts" / "manual_sync.py"), "--no-progress"],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_after(proc: subprocess.Popen, server: FakeServer, requests: int, timeout: float = 60.0) -> bool:
    """SIGKILL ``proc`` once the server has seen ``requests`` requests; False if it finished first."""
    deadline = time.monotonic() + timeout
    while server.request_count < requests:
        if proc.poll() is not None:
            return False
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the sync made only {server.request_count} requests in {timeout} s")
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return True


@pytest.mark.slow
def test_sync_killed_twice_then_rerun_equals_an_uninterrupted_sync(tmp_path):
    account = FakeAccount.generate(seed=11, size="tiny")
    with FakeServer(account, api_key=DEMO_API_KEY, faults=Faults(latency_s=0.03), **FAST) as server:
        # The reference: one uninterrupted sync of the same account (its clock does not move).
        with connect(Settings(data_dir=tmp_path / "reference"), find_mongod=NO_MONGOD) as ref, \
                EmailOctopusClient(DEMO_API_KEY, server.base_url, **FAST) as client:
            reference = run_sync(ref, client, progress=False)
            assert reference.ok
            want = dump(ref)
            total = reference.requests

        data_dir = tmp_path / "killed"
        kills = 0
        for fraction in (0.15, 0.55):  # during the contacts, then during the reports
            n0 = server.request_count
            proc = start_sync(data_dir, server.base_url, tmp_path)
            kills += kill_after(proc, server, n0 + int(total * fraction))
        assert kills == 2, "the sync finished before it could be killed: slow the fake down"
        proc = start_sync(data_dir, server.base_url, tmp_path)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        assert "sync succeeded" in out and "resumed run" in out

        with connect(Settings(data_dir=data_dir), find_mongod=NO_MONGOD) as store:
            assert dump(store) == want
            assert_matches_account(store, account)
            runs = list(store.sync_runs.find({}).sort("started_at", 1))
            assert [r["status"] for r in runs] == ["interrupted", "interrupted", "succeeded"]
            assert runs[1]["resumed_from"] == runs[0]["_id"] and runs[2]["resumed_from"] == runs[1]["_id"]
            assert store.locks.count_documents({}) == 0
