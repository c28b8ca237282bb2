"""Conversions of a partner: its uploaded outcome files, and the per-campaign counts.

EmailOctopus's API has no conversion data (see :mod:`octolib.metrics.conversions` for the
definitions). A partner gives octopus its own outcomes as a CSV file:

.. code-block:: text

    email,time,value                      # header row; names are case-insensitive
    Ana@Example.com,2026-10-03T14:05:00Z,49.90
    ben@example.com,2026-10-04,           # a date alone is its midnight; value optional

Columns: ``email`` (or ``email_address``) and/or ``contact_id`` (a row gives either),
``time`` (or ``occurred_at``; ISO 8601, without a zone it is read in ``OCTO_TIMEZONE``),
optional ``value`` (a number ≥ 0, ``.`` as the decimal point). Addresses are matched to
contacts case-insensitively; a partner with ``campaigns.list_ids`` matches only contacts of
those lists (its own), any other partner the account's contacts.

**All or nothing.** :func:`check_outcomes` reads the whole file first and raises
:class:`OutcomeFileError` listing every bad row with its line number (missing columns,
unparseable times or values, unknown contacts); only a clean file is stored. The store
write itself is all-or-nothing for readers: outcomes count only while their upload
document exists, and that document is written last (and removed first).

**Stored**: ``conversion_uploads`` (one per file: partner, file name, rows, who uploaded
it and when) and ``conversions`` (one per outcome: upload, partner, line, the matched
contact ids, time, value). The file's addresses are not stored, only contact ids.

**Attribution** happens when counts are read (:func:`conversion_table`), not at upload,
so a sync that brings later clicks, or a changed window, is reflected without re-uploading.

**Who.** ``actor`` is the signed-in analyst on a page; the command line passes ``--as NAME``
or ``cli:<operating-system user>`` (an OS account is not an analyst, so it is marked).
Each upload and removal is also written to ``audit_log`` (:func:`octolib.audit.record`,
actions ``conversions_uploaded`` and ``conversions_removed``, target the partner).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from octolib.audit import record
from octolib.errors import ConfigError
from octolib.metrics.conversions import (
    NO_CAMPAIGN,
    attribute_outcomes,
    conversion_counts,
    goal_clicks,
    goal_link_mask,
    goal_rate,
)
from octolib.reports.partners import Partner, campaign_query, get_partner, partner_lists
from octolib.store import campaign_arrays, event_arrays, iter_batches, link_rows

if TYPE_CHECKING:
    from octolib.store import Store

__all__ = [
    "OutcomeFileError",
    "Outcome",
    "ContactIndex",
    "Upload",
    "ConversionTable",
    "MAX_FILE_BYTES",
    "MAX_ROWS",
    "contact_index",
    "check_outcomes",
    "import_outcomes",
    "list_uploads",
    "remove_upload",
    "conversion_table",
    "has_conversions",
    "cli_actor",
    "CampaignConversions",
    "account_conversions",
]

log = logging.getLogger(__name__)

#: A file larger than this is refused before it is read (an outcome file is small).
MAX_FILE_BYTES = 10 * 1024 * 1024
#: At most this many outcome rows per file.
MAX_ROWS = 100_000
#: Problems shown in a message (the exception's ``problems`` holds every one).
SHOWN_PROBLEMS = 20

_EMAIL_COLUMNS = ("email", "email_address")
_ID_COLUMNS = ("contact_id",)
_TIME_COLUMNS = ("time", "occurred_at")
_VALUE_COLUMNS = ("value",)


class OutcomeFileError(ConfigError):
    """An outcome file that cannot be stored; ``problems`` are ``(line, message)`` pairs
    (line 0: the file as a whole). Nothing of the file was stored."""

    def __init__(self, filename: str, problems: Sequence[tuple[int, str]]) -> None:
        self.filename = filename
        self.problems = list(problems)
        shown = [f"line {n}: {m}" if n else m for n, m in self.problems[:SHOWN_PROBLEMS]]
        more = len(self.problems) - len(shown)
        head = (f"{filename}: {len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}, "
                "nothing was stored")
        super().__init__("\n".join([head, *(f"  {s}" for s in shown)] + ([f"  ... and {more} more"] if more else [])))


@dataclass(frozen=True)
class Outcome:
    """One checked row: its line, the contacts it matched (one per list), when, what value."""

    line: int
    contact_ids: tuple[str, ...]
    occurred_at: datetime
    value: float | None


@dataclass(frozen=True)
class ContactIndex:
    """The contacts an outcome may name: ids by lower-cased address, and every id known."""

    by_email: Mapping[str, tuple[str, ...]]
    email_of: Mapping[str, str]
    scope: str  # "the partner's lists" or "the account": said in messages


@dataclass(frozen=True)
class Upload:
    """One stored outcome file (a ``conversion_uploads`` document)."""

    upload_id: str
    partner: str
    filename: str
    rows: int
    uploaded_by: str
    uploaded_at: datetime
    valued: int = 0
    value_total: float = 0.0


@dataclass(frozen=True)
class ConversionTable:
    """Per-campaign conversions of one partner, rows aligned with ``campaign_ids``.

    ``goal_clicks``/``goal_rate`` from the partner's goal links (zeros, NaN rates, without
    any); ``conversion_*`` from its uploads. ``outcomes`` counts the partner's stored
    outcomes, ``unattributed`` those with no click of the contact on any of the partner's
    campaigns within the window, ``elsewhere`` those credited to a campaign of the partner
    that is not among ``campaign_ids`` (e.g. outside the report's period).
    """

    campaign_ids: np.ndarray
    delivered: np.ndarray
    goal_clicks: np.ndarray
    goal_rate: np.ndarray
    conversion_count: np.ndarray
    conversion_rate: np.ndarray
    conversion_value: np.ndarray
    valued_count: np.ndarray
    outcomes: int
    unattributed: int
    elsewhere: int
    has_goal_links: bool
    has_uploads: bool
    window_days: float
    uploads: list[Upload] = field(default_factory=list)

    def row(self, campaign_id: str) -> int | None:
        hits = np.flatnonzero(self.campaign_ids == campaign_id)
        return int(hits[0]) if hits.size else None


def cli_actor(name: str | None, os_user: str) -> str:
    """Who the command line records: ``--as NAME`` when given, else ``cli:<OS user>``.

    >>> cli_actor(None, "ubuntu"), cli_actor(" ana ", "ubuntu")
    ('cli:ubuntu', 'ana')
    """
    return name.strip() if name and name.strip() else f"cli:{os_user}"


# -- checking a file -----------------------------------------------------------------------------

def contact_index(store: Store, partner: Partner) -> ContactIndex:
    """The contacts ``partner``'s outcomes may name: those of its lists, or the account's
    when it has none (see the module doc)."""
    lists = partner_lists(partner)
    query: dict[str, Any] = {"list_id": {"$in": list(lists)}} if lists else {}
    by_email: dict[str, list[str]] = {}
    email_of: dict[str, str] = {}
    for batch in iter_batches(store.contacts, query, {"_id": 0, "emailoctopus_id": 1, "email": 1}):
        for doc in batch:
            cid, email = str(doc.get("emailoctopus_id") or ""), str(doc.get("email") or "").strip().lower()
            if not cid:
                continue
            email_of[cid] = email
            if email:
                by_email.setdefault(email, []).append(cid)
    return ContactIndex({k: tuple(sorted(set(v))) for k, v in by_email.items()}, email_of,
                        "the partner's lists" if lists else "the account")


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def _parse_time(text: str, tz: ZoneInfo) -> datetime:
    when = datetime.fromisoformat(text)  # 2026-10-03, 2026-10-03T14:05, ...Z, ...+02:00
    if when.tzinfo is None:
        when = when.replace(tzinfo=tz)
    return when.astimezone(timezone.utc)


def check_outcomes(data: bytes | str, index: ContactIndex, *, filename: str = "outcomes.csv",
                   tz: str = "UTC") -> list[Outcome]:
    """Every outcome of the CSV ``data``, checked; :class:`OutcomeFileError` listing every
    bad row (with its line number) otherwise. Reads nothing from the store.
    """
    if isinstance(data, bytes):
        if len(data) > MAX_FILE_BYTES:
            raise OutcomeFileError(filename, [(0, f"the file is {len(data) / 1e6:.1f} MB; an outcome file may be at "
                                                  f"most {MAX_FILE_BYTES // (1024 * 1024)} MB")])
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise OutcomeFileError(filename, [(0, "the file is not UTF-8 text; save it as CSV (UTF-8)")]) from None
    else:
        text = data.removeprefix("\ufeff")
    zone = ZoneInfo(tz)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower().replace(" ", "_") for h in next(reader)]
    except StopIteration:
        raise OutcomeFileError(filename, [(0, "the file is empty; the first line must name the columns, "
                                              "e.g. email,time,value")]) from None
    except csv.Error as exc:
        raise OutcomeFileError(filename, [(1, f"not CSV ({exc})")]) from None
    i_email, i_id = _pick(header, _EMAIL_COLUMNS), _pick(header, _ID_COLUMNS)
    i_time, i_value = _pick(header, _TIME_COLUMNS), _pick(header, _VALUE_COLUMNS)
    missing = []
    if i_email is None and i_id is None:
        missing.append("email (or contact_id)")
    if i_time is None:
        missing.append("time")
    if missing:
        raise OutcomeFileError(filename, [(1, f"missing column{'s' if len(missing) > 1 else ''} "
                                              f"{' and '.join(missing)}; the header has {', '.join(header) or 'nothing'} "
                                              "(expected e.g. email,time,value)")])
    problems: list[tuple[int, str]] = []
    outcomes: list[Outcome] = []
    line = 1
    try:
        for row in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank lines are not outcomes
            if len(outcomes) + len(problems) >= MAX_ROWS:
                raise OutcomeFileError(filename, [(start, f"more than {MAX_ROWS:,} outcomes; split the file")])
            outcome = _check_row(row, start, index, zone, i_email, i_id, i_time, i_value, problems)
            if outcome is not None:
                outcomes.append(outcome)
    except csv.Error as exc:
        problems.append((line + 1, f"not CSV ({exc})"))
    if not outcomes and not problems:
        problems.append((0, "the file has a header but no outcomes"))
    if problems:
        raise OutcomeFileError(filename, problems)
    return outcomes


def _cell(row: list[str], i: int | None) -> str:
    return row[i].strip() if i is not None and i < len(row) else ""


def _check_row(row: list[str], line: int, index: ContactIndex, zone: ZoneInfo, i_email: int | None,
               i_id: int | None, i_time: int | None, i_value: int | None,
               problems: list[tuple[int, str]]) -> Outcome | None:
    """One row as an :class:`Outcome`, or None with its problems appended (each once)."""
    before = len(problems)
    email, cid = _cell(row, i_email).lower(), _cell(row, i_id)
    contact_ids: tuple[str, ...] = ()
    if cid:
        if cid not in index.email_of:
            problems.append((line, f"no contact with id {cid!r} in {index.scope}"))
        else:  # the same person on the partner's other lists counts as one person
            contact_ids = index.by_email.get(index.email_of[cid], (cid,)) if index.email_of[cid] else (cid,)
    elif email:
        contact_ids = index.by_email.get(email, ())
        if not contact_ids:  # never echo the address: the message may be shown or logged
            problems.append((line, f"no contact with this email address in {index.scope}"))
    else:
        problems.append((line, "no email address or contact id"))
    raw_time = _cell(row, i_time)
    when: datetime | None = None
    try:
        when = _parse_time(raw_time, zone) if raw_time else None
        if when is None:
            problems.append((line, "no time; give the outcome's date and time, e.g. 2026-10-03T14:05:00Z"))
    except ValueError:
        problems.append((line, f"time {raw_time[:40]!r} is not a date; write it as 2026-10-03 or 2026-10-03T14:05:00Z"))
    raw_value = _cell(row, i_value)
    value: float | None = None
    if raw_value:
        try:
            value = float(raw_value)
            if not math.isfinite(value) or value < 0:
                raise ValueError
        except ValueError:
            problems.append((line, f"value {raw_value[:40]!r} is not a number ≥ 0; write it like 49.90 (no currency "
                                   "sign or thousands separator)"))
    if len(problems) > before or when is None:
        return None
    return Outcome(line, contact_ids, when, value)


# -- storing --------------------------------------------------------------------------------------

def import_outcomes(store: Store, partner_slug: str, data: bytes | str, *, filename: str, actor: str,
                    tz: str = "UTC", now: datetime | None = None) -> Upload:
    """Check the whole file, then store it as one upload of ``partner_slug``; returns it.

    Raises :class:`~octolib.reports.partners.PartnerError` for an unknown partner and
    :class:`OutcomeFileError` for a bad file, in both cases before anything is written.
    ``actor`` is who uploaded it (see the module doc): required, never guessed here.
    """
    if not actor or not actor.strip():
        raise ConfigError("an upload needs the name of who uploads it (the signed-in analyst, or --as NAME)")
    partner = get_partner(store, partner_slug)
    name = (filename or "outcomes.csv").replace("\\", "/").rsplit("/", 1)[-1][:200]
    outcomes = check_outcomes(data, contact_index(store, partner), filename=name, tz=tz)
    upload_id = secrets.token_hex(6)
    when = now or datetime.now(timezone.utc)
    docs = [{"upload_id": upload_id, "partner": partner.slug, "line": o.line, "contact_ids": list(o.contact_ids),
             "occurred_at": o.occurred_at, "value": o.value} for o in outcomes]
    valued = [o.value for o in outcomes if o.value is not None]
    upload = Upload(upload_id, partner.slug, name, len(outcomes), actor.strip(), when, len(valued), float(sum(valued)))
    try:
        for start in range(0, len(docs), 5000):
            store.conversions.insert_many(docs[start:start + 5000], ordered=False)
        store.conversion_uploads.insert_one({"_id": upload_id, "partner": upload.partner, "filename": name,
                                             "rows": upload.rows, "valued": upload.valued,
                                             "value_total": upload.value_total, "uploaded_by": upload.uploaded_by,
                                             "uploaded_at": when})
    except Exception:
        store.conversions.delete_many({"upload_id": upload_id})  # no half upload stays behind
        raise
    record(store, actor=upload.uploaded_by, action="conversions_uploaded", target=partner.slug,
           upload_id=upload_id, filename=name, rows=upload.rows)
    log.info("stored %d outcome(s) of %s for %s as upload %s", upload.rows, name, partner.slug, upload_id)
    return upload


def _upload(doc: Mapping[str, Any]) -> Upload:
    when = doc.get("uploaded_at")
    if isinstance(when, datetime) and when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return Upload(str(doc["_id"]), str(doc.get("partner", "")), str(doc.get("filename", "")), int(doc.get("rows") or 0),
                  str(doc.get("uploaded_by", "")), when if isinstance(when, datetime) else datetime.min,
                  int(doc.get("valued") or 0), float(doc.get("value_total") or 0.0))


def list_uploads(store: Store, partner: str | None = None) -> list[Upload]:
    """Stored uploads, newest first (of one partner when ``partner`` is given)."""
    query = {} if partner is None else {"partner": partner}
    return [_upload(d) for d in store.conversion_uploads.find(query).sort("uploaded_at", -1)]


def remove_upload(store: Store, upload_id: str, *, actor: str) -> Upload:
    """Remove an upload and its outcomes; ConfigError naming the known ids when there is none."""
    doc = store.conversion_uploads.find_one({"_id": upload_id})
    if doc is None:
        known = [u.upload_id for u in list_uploads(store)][:10]
        raise ConfigError(f"no conversion upload {upload_id!r}; "
                          + (f"uploads: {', '.join(known)} (octo conversions list)" if known else "nothing is uploaded"))
    upload = _upload(doc)
    store.conversion_uploads.delete_one({"_id": upload_id})  # first: its outcomes stop counting at once
    store.conversions.delete_many({"upload_id": upload_id})
    record(store, actor=actor, action="conversions_removed", target=upload.partner, upload_id=upload_id,
           filename=upload.filename, rows=upload.rows)
    return upload


# -- counting -------------------------------------------------------------------------------------

def has_conversions(store: Store, partner: Partner) -> bool:
    """Whether the partner has goal links or an upload (the report's Conversions section shows then)."""
    return bool(partner.goal_links) or store.conversion_uploads.count_documents({"partner": partner.slug}, limit=1) > 0


def conversion_table(store: Store, partner: Partner | str, campaign_ids: Iterable[str] | None = None, *,
                     window_days: float = 7.0) -> ConversionTable:
    """Goal clicks and uploaded conversions per campaign of ``partner``.

    ``campaign_ids`` picks the rows (default: every campaign of the partner); ids that are
    not the partner's are dropped, so nothing of another partner is ever counted. Outcomes
    are attributed among all the partner's campaigns (the last click may be older than the
    rows asked for); those credited elsewhere are not in the rows' counts.
    """
    if isinstance(partner, str):
        partner = get_partner(store, partner)
    mine = campaign_arrays(store, campaign_query(partner))
    all_ids = np.asarray(mine["campaign_id"], dtype=object)
    order = np.argsort(all_ids.astype(str), kind="stable")  # ties in attribution break by campaign id
    all_ids = all_ids[order]
    delivered_all = np.asarray(mine["delivered"], dtype=np.int64)[order]
    if campaign_ids is None:
        rows = np.arange(len(all_ids))
    else:
        wanted = set(map(str, campaign_ids))
        rows = np.asarray([i for i, c in enumerate(all_ids) if c in wanted], dtype=np.int64)
    ids, delivered = all_ids[rows], delivered_all[rows]

    links = link_rows(store, [str(c) for c in ids]) if partner.goal_links else []
    is_goal = goal_link_mask([r["url"] for r in links], partner.goal_links)
    goals = goal_clicks([r["campaign_id"] for r in links], [r["clicked_unique"] for r in links], is_goal, ids)

    uploads = list_uploads(store, partner.slug)
    attributed, values = _attributed(store, partner.slug, [u.upload_id for u in uploads], all_ids, window_days)
    position = np.full(len(all_ids), NO_CAMPAIGN, dtype=np.int64)
    position[rows] = np.arange(len(rows))
    local = np.where(attributed >= 0, position[np.maximum(attributed, 0)] if len(all_ids) else NO_CAMPAIGN, NO_CAMPAIGN)
    conv = conversion_counts(local, values, delivered)
    return ConversionTable(
        campaign_ids=ids, delivered=delivered, goal_clicks=goals, goal_rate=goal_rate(goals, delivered),
        conversion_count=conv.conversion_count, conversion_rate=conv.conversion_rate,
        conversion_value=conv.conversion_value, valued_count=conv.valued_count, outcomes=len(attributed),
        unattributed=int((attributed < 0).sum()), elsewhere=int(((attributed >= 0) & (local < 0)).sum()),
        has_goal_links=bool(partner.goal_links), has_uploads=bool(uploads),
        window_days=window_days, uploads=uploads,
    )


def _attributed(store: Store, slug: str, upload_ids: list[str], campaign_ids: np.ndarray,
                window_days: float) -> tuple[np.ndarray, np.ndarray]:
    """(campaign index or -1, value or NaN) per stored outcome of the live uploads."""
    if not upload_ids:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    person_of: dict[str, int] = {}
    persons: list[int] = []
    times: list[Any] = []
    values: list[float] = []
    people: dict[tuple[str, ...], int] = {}
    for batch in iter_batches(store.conversions, {"partner": slug, "upload_id": {"$in": upload_ids}},
                              {"_id": 0, "contact_ids": 1, "occurred_at": 1, "value": 1}):
        for doc in batch:
            key = tuple(doc.get("contact_ids") or ())
            code = people.setdefault(key, len(people))
            for cid in key:
                person_of[cid] = code
            persons.append(code)
            when = doc["occurred_at"]
            times.append(when.replace(tzinfo=None) if when.tzinfo is None else when.astimezone(timezone.utc).replace(tzinfo=None))
            values.append(float("nan") if doc.get("value") is None else float(doc["value"]))
    clicks = event_arrays(store, [str(c) for c in campaign_ids], ["clicked"]) if len(campaign_ids) else None
    if clicks is None or not len(clicks["contact_id"]):
        return np.full(len(persons), NO_CAMPAIGN, dtype=np.int64), np.asarray(values, dtype=np.float64)
    keep = np.fromiter((c in person_of for c in clicks["contact_id"]), dtype=bool, count=len(clicks["contact_id"]))
    click_person = np.fromiter((person_of[c] for c in clicks["contact_id"][keep]), dtype=np.int64)
    index_of = {str(c): i for i, c in enumerate(campaign_ids)}
    click_campaign = np.fromiter((index_of[str(c)] for c in clicks["campaign_id"][keep]), dtype=np.int64)
    click_time = clicks["occurred_at"][keep]
    order = np.lexsort((click_campaign,))  # equal times: the campaign with the larger id wins, always the same
    attributed = attribute_outcomes(np.asarray(persons, dtype=np.int64), np.asarray(times, dtype="datetime64[s]"),
                                    click_person[order], click_time[order], click_campaign[order],
                                    window_days * 86400.0)
    return attributed, np.asarray(values, dtype=np.float64)


@dataclass(frozen=True)
class CampaignConversions:
    """Account-wide conversions of one campaign, for pages that list every campaign.

    ``goal_clicks`` counts the campaign's links that are a goal of any partner the campaign
    belongs to (each link once); ``conversions``/``value`` sum the outcomes each partner's
    uploads credit to it (an outcome belongs to one upload, so it is counted once).
    """

    goal_clicks: int | None
    conversions: int | None
    value: float | None


def account_conversions(store: Store, *, window_days: float = 7.0) -> dict[str, CampaignConversions]:
    """Per campaign id, its goal clicks and conversions over every partner that has any;
    campaigns of no such partner are absent. Empty when no partner has goal links or uploads."""
    from octolib.reports.partners import list_partners

    partners = [p for p in list_partners(store) if has_conversions(store, p)]
    if not partners:
        return {}
    goal_patterns: dict[str, set[str]] = {}
    conversions: dict[str, int] = {}
    values: dict[str, float] = {}
    for p in partners:
        table = conversion_table(store, p, window_days=window_days)
        for i, cid in enumerate(map(str, table.campaign_ids)):
            if p.goal_links:
                goal_patterns.setdefault(cid, set()).update(p.goal_links)
            if table.has_uploads:
                conversions[cid] = conversions.get(cid, 0) + int(table.conversion_count[i])
                values[cid] = values.get(cid, 0.0) + float(table.conversion_value[i])
    goals: dict[str, int] = {}
    if goal_patterns:
        links = link_rows(store, list(goal_patterns))
        by_campaign: dict[str, list[dict[str, Any]]] = {}
        for r in links:
            by_campaign.setdefault(r["campaign_id"], []).append(r)
        for cid, patterns in goal_patterns.items():
            rows = by_campaign.get(cid, [])
            mask = goal_link_mask([r["url"] for r in rows], sorted(patterns))
            goals[cid] = int(goal_clicks([cid] * len(rows), [r["clicked_unique"] for r in rows], mask, [cid])[0])
    return {cid: CampaignConversions(goals.get(cid), conversions.get(cid), values.get(cid))
            for cid in set(goals) | set(conversions)}
