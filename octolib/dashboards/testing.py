"""Data for dashboard tests and benchmarks: a synced local EmailOctopus account and a login.

Why here: the browser test, the notebook tests and ``benchmarks/bench_dashboards.py`` all
need a data folder synced from the fake account over a real socket. The server itself is
started by the one helper that does it, :func:`octolib.server.testing.running_server`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from octolib.config import Settings

__all__ = ["sync_fake_account", "add_user"]


def sync_fake_account(data_dir: Path, *, size: Any = "tiny", seed: int = 7, now: Any = None) -> Settings:
    """Generate a local EmailOctopus account (``size``: a name or a ``SizeSpec``), sync it
    into ``data_dir``'s embedded store over a real socket, and return the settings that
    read it (the fake server is stopped)."""
    from octolib.api import EmailOctopusClient
    from octolib.fake import DEMO_API_KEY, FakeAccount, FakeServer
    from octolib.store import connect
    from octolib.sync import run_sync

    kwargs = {"now": now} if now is not None else {}
    account = FakeAccount.generate(seed=seed, size=size, **kwargs)
    with FakeServer(account, api_key=DEMO_API_KEY, rate_per_s=1000, burst=1000) as server:
        settings = Settings(data_dir=Path(data_dir), api_base=server.base_url, api_key=DEMO_API_KEY, demo=True,
                            rate_per_s=1000, rate_burst=1000)
        store = connect(settings)
        try:
            with EmailOctopusClient.from_settings(settings) as client:
                result = run_sync(store, client, trigger="test", progress=False)
            if not result.ok:
                raise RuntimeError(f"the sync of the fake account failed: {result.errors}")
        finally:
            store.close()
    return Settings(data_dir=Path(data_dir))


def add_user(data_dir: Path, username: str, password: str) -> None:
    """Create a login in ``data_dir``'s store (the dashboards are behind the login)."""
    from octolib.auth.users import open_user_store

    users = open_user_store(Settings(data_dir=Path(data_dir)))
    try:
        users.create(username, password, full_name=username.capitalize())
    finally:
        users.close()
