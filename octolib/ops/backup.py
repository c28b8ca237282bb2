"""Backup and restore: one archive of every collection, checked in full before a restore writes.

The archive is a ``.tar.gz`` in mongodump's directory layout, so the same files serve
``mongorestore`` and :func:`restore`::

    manifest.json                   written last; see :class:`Manifest`
    data/<collection>.bson          the documents, concatenated BSON (as mongodump writes them)
    data/<collection>.metadata.json the indexes, MongoDB extended JSON (canonical)

The manifest lists, per collection, the document count, the byte size and the SHA-256 of
both files. :func:`verify_archive` reads the whole archive, checks every checksum and
decodes every document (counting them) before :func:`restore` changes anything, so a
truncated, corrupted or edited archive is refused with a message and the current data is
left as it was.

Two ways to write the same format:

- **mongodump** when it is on PATH and the store is a MongoDB server: ``mongodump --out``
  into a staging folder, then packed with a manifest. The URI goes through a 0600 config
  file, never the command line (``ps`` would show it). *This path is not tested here: no
  mongod can run on the development machines (STACK_NOTES §2).* On MongoDB >= 5 the
  time-series snapshot collections come out as ``system.buckets.*`` files, which only
  ``mongorestore`` can load; :func:`restore` uses it for such archives when it is on PATH.
- **built in** otherwise (the embedded store, or no mongodump): every document read
  through the pymongo API and written with ``bson.encode``. BSON keeps every type
  (ObjectId, datetimes to the millisecond, Decimal128, binary), so a round trip gives back
  equal documents.

The ``locks`` collection is runtime state (who is syncing now) and is neither backed up nor
restored. A restore takes the sync lock, so no sync writes while it replaces collections;
it replaces the collections in the archive (like ``mongorestore --drop``) and leaves the
others alone.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import bson
from bson import json_util
from bson.codec_options import CodecOptions

from octolib import __version__
from octolib.errors import StoreError, redact
from octolib.store import LOCKS, Store, iter_batches

__all__ = [
    "FORMAT",
    "BackupError",
    "CollectionEntry",
    "Manifest",
    "BackupResult",
    "RestoreResult",
    "VerifiedArchive",
    "backup",
    "restore",
    "verify_archive",
    "default_archive_path",
    "list_backups",
    "prune_backups",
    "collections_to_back_up",
    "describe",
]

log = logging.getLogger(__name__)

#: The archive format this module writes and reads.
FORMAT = "octopus-backup/1"
MANIFEST = "manifest.json"
ARCHIVE_SUFFIX = ".tar.gz"
#: Collections that are runtime state, not data.
NOT_BACKED_UP = frozenset({LOCKS})

_MEMBER = re.compile(r"^data/([A-Za-z0-9_.-]+)\.(bson|metadata\.json)$")
_DECODE: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True, tzinfo=timezone.utc)
_CHUNK = 1 << 20


class BackupError(StoreError):
    """A backup could not be written, or an archive cannot be restored (and was not)."""


@dataclass(frozen=True)
class CollectionEntry:
    """One collection in the archive: where its files are, how many documents, checksums."""

    name: str
    file: str
    count: int
    bytes: int
    sha256: str
    metadata_file: str
    metadata_sha256: str


@dataclass(frozen=True)
class Manifest:
    """``manifest.json``::

        {"format": "octopus-backup/1", "created_at": "2026-11-27T03:00:00+00:00",
         "db_name": "octopus", "tool": "octolib" | "mongodump", "store": "embedded",
         "octolib_version": "0.1.0", "total_documents": 123,
         "collections": [{"name", "file", "count", "bytes", "sha256",
                          "metadata_file", "metadata_sha256"}, ...]}
    """

    created_at: str
    db_name: str
    tool: str
    store: str
    collections: tuple[CollectionEntry, ...]
    octolib_version: str = __version__
    format: str = FORMAT

    @property
    def total_documents(self) -> int:
        return sum(c.count for c in self.collections)

    def counts(self) -> dict[str, int]:
        return {c.name: c.count for c in self.collections}

    def as_json(self) -> dict[str, Any]:
        return {
            "format": self.format, "created_at": self.created_at, "db_name": self.db_name, "tool": self.tool,
            "store": self.store, "octolib_version": self.octolib_version, "total_documents": self.total_documents,
            "collections": [asdict(c) for c in self.collections],
        }

    @classmethod
    def from_json(cls, data: Any, where: str = MANIFEST) -> "Manifest":
        """Parse a manifest; :class:`BackupError` naming the field when it is not one."""
        if not isinstance(data, dict):
            raise BackupError(f"{where}: not a JSON object")
        if data.get("format") != FORMAT:
            raise BackupError(f"{where}: format {data.get('format')!r} is not {FORMAT!r} (not an octopus backup, "
                              "or from a newer octopus)")
        entries = []
        names = set()
        for i, raw in enumerate(data.get("collections") or []):
            try:
                entry = CollectionEntry(
                    name=str(raw["name"]), file=str(raw["file"]), count=int(raw["count"]), bytes=int(raw["bytes"]),
                    sha256=str(raw["sha256"]), metadata_file=str(raw["metadata_file"]),
                    metadata_sha256=str(raw["metadata_sha256"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise BackupError(f"{where}: collections[{i}] is incomplete ({exc!r})") from None
            if entry.name in names:
                raise BackupError(f"{where}: collection {entry.name!r} is listed twice")
            for f in (entry.file, entry.metadata_file):
                if not _MEMBER.match(f):
                    raise BackupError(f"{where}: collections[{i}] names an unexpected file {f!r}")
            names.add(entry.name)
            entries.append(entry)
        try:
            return cls(created_at=str(data["created_at"]), db_name=str(data["db_name"]), tool=str(data["tool"]),
                       store=str(data.get("store", "")), collections=tuple(entries),
                       octolib_version=str(data.get("octolib_version", "")), format=FORMAT)
        except KeyError as exc:
            raise BackupError(f"{where}: missing field {exc.args[0]!r}") from None


@dataclass
class BackupResult:
    path: Path
    manifest: Manifest
    seconds: float

    def summary(self) -> str:
        size = self.path.stat().st_size if self.path.exists() else 0
        return (f"backup {self.path}: {len(self.manifest.collections)} collections, "
                f"{self.manifest.total_documents:,} documents, {size / 1e6:.1f} MB, "
                f"{self.manifest.tool}, {self.seconds:.1f}s")


@dataclass
class RestoreResult:
    path: Path
    manifest: Manifest
    restored: dict[str, int]
    seconds: float
    tool: str = "octolib"
    safety_backup: Path | None = None
    kept: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"restored {sum(self.restored.values()):,} documents in {len(self.restored)} collections "
                 f"from {self.path} (made {self.manifest.created_at}) with {self.tool} in {self.seconds:.1f}s"]
        if self.safety_backup:
            lines.append(f"the data as it was before is in {self.safety_backup}")
        if self.kept:
            lines.append(f"left as they were (not in the archive): {', '.join(self.kept)}")
        return "\n".join(lines)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def default_archive_path(directory: Path, db_name: str, now: datetime | None = None, prefix: str = "octopus") -> Path:
    """``<directory>/<prefix>-<db>-20261127T030000Z.tar.gz``: sorts by time, says what it holds."""
    now = (now or _utcnow()).astimezone(timezone.utc)
    safe_db = re.sub(r"[^A-Za-z0-9_-]+", "-", db_name)
    return Path(directory) / f"{prefix}-{safe_db}-{now.strftime('%Y%m%dT%H%M%SZ')}{ARCHIVE_SUFFIX}"


def list_backups(directory: Path) -> list[Path]:
    """Archives in ``directory``, oldest first (by name, which holds the time)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.is_file() and p.name.endswith(ARCHIVE_SUFFIX)
                  and not p.name.startswith("."))


def prune_backups(directory: Path, keep: int, *, prefix: str = "octopus-") -> list[Path]:
    """Delete all but the newest ``keep`` archives whose name starts with ``prefix``.

    Safety copies made before a restore (``pre-restore-*``) are never pruned: an operator
    removes those by hand once the restore is known to be good.
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    archives = [p for p in list_backups(directory) if p.name.startswith(prefix)]
    doomed = archives[:-keep]
    for p in doomed:
        p.unlink()
        log.info("pruned old backup %s", p)
    return doomed


def collections_to_back_up(store: Store) -> list[str]:
    """Every collection in the database except system collections and runtime state."""
    names = store.db.list_collection_names()
    return sorted(n for n in names if not n.startswith("system.") and n not in NOT_BACKED_UP)


# -- writing -----------------------------------------------------------------------------------

class _HashingWriter:
    def __init__(self, f: IO[bytes]) -> None:
        self.f = f
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.f.write(data)
        self.sha.update(data)
        self.size += len(data)


def _file_digest(path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def _index_metadata(collection: Any, name: str) -> bytes:
    """The collection's indexes in mongodump's ``metadata.json`` shape (canonical extended JSON)."""
    indexes = []
    try:
        info = collection.index_information()
    except Exception as exc:  # noqa: BLE001 - indexes are recreated by ensure_indexes anyway
        log.warning("could not read the indexes of %s: %s", name, exc)
        info = {}
    for index_name, spec in info.items():
        entry: dict[str, Any] = {"v": spec.get("v", 2), "key": dict(spec.get("key", [])), "name": index_name}
        for option in ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression"):
            if option in spec:
                entry[option] = spec[option]
        indexes.append(entry)
    doc = {"indexes": indexes, "uuid": "", "collectionName": name, "type": "collection"}
    return json_util.dumps(doc, json_options=json_util.CANONICAL_JSON_OPTIONS).encode("utf-8")


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


def _add_file(tar: tarfile.TarFile, name: str, path: Path, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = path.stat().st_size
    info.mtime = int(mtime)
    info.mode = 0o600
    with open(path, "rb") as f:
        tar.addfile(info, f)


def _dump_builtin(store: Store, staging: Path, batch_size: int) -> Iterator[tuple[str, Path, bytes, int]]:
    """Yield ``(collection, bson_file, metadata_bytes, count)`` one collection at a time."""
    for name in collections_to_back_up(store):
        path = staging / f"{name}.bson"
        count = 0
        with open(path, "wb") as f:
            for batch in iter_batches(store.db[name], {}, batch_size=batch_size):
                f.write(b"".join(bson.encode(doc) for doc in batch))
                count += len(batch)
        yield name, path, _index_metadata(store.db[name], name), count


def _mongo_config(folder: Path, uri: str) -> Path:
    """A mongodump/mongorestore ``--config`` file holding the URI, readable by us only."""
    path = folder / "mongo-tools.yaml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"uri: {json.dumps(uri)}\n")
    return path


def _run_tool(cmd: list[str], uri: str) -> None:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BackupError(f"could not run {cmd[0]}: {exc}") from None
    if proc.returncode != 0:
        tail = redact((proc.stderr or proc.stdout).strip()[-800:], uri)
        raise BackupError(f"{Path(cmd[0]).name} failed (exit {proc.returncode}): {tail}")


def _count_bson(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in bson.decode_file_iter(f, _DECODE))


def _dump_mongodump(binary: str, uri: str, db_name: str, staging: Path) -> Iterator[tuple[str, Path, bytes, int]]:
    """mongodump into ``staging/dump/<db>``, then yield its files as :func:`_dump_builtin` does.

    Not exercised by the test suite (no mongod here); kept small and documented instead.
    """
    config = _mongo_config(staging, uri)
    out = staging / "dump"
    cmd = [binary, f"--config={config}", f"--db={db_name}", f"--out={out}", "--quiet"]
    cmd += [f"--excludeCollection={name}" for name in sorted(NOT_BACKED_UP)]
    _run_tool(cmd, uri)
    folder = out / db_name
    for bson_file in sorted(folder.glob("*.bson")):
        name = bson_file.name[: -len(".bson")]
        meta = folder / f"{name}.metadata.json"
        metadata = meta.read_bytes() if meta.is_file() else b"{}"
        yield name, bson_file, metadata, _count_bson(bson_file)


def backup(
    store: Store,
    path: Path,
    *,
    tool: str = "auto",
    mongo_uri: str = "",
    which: Callable[[str], str | None] = shutil.which,
    clock: Callable[[], datetime] = _utcnow,
    batch_size: int = 5000,
) -> BackupResult:
    """Write every collection of ``store`` into one archive at ``path`` (see the module docstring).

    ``tool``: ``"auto"`` uses mongodump when ``which("mongodump")`` finds it and the store is
    a MongoDB server reachable at ``mongo_uri``; ``"builtin"`` never does; ``"mongodump"``
    insists. The archive appears at ``path`` only once complete (written beside it, then
    renamed), so a crash never leaves a half archive that looks whole.
    """
    started = time.perf_counter()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        raise BackupError(f"{path} already exists; choose another name (backups are never overwritten)")
    created = clock().astimezone(timezone.utc)
    binary = which("mongodump") if tool in ("auto", "mongodump") else None
    use_mongodump = bool(binary) and store.kind != "embedded" and bool(mongo_uri)
    if tool == "mongodump" and not use_mongodump:
        raise BackupError("mongodump was asked for, but it is not on PATH or the store is not a MongoDB server "
                          "(use --tool builtin)")
    db_name = store.db.name
    partial = path.with_name(f".{path.name}.partial")
    entries: list[CollectionEntry] = []
    try:
        with tempfile.TemporaryDirectory(prefix=".octo-backup-", dir=path.parent) as tmp:
            staging = Path(tmp)
            dumps = (_dump_mongodump(binary or "", mongo_uri, db_name, staging) if use_mongodump
                     else _dump_builtin(store, staging, batch_size))
            mtime = created.timestamp()
            with tarfile.open(partial, "w:gz", compresslevel=6) as tar:
                for name, bson_file, metadata, count in dumps:
                    sha, size = _file_digest(bson_file)
                    entry = CollectionEntry(
                        name=name, file=f"data/{name}.bson", count=count, bytes=size, sha256=sha,
                        metadata_file=f"data/{name}.metadata.json",
                        metadata_sha256=hashlib.sha256(metadata).hexdigest(),
                    )
                    _add_file(tar, entry.file, bson_file, mtime)
                    _add_bytes(tar, entry.metadata_file, metadata, mtime)
                    bson_file.unlink()
                    entries.append(entry)
                    log.debug("backed up %s: %d documents", name, count)
                manifest = Manifest(created_at=created.isoformat(), db_name=db_name,
                                    tool="mongodump" if use_mongodump else "octolib", store=store.kind,
                                    collections=tuple(entries))
                _add_bytes(tar, MANIFEST, json.dumps(manifest.as_json(), indent=2).encode("utf-8"), mtime)
        with open(partial, "rb") as f:
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    except Exception as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup to {path} failed: {redact(str(exc), mongo_uri)}") from exc
    result = BackupResult(path, manifest, time.perf_counter() - started)
    log.info("%s", result.summary())
    return result


# -- checking ----------------------------------------------------------------------------------

@dataclass
class VerifiedArchive:
    """An archive whose every file matched its manifest, unpacked into ``folder``."""

    path: Path
    manifest: Manifest
    folder: Path

    def documents(self, entry: CollectionEntry, batch_size: int = 1000) -> Iterator[list[dict[str, Any]]]:
        with open(self.folder / entry.file, "rb") as f:
            batch: list[dict[str, Any]] = []
            for doc in bson.decode_file_iter(f, _DECODE):
                batch.append(doc)
                if len(batch) >= batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch

    def metadata(self, entry: CollectionEntry) -> dict[str, Any]:
        try:
            return json_util.loads((self.folder / entry.metadata_file).read_text(encoding="utf-8"))
        except ValueError:
            return {}


def _damaged(path: Path, problem: str) -> BackupError:
    return BackupError(f"{path} is damaged or not an octopus backup: {problem}. Nothing was restored; "
                       "the current data is untouched")


def _unpack(path: Path, folder: Path) -> dict[str, tuple[str, int]]:
    """Stream every member into ``folder``; return ``{name: (sha256, size)}``."""
    seen: dict[str, tuple[str, int]] = {}
    try:
        # gzip is opened by hand so the stream can be read to its very end afterwards:
        # tarfile stops at what looks like the end of the archive, and only the end of the
        # gzip stream carries the CRC that tells a corrupted archive from a good one.
        with gzip.open(path, "rb") as gz, tarfile.open(fileobj=gz, mode="r|") as tar:
            for member in tar:
                name = member.name
                if name != MANIFEST and not _MEMBER.match(name):
                    raise _damaged(path, f"unexpected entry {name!r}")
                if not member.isfile():
                    raise _damaged(path, f"{name!r} is not a regular file")
                if name in seen:
                    raise _damaged(path, f"{name!r} appears twice")
                src = tar.extractfile(member)
                if src is None:
                    raise _damaged(path, f"{name!r} cannot be read")
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                with open(target, "wb") as out:
                    writer = _HashingWriter(out)
                    while chunk := src.read(_CHUNK):
                        writer.write(chunk)
                seen[name] = (writer.sha.hexdigest(), writer.size)
            while gz.read(_CHUNK):
                pass
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise _damaged(path, f"the archive cannot be read to the end ({type(exc).__name__}: {exc})") from None
    return seen


def _verify_into(path: Path, folder: Path) -> Manifest:
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    files = _unpack(path, folder)
    if MANIFEST not in files:
        raise _damaged(path, "it has no manifest.json")
    try:
        raw = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise _damaged(path, f"manifest.json is not valid JSON ({exc})") from None
    try:
        manifest = Manifest.from_json(raw)
    except BackupError as exc:
        raise _damaged(path, str(exc)) from None
    listed = {MANIFEST}
    for entry in manifest.collections:
        for name, sha in ((entry.file, entry.sha256), (entry.metadata_file, entry.metadata_sha256)):
            listed.add(name)
            if name not in files:
                raise _damaged(path, f"{name} is listed in the manifest but missing")
            if files[name][0] != sha:
                raise _damaged(path, f"{name} does not match its checksum in the manifest")
        if files[entry.file][1] != entry.bytes:
            raise _damaged(path, f"{entry.file} has {files[entry.file][1]} bytes, the manifest says {entry.bytes}")
        try:
            count = _count_bson(folder / entry.file)
        except Exception as exc:  # noqa: BLE001 - any decoding failure means the same thing
            raise _damaged(path, f"{entry.file} does not decode as BSON ({exc})") from None
        if count != entry.count:
            raise _damaged(path, f"{entry.name} holds {count} documents, the manifest says {entry.count}")
    extra = sorted(set(files) - listed)
    if extra:
        raise _damaged(path, f"files not in the manifest: {', '.join(extra)}")
    return manifest


def verify_archive(path: Path) -> Manifest:
    """Check an archive completely (checksums, sizes, every document decodes, counts).

    Returns its manifest, or raises :class:`BackupError` saying what is wrong.
    """
    with tempfile.TemporaryDirectory(prefix=".octo-verify-") as tmp:
        return _verify_into(Path(path), Path(tmp))


# -- restoring ---------------------------------------------------------------------------------

def _restore_indexes(collection: Any, metadata: dict[str, Any], name: str) -> None:
    for spec in metadata.get("indexes") or []:
        if not isinstance(spec, dict) or spec.get("name") == "_id_" or not spec.get("key"):
            continue
        options = {k: spec[k] for k in ("unique", "sparse", "expireAfterSeconds", "partialFilterExpression")
                   if k in spec}
        try:
            collection.create_index(list(dict(spec["key"]).items()), name=spec.get("name"), **options)
        except Exception as exc:  # noqa: BLE001 - ensure_indexes already made the ones octopus needs
            log.warning("index %s on %s was not recreated: %s", spec.get("name"), name, exc)


def _restore_builtin(store: Store, archive: VerifiedArchive, entries: list[CollectionEntry],
                     batch_size: int) -> dict[str, int]:
    for entry in entries:
        store.db[entry.name].drop()
    # MongoDB: create the (time-series) collections and indexes first, so the snapshots go
    # back into time-series collections. The embedded store inserts ~6x faster without its
    # indexes (150k documents: 23 s instead of 140 s), and builds them afterwards in a second.
    index_first = store.kind != "embedded"
    if index_first:
        store.ensure_indexes()
    restored: dict[str, int] = {}
    for entry in entries:
        collection = store.db[entry.name]
        n = 0
        for batch in archive.documents(entry, batch_size):
            collection.insert_many(batch, ordered=True)
            n += len(batch)
        restored[entry.name] = n
        log.debug("restored %s: %d documents", entry.name, n)
    if not index_first:
        store.ensure_indexes()
    for entry in entries:
        _restore_indexes(store.db[entry.name], archive.metadata(entry), entry.name)
    return restored


def _restore_mongorestore(binary: str, uri: str, db_name: str, archive: VerifiedArchive,
                          entries: list[CollectionEntry], work: Path) -> dict[str, int]:
    """Not exercised by the test suite (no mongod here)."""
    dump = work / "restore" / db_name
    dump.mkdir(parents=True)
    for entry in entries:
        shutil.copyfile(archive.folder / entry.file, dump / Path(entry.file).name)
        shutil.copyfile(archive.folder / entry.metadata_file, dump / Path(entry.metadata_file).name)
    config = _mongo_config(work, uri)
    _run_tool([binary, f"--config={config}", "--drop", f"--dir={work / 'restore'}", "--quiet"], uri)
    return {e.name: e.count for e in entries}


def restore(
    store: Store,
    path: Path,
    *,
    safety_backup_dir: Path | None = None,
    mongo_uri: str = "",
    which: Callable[[str], str | None] = shutil.which,
    clock: Callable[[], datetime] = _utcnow,
    lock_ttl_s: float = 3600.0,
    batch_size: int = 1000,
) -> RestoreResult:
    """Replace the collections in ``store`` with those in the archive at ``path``.

    Order of work, so that a bad archive changes nothing: unpack and check everything
    (:func:`verify_archive`), take the sync lock, write a safety backup of the current data
    into ``safety_backup_dir`` (when given), then drop and reload each archived collection,
    recreate indexes, release the lock. Raises :class:`BackupError` (nothing written) for a
    damaged archive or a running sync.
    """
    from octolib.store.locks import LockHeld, acquire_lock, new_owner, release_lock
    from octolib.sync.service import LOCK_NAME

    started = time.perf_counter()
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix=".octo-restore-") as tmp:
        work = Path(tmp)
        manifest = _verify_into(path, work / "archive")
        archive = VerifiedArchive(path, manifest, work / "archive")
        entries = [e for e in manifest.collections if e.name not in NOT_BACKED_UP]
        buckets = [e.name for e in entries if e.name.startswith("system.")]
        mongorestore = which("mongorestore") if manifest.tool == "mongodump" else None
        use_tool = bool(mongorestore) and store.kind != "embedded" and bool(mongo_uri)
        if buckets and not use_tool:
            raise BackupError(f"{path} holds MongoDB time-series buckets ({', '.join(buckets)}) that only "
                              "mongorestore can load; install the MongoDB database tools and run again. "
                              "Nothing was restored")
        owner = new_owner(label="octo restore")
        try:
            acquire_lock(store.locks, LOCK_NAME, owner, lock_ttl_s, now=clock())
        except LockHeld as exc:
            raise BackupError(f"a sync is running ({exc}); restore when it has finished. Nothing was restored") from None
        try:
            safety = None
            if safety_backup_dir is not None:
                safety = backup(store, default_archive_path(safety_backup_dir, store.db.name, clock(), "pre-restore"),
                                tool="builtin", clock=clock).path
            archived = {e.name for e in entries}
            kept = [n for n in collections_to_back_up(store) if n not in archived]
            if use_tool:
                restored = _restore_mongorestore(mongorestore or "", mongo_uri, store.db.name, archive, entries, work)
            else:
                restored = _restore_builtin(store, archive, entries, batch_size)
        finally:
            release_lock(store.locks, LOCK_NAME, owner)
    result = RestoreResult(path, manifest, restored, time.perf_counter() - started,
                           tool="mongorestore" if use_tool else "octolib", safety_backup=safety, kept=kept)
    log.info("%s", result.summary())
    return result


def describe(manifest: Manifest) -> str:
    """Human text for ``octo restore --check``: when, what, how many."""
    lines = [f"{manifest.format} made {manifest.created_at} by {manifest.tool} from the {manifest.store} store, "
             f"database {manifest.db_name!r}: {manifest.total_documents:,} documents"]
    lines += [f"  {e.name:<30} {e.count:>10,}" for e in manifest.collections]
    return "\n".join(lines)
