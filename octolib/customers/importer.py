"""``octo customers import`` / ``octo projects import``: a CSV or JSONL file into octopus's own collections.

Every row is checked before anything is written: a file with a bad row is rejected whole
(:class:`ImportRejected` lists each bad row with its line number), so a customer table is
never half-imported. A good file is written as one ``bulk_write`` of upserts keyed by id, so
a re-import updates the customers it names and adds the new ones (it deletes nobody).

Only the columns the mapping names are kept (id, address, segment and private fields): the
rest of a row is personal data octopus has no use for, so it is not copied.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pymongo import UpdateOne

from octolib.customers.mapping import CustomerMapping
from octolib.customers.source import CustomerSource
from octolib.errors import ConfigError, StoreError

__all__ = ["ImportRejected", "ImportResult", "read_rows", "import_customers", "import_projects", "RULE_KEYS"]

#: Rule keys a project row may carry (the partner rules' names): which campaigns are the project's.
RULE_KEYS = ("ids", "name_pattern", "subject_pattern", "list_ids")
_MAX_SHOWN = 20


class ImportRejected(ConfigError):
    """The file has bad rows; nothing was written. ``problems`` holds ``(line, message)``."""

    def __init__(self, path: Path, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        shown = "; ".join(f"line {n}: {m}" for n, m in problems[:_MAX_SHOWN])
        more = f" (and {len(problems) - _MAX_SHOWN} more)" if len(problems) > _MAX_SHOWN else ""
        super().__init__(f"{path.name}: {len(problems)} bad row(s), nothing imported: {shown}{more}")


@dataclass
class ImportResult:
    """What an import did."""

    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self, what: str) -> str:
        return (f"{self.rows} {what} read: {self.inserted} new, {self.updated} updated, "
                f"{self.unchanged} unchanged")


def read_rows(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` from a ``.csv`` (header line 1) or ``.jsonl`` file.

    A JSONL line that is not a JSON object is yielded as ``{"__error__": ...}`` so the caller
    reports it with the others instead of stopping at the first.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"no such file: {p}")
    suffix = p.suffix.lower()
    if suffix == ".csv":
        with p.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                yield reader.line_num, {k: v for k, v in row.items() if k is not None}
    elif suffix in (".jsonl", ".ndjson"):
        with p.open(encoding="utf-8") as fh:
            for n, text in enumerate(fh, start=1):
                if not text.strip():
                    continue
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield n, {"__error__": f"not JSON ({exc.msg})"}
                    continue
                yield n, value if isinstance(value, dict) else {"__error__": "not a JSON object"}
    else:
        raise ConfigError(f"{p.name}: give a .csv or .jsonl file")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _customer_doc(row: dict[str, Any], mapping: CustomerMapping) -> tuple[dict[str, Any] | None, str]:
    if "__error__" in row:
        return None, row["__error__"]
    cid = row.get(mapping.id)
    if _blank(cid):
        return None, f"no customer id in column {mapping.id!r}"
    email = row.get(mapping.email)
    if _blank(email) or "@" not in str(email):
        return None, f"no email address in column {mapping.email!r}"
    doc: dict[str, Any] = {"_id": str(cid).strip(), "email": str(email).strip()}
    for spec in mapping.fields:
        value = row.get(spec.name)
        if _blank(value):
            doc[spec.name] = None
            continue
        if spec.kind == "number":
            try:
                number = float(str(value).replace(",", "")) if isinstance(value, str) else float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return None, f"{spec.name}={value!r} is not a number"
            if number != number:
                return None, f"{spec.name} is NaN"
            doc[spec.name] = number
        elif spec.kind == "date":
            try:
                doc[spec.name] = date.fromisoformat(str(value).strip()[:10]).isoformat()
            except ValueError:
                return None, f"{spec.name}={value!r} is not a date (YYYY-MM-DD)"
        else:
            doc[spec.name] = str(value).strip()
    return doc, ""


def _upsert(collection: Any, docs: list[dict[str, Any]], result: ImportResult) -> None:
    if not docs:
        return
    ops = [UpdateOne({"_id": d["_id"]}, {"$set": {k: v for k, v in d.items() if k != "_id"}}, upsert=True)
           for d in docs]
    res = collection.bulk_write(ops, ordered=False)
    result.inserted = res.upserted_count
    result.updated = res.modified_count
    result.unchanged = len(docs) - result.inserted - result.updated


def _check_writable(source: CustomerSource, what: str) -> None:
    if source.read_only:
        raise StoreError(f"{what} come from the owner's existing collections (OCTO_CUSTOMERS_SOURCE=existing), "
                         "which octopus never writes; import is only for octopus's own copy")


def import_customers(source: CustomerSource, path: str | Path, mapping: CustomerMapping) -> ImportResult:
    """Check every row of ``path`` against ``mapping``, then upsert them all by id (or none)."""
    _check_writable(source, "customers")
    problems: list[tuple[int, str]] = []
    docs: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line, row in read_rows(path):
        doc, problem = _customer_doc(row, mapping)
        if doc is None:
            problems.append((line, problem))
            continue
        if doc["_id"] in seen:
            problems.append((line, f"customer id {doc['_id']!r} again (first on line {seen[doc['_id']]})"))
            continue
        seen[doc["_id"]] = line
        docs.append(doc)
    if problems:
        raise ImportRejected(Path(path), problems)
    result = ImportResult(rows=len(docs))
    _upsert(source.customers, docs, result)
    source.save_mapping(mapping)
    return result


def _rule_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(";") if v.strip()]


def import_projects(source: CustomerSource, path: str | Path) -> ImportResult:
    """Projects from ``path`` (columns ``id``, ``name``, optional rule columns, anything else kept).

    Rule columns (``ids``, ``list_ids``: ``;``-separated in a CSV or lists in JSONL;
    ``name_pattern``, ``subject_pattern``: case-insensitive regular expressions) go to
    octopus's ``project_rules``, not into the project, so the same rules work for an owner's
    existing projects collection.
    """
    import re

    _check_writable(source, "projects")
    problems: list[tuple[int, str]] = []
    docs: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line, row in read_rows(path):
        if "__error__" in row:
            problems.append((line, row["__error__"]))
            continue
        pid = row.get("id", row.get("_id"))
        if _blank(pid):
            problems.append((line, "no project id in column 'id'"))
            continue
        pid = str(pid).strip()
        if pid in seen:
            problems.append((line, f"project id {pid!r} again (first on line {seen[pid]})"))
            continue
        seen[pid] = line
        rule: dict[str, Any] = {}
        bad = ""
        for key in RULE_KEYS:
            value = row.get(key)
            if _blank(value):
                continue
            if key.endswith("_pattern"):
                try:
                    re.compile(str(value))
                except re.error as exc:
                    bad = f"{key}={value!r} is not a regular expression ({exc})"
                rule[key] = str(value)
            else:
                rule[key] = _rule_list(value)
        if bad:
            problems.append((line, bad))
            continue
        doc = {k: v for k, v in row.items() if k not in RULE_KEYS and k not in ("id", "_id")}
        doc["_id"] = pid
        if _blank(doc.get("name")):
            doc["name"] = pid
        docs.append(doc)
        rules.append({"_id": pid, "rules": rule})
    if problems:
        raise ImportRejected(Path(path), problems)
    result = ImportResult(rows=len(docs))
    _upsert(source.projects, docs, result)
    for r in rules:
        source.store.project_rules.replace_one({"_id": r["_id"]}, r, upsert=True)
    return result
