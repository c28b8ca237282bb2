"""Shared fixtures: a fresh local EmailOctopus account, the fake server over a real socket,
a store synced from it, one fake clock, and the vendor's OpenAPI document with a validator
for its response schemas.

The spec is read from the package (``octolib/fake/openapi-v2.json``) first, so a clean clone
in CI needs nothing else; ``../shared/emailoctopus/openapi-v2.json`` beside the checkout is
the fallback.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from octolib.fake import DEMO_API_KEY, OPENAPI_SPEC_PATH, FakeAccount, FakeServer
from octolib.store import Store

ROOT = Path(__file__).resolve().parents[1]
SHARED_SPEC = ROOT.parent / "shared" / "emailoctopus" / "openapi-v2.json"


@pytest.fixture
def tiny_account() -> FakeAccount:
    """A fresh "tiny" account (2 lists, 6 campaigns, ~60 contacts), seed 7, clock at 2026-11-01."""
    return FakeAccount.generate(seed=7, size="tiny")


@pytest.fixture
def fake_server(tiny_account: FakeAccount) -> Iterator[FakeServer]:
    """The tiny account on 127.0.0.1 (any free port), key ``DEMO_API_KEY``, the real API's
    limits (burst 100, 10/s); stopped after the test."""
    with FakeServer(tiny_account, api_key=DEMO_API_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def synced_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder holding the tiny account (seed 7) synced once per test session over a
    real socket into an embedded store. Read-only: tests get copies (:func:`synced_store`)."""
    from octolib.api import EmailOctopusClient
    from octolib.config import Settings
    from octolib.store import connect
    from octolib.sync import run_sync

    root = tmp_path_factory.mktemp("synced-tiny")
    with FakeServer(FakeAccount.generate(seed=7, size="tiny"), api_key=DEMO_API_KEY, rate_per_s=1000,
                    burst=1000) as server:
        settings = Settings(data_dir=root, api_base=server.base_url, api_key=DEMO_API_KEY,
                            rate_per_s=1000, rate_burst=1000)
        with connect(settings) as store, EmailOctopusClient.from_settings(settings) as client:
            assert run_sync(store, client, progress=False).ok
    return root


@pytest.fixture
def synced_store(synced_template: Path, tmp_path: Path) -> Iterator[Store]:
    """The synced tiny account in a store of this test's own (a copy: write freely)."""
    from octolib.config import Settings
    from octolib.store import connect

    shutil.copytree(synced_template, tmp_path / "live")
    store = connect(Settings(data_dir=tmp_path / "live"))
    yield store
    store.close()


@pytest.fixture(scope="session")
def synced_copy(synced_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Any]:
    """``synced_copy(name)``: a copy of the synced tiny account of its own (write freely) in a new
    folder named after ``name``, for module-wide fixtures; returns ``(settings, store)``, the
    store open with its indexes (the caller closes it)."""
    from octolib.config import Settings
    from octolib.store import connect

    def copy_of(name: str) -> tuple[Settings, Store]:
        data = tmp_path_factory.mktemp(name) / "live"
        shutil.copytree(synced_template, data)
        settings = Settings(data_dir=data)
        store = connect(settings)
        store.ensure_indexes()
        return settings, store

    return copy_of


@pytest.fixture(scope="session")
def sync_into() -> Callable[[Path, FakeAccount], Any]:
    """``sync_into(data_dir, account)``: a full sync of ``account`` (typically the tiny one with
    something planted first) over a real socket into a new store in ``data_dir``; returns
    ``(settings, store)``, the store open (the caller closes it)."""
    from octolib.api import EmailOctopusClient
    from octolib.config import Settings
    from octolib.store import connect
    from octolib.sync import run_sync

    def sync(data_dir: Path, account: FakeAccount) -> tuple[Settings, Store]:
        settings = Settings(data_dir=data_dir)
        store = connect(settings)
        store.ensure_indexes()
        with FakeServer(account, api_key=DEMO_API_KEY, rate_per_s=1000, burst=1000) as srv:
            client = EmailOctopusClient(DEMO_API_KEY, srv.base_url, rate_per_s=1000, burst=1000)
            assert run_sync(store, client, full=True, progress=False).status == "succeeded"
        return settings, store

    return sync


class FakeClock:
    """Time that moves only when the code under test sleeps on it or the test moves it.

    Call it for the time (an aware UTC datetime); pass ``clock.sleep`` where the code would
    sleep: each wait is recorded in ``sleeps`` and moves the clock, so a test checks which
    waits were asked for without waiting. ``tick`` moves it on every read too (real clocks
    move between two calls).
    """

    START = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)

    def __init__(self, start: datetime = START, *, tick: timedelta = timedelta(0)) -> None:
        self.now = start
        self.tick = tick
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        self.now += self.tick
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock_at() -> type[FakeClock]:
    """``clock_at(start, tick=...)``: a :class:`FakeClock` starting at ``start``."""
    return FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A :class:`FakeClock` at 2026-11-27 09:00 UTC."""
    return FakeClock()


@pytest.fixture(scope="session")
def openapi_spec() -> dict[str, Any]:
    """The vendor's OpenAPI 3.1 document for API v2, exactly as published."""
    for path in (OPENAPI_SPEC_PATH, SHARED_SPEC):
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    pytest.fail(f"OpenAPI spec not found at {OPENAPI_SPEC_PATH} nor {SHARED_SPEC}")


def _normalise(node: Any) -> Any:
    """Turn the vendor's non-standard types into JSON Schema: ``"int"`` -> integer,
    ``[..., null]`` -> ``"null"``, ``"Array of strings"`` -> an array of strings."""
    if isinstance(node, list):
        return [_normalise(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _normalise(v) for k, v in node.items()}
    t = node.get("type")
    if t == "int":
        out["type"] = "integer"
    elif t == "Array of strings":
        out["type"] = "array"
        out["items"] = {"type": "string"}
    elif isinstance(t, list):
        out["type"] = ["null" if x is None else x for x in t]
    return out


def _close_objects(node: Any) -> Any:
    """``additionalProperties: false`` wherever properties are listed, so a misspelt or extra
    field in the fake's answers fails validation (the spec itself allows anything)."""
    if isinstance(node, list):
        return [_close_objects(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: _close_objects(v) for k, v in node.items()}
    if "properties" in node and "additionalProperties" not in node:
        out["additionalProperties"] = False
    return out


@pytest.fixture(scope="session")
def spec_validate(openapi_spec: dict[str, Any]) -> Callable[..., None]:
    """``spec_validate(path_template, status, body, counts="object")`` checks one JSON answer
    against the response schema the spec declares for ``GET path_template`` and ``status``.

    Documented relaxations of the published spec (API_NOTES §4.2, §5.1, §8):
    - non-standard types are normalised (``int``, ``[string, null]``, ``Array of strings``);
    - error ``status`` is an integer (the spec says string; live answers send a number);
    - campaign ``sent_at`` may be null (drafts);
    - ``counts="object"`` (the fake's default) validates ``counts`` as one object of the
      spec's item schema; ``counts="array"`` keeps the spec's array as written.
    Every object is closed (no undeclared fields).
    """
    from jsonschema import Draft202012Validator

    components = _close_objects(_normalise(copy.deepcopy(openapi_spec["components"])))
    campaign = components["schemas"]["Campaign-get"]["properties"]
    campaign["sent_at"]["type"] = ["string", "null"]
    as_array = copy.deepcopy(components)
    counts = components["schemas"]["List-get"]["properties"]["counts"]
    components["schemas"]["List-get"]["properties"]["counts"] = dict(counts["items"], description=counts["description"])
    paths = _close_objects(_normalise(copy.deepcopy(openapi_spec["paths"])))

    def validate(path_template: str, status: int, body: Any, counts: str = "object") -> None:
        responses = paths[path_template]["get"]["responses"]
        assert str(status) in responses, f"the spec declares no {status} for GET {path_template}"
        schema = copy.deepcopy(responses[str(status)]["content"]["application/json"]["schema"])
        if status >= 400:
            schema["properties"]["status"] = {"type": "integer"}
        root = dict(schema, components=as_array if counts == "array" else components)
        Draft202012Validator(root).validate(body)

    return validate
