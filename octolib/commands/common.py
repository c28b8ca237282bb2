"""What several ``octo`` commands share: opening a store they only read, and saying where it is.

Why: ``connect()`` creates an empty embedded store wherever ``OCTO_DATA_DIR`` points, which
is right for ``octo sync`` (it fills it) but wrong for a command that only reads. After
``octo demo`` (whose data lives under ``OCTO_DATA_DIR/demo``) a read-only command used to
create an empty store next to it and report "no partner is defined". A read-only command
opens the store with :func:`connect_existing`, which refuses, in one line, with where it
looked and what to run.

This module has no ``register``: ``octolib.cli`` skips it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from octolib.config import Settings
from octolib.errors import ConfigError

__all__ = ["store_location", "connect_existing", "store_line", "demo_exports"]


def store_location(settings: Settings, find_mongod: Callable[[str], str | None] = shutil.which) -> Path | None:
    """The folder the store of ``settings`` keeps its data in, or None for a MongoDB URI
    (a server we cannot look inside without connecting)."""
    if settings.mongodb_uri:
        return None
    data_dir = Path(settings.data_dir).expanduser()
    return data_dir / ("mongod" if find_mongod("mongod") else "embedded")


def demo_exports(data_dir: Path) -> str:
    """The exact shell line that points later ``octo`` commands at the demo's data."""
    return f"export OCTO_DATA_DIR={Path(data_dir).expanduser().resolve() / 'demo'}"


def connect_existing(settings: Settings, *, find_mongod: Callable[[str], str | None] = shutil.which) -> Any:
    """Open the store of ``settings`` only if it exists (a command that only reads must not
    create an empty one). ConfigError says where it looked and what to run."""
    from octolib.store import connect

    where = store_location(settings, find_mongod)
    if where is not None and not where.exists():
        data_dir = Path(settings.data_dir).expanduser()
        hint = "run `octo sync` (with OCTO_API_KEY) or `octo demo` first"
        if (data_dir / "demo" / where.name).exists():
            hint = f"the demo's data is in {data_dir / 'demo'}; point octo at it with: {demo_exports(data_dir)}"
        raise ConfigError(f"no store at {where} (OCTO_DATA_DIR={data_dir}): {hint}")
    return connect(settings, find_mongod=find_mongod)


def store_line(store: Any) -> str:
    """``store: <where>``, with one calm note when it is the embedded store."""
    line = f"store: {store.description}"
    if getattr(store, "kind", "") == "embedded":
        line += " (fine for trying out; set OCTO_MONGODB_URI for MongoDB)"
    return line
