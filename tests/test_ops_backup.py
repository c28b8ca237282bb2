"""Backup and restore: a round trip gives back every document, byte for byte in BSON; a
damaged archive is refused before anything is written, and the current data survives it."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from datetime import datetime, timezone
from pathlib import Path

import bson
import pytest
from bson import Binary, Decimal128, Int64, ObjectId

from octolib.config import Settings
from octolib.ops.backup import (
    BackupError,
    backup,
    collections_to_back_up,
    default_archive_path,
    list_backups,
    prune_backups,
    restore,
    verify_archive,
)
from octolib.store import connect
from octolib.store.locks import acquire_lock, new_owner, release_lock

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)

# Values whose type a careless backup would change (int64 -> int32, Decimal128 -> float,
# binary subtype, aware datetime -> string, key order, unicode, nesting, null).
AWKWARD = {
    "big": Int64(2**40),
    "money": Decimal128("12.3400"),
    "blob": Binary(b"\x00\xffoctopus"),
    "when": datetime(2026, 3, 1, 12, 30, 15, 123000, tzinfo=timezone.utc),
    "nested": {"z": 1, "a": [1, 2.5, None, {"deep": "ünïcødé ✓"}]},
    "ref": ObjectId("65a1b2c3d4e5f60718293a4b"),
    "empty": {},
    "flag": True,
}


@pytest.fixture(scope="module")
def awkward_template(synced_template: Path, tmp_path_factory) -> Path:
    """The synced tiny account (conftest's ``synced_template``) plus awkward documents,
    made once per module; tests get a copy of it."""
    root = tmp_path_factory.mktemp("synced") / "data"
    shutil.copytree(synced_template, root)
    with connect(Settings(data_dir=root)) as store:
        store.partners.insert_one({"slug": "acme", "name": "Acme", **AWKWARD})
        store.db["custom_things"].insert_many([{"i": i, **AWKWARD} for i in range(5)])
    return root


@pytest.fixture
def synced(awkward_template: Path, tmp_path: Path):
    shutil.copytree(awkward_template, tmp_path / "live")
    store = connect(Settings(data_dir=tmp_path / "live"))
    yield store
    store.close()


def everything(store) -> dict[str, list[bytes]]:
    """Every document of every backed-up collection, as BSON bytes (types and key order
    included), read with find() rather than the backup's own read path."""
    return {name: sorted(bson.encode(d) for d in store.db[name].find({}))
            for name in collections_to_back_up(store)}


def fresh_store(tmp_path: Path, name: str):
    return connect(Settings(data_dir=tmp_path / name))


def test_round_trip_gives_back_every_document(synced, tmp_path):
    before = everything(synced)
    assert sum(map(len, before.values())) > 100 and "contacts" in before and "custom_things" in before

    result = backup(synced, tmp_path / "b" / "one.tar.gz", clock=lambda: NOW)
    assert result.manifest.counts() == {k: len(v) for k, v in before.items()}
    assert result.manifest.tool == "octolib"

    target = fresh_store(tmp_path, "restored")
    try:
        restored = restore(target, result.path)
        assert restored.restored == result.manifest.counts()
        assert everything(target) == before
        # Indexes octopus relies on are back, unique ones still unique.
        assert target.campaigns.index_information()["emailoctopus_id_1"]["unique"] is True
        assert "contact_key" in target.contacts.index_information()  # contacts: unique by natural _id
    finally:
        target.close()


def test_restore_replaces_changed_data_and_keeps_a_safety_copy(synced, tmp_path):
    before = everything(synced)
    archive = backup(synced, tmp_path / "b" / "one.tar.gz").path
    synced.contacts.update_many({}, {"$set": {"email": "overwritten@example.com"}})
    synced.campaigns.delete_many({})
    synced.contacts.insert_one({"email": "added-later@example.com"})
    changed = everything(synced)

    result = restore(synced, archive, safety_backup_dir=tmp_path / "safety", clock=lambda: NOW)

    assert everything(synced) == before
    assert result.safety_backup is not None and result.safety_backup.name.startswith("pre-restore-")
    # The safety copy holds the data as it was just before the restore.
    other = fresh_store(tmp_path, "from-safety")
    try:
        restore(other, result.safety_backup)
        assert everything(other) == changed
    finally:
        other.close()


def _rewrite(src: Path, dst: Path, change) -> None:
    """Copy a tar.gz member by member, letting ``change(name, data)`` alter the bytes."""
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for member in tin:
            data = tin.extractfile(member).read()
            data = change(member.name, data)
            if data is None:
                continue
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))


def _flip_middle_byte(src: Path, dst: Path) -> None:
    raw = bytearray(src.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    dst.write_bytes(bytes(raw))


def _truncate(src: Path, dst: Path) -> None:
    raw = src.read_bytes()
    dst.write_bytes(raw[: len(raw) * 2 // 3])


def _edit_a_contact(src: Path, dst: Path) -> None:
    # A valid tar.gz whose contacts file was changed after the manifest was written.
    _rewrite(src, dst, lambda name, data: data.replace(b"example.com", b"exAmple.com") if name.endswith("contacts.bson") else data)


def _drop_collection_file(src: Path, dst: Path) -> None:
    _rewrite(src, dst, lambda name, data: None if name.endswith("campaigns.bson") else data)


def _lie_about_counts(src: Path, dst: Path) -> None:
    def change(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        for c in manifest["collections"]:
            if c["name"] == "contacts":
                c["count"] += 1
        return json.dumps(manifest).encode()
    _rewrite(src, dst, change)


def _no_manifest(src: Path, dst: Path) -> None:
    _rewrite(src, dst, lambda name, data: None if name == "manifest.json" else data)


def _cut_a_document_in_half(src: Path, dst: Path) -> None:
    # The manifest is rewritten to match, so only decoding the BSON can catch it.
    cut: dict[str, bytes] = {}

    def change(name: str, data: bytes) -> bytes:
        if name.endswith("lists.bson"):
            cut["lists"] = data[:-7]
            return cut["lists"]
        if name == "manifest.json":
            import hashlib
            m = json.loads(data)
            for c in m["collections"]:
                if c["name"] == "lists":
                    c["sha256"] = hashlib.sha256(cut["lists"]).hexdigest()
                    c["bytes"] = len(cut["lists"])
            return json.dumps(m).encode()
        return data
    _rewrite(src, dst, change)


def _not_an_archive(src: Path, dst: Path) -> None:
    dst.write_bytes(gzip.compress(b"hello, I am not a tar file" * 100))


@pytest.mark.parametrize("damage,expect", [
    (_flip_middle_byte, "cannot be read to the end"),
    (_truncate, "cannot be read to the end"),
    (_edit_a_contact, "contacts.bson does not match its checksum"),
    (_drop_collection_file, "campaigns.bson is listed in the manifest but missing"),
    (_lie_about_counts, "contacts holds .* documents, the manifest says"),
    (_no_manifest, "no manifest.json"),
    (_cut_a_document_in_half, "lists.bson does not decode as BSON"),
    (_not_an_archive, "cannot be read to the end|unexpected entry"),
])
def test_damaged_archive_is_refused_and_current_data_untouched(synced, tmp_path, damage, expect):
    good = backup(synced, tmp_path / "good.tar.gz").path
    counts_at_backup = {k: len(v) for k, v in everything(synced).items()}
    bad = tmp_path / "bad.tar.gz"
    damage(good, bad)
    # The live data differs from the archive, so a partial restore would show.
    synced.contacts.insert_one({"email": "only-in-live-data@example.com"})
    live = everything(synced)

    with pytest.raises(BackupError, match=expect) as err:
        restore(synced, bad, safety_backup_dir=tmp_path / "safety")
    message = str(err.value)
    assert "Nothing was restored" in message and str(bad) in message

    assert everything(synced) == live
    assert not (tmp_path / "safety").exists(), "no safety backup is made for an archive that is refused"
    assert synced.locks.find_one({"_id": "sync"}) is None, "the sync lock is released"
    with pytest.raises(BackupError):
        verify_archive(bad)
    assert verify_archive(good).counts() == counts_at_backup, "the undamaged archive still checks out"


def test_restore_waits_for_no_sync(synced, tmp_path):
    archive = backup(synced, tmp_path / "a.tar.gz").path
    owner = new_owner(label="test sync")
    acquire_lock(synced.locks, "sync", owner, 600)
    synced.contacts.delete_many({})
    try:
        with pytest.raises(BackupError, match="a sync is running"):
            restore(synced, archive)
        assert synced.contacts.count_documents({}) == 0
    finally:
        release_lock(synced.locks, "sync", owner)


def test_locks_are_not_backed_up_and_backups_never_overwrite(synced, tmp_path):
    synced.locks.insert_one({"_id": "something", "owner": {}})
    result = backup(synced, tmp_path / "x.tar.gz")
    assert "locks" not in result.manifest.counts()
    with pytest.raises(BackupError, match="already exists"):
        backup(synced, tmp_path / "x.tar.gz")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no partial files are left"


def test_mongodump_requested_but_absent_is_a_clear_error(synced, tmp_path):
    with pytest.raises(BackupError, match="mongodump"):
        backup(synced, tmp_path / "x.tar.gz", tool="mongodump", which=lambda name: None)
    assert not (tmp_path / "x.tar.gz").exists()


def test_archive_names_sort_by_time_and_prune_keeps_the_newest(tmp_path):
    times = [datetime(2026, 11, d, 3, 0, tzinfo=timezone.utc) for d in (3, 1, 2, 4)]
    for t in times:
        default_archive_path(tmp_path, "octopus", t).write_bytes(b"x")
    safety = default_archive_path(tmp_path, "octopus", times[0], prefix="pre-restore")
    safety.write_bytes(b"x")
    names = [p.name for p in list_backups(tmp_path) if p.name.startswith("octopus-")]
    assert names == sorted(names) and names[0] == "octopus-octopus-20261101T030000Z.tar.gz"

    gone = prune_backups(tmp_path, keep=2)
    assert sorted(p.name[16:24] for p in gone) == ["20261101", "20261102"]
    assert safety.exists()
    with pytest.raises(ValueError):
        prune_backups(tmp_path, keep=0)
