"""Typed results of the EmailOctopus API v2, built tolerantly from the JSON it sends.

The API's shapes are partly unsettled (API_NOTES §13), so each ``from_api`` accepts every
plausible variant and normalises it once, here, instead of in every consumer:

- timestamps in the ``Z`` or ``+00:00`` form (or naive) become tz-aware UTC datetimes;
- a list's ``counts`` may be an object or a one-element array (the spec says array);
- a contact's ``fields`` may be ``[]`` (PHP's empty object) and becomes ``{}``;
- enum values (statuses, field types) are lowercased (trap T12: v1.6 and webhooks use
  upper case);
- ``sent_at``, ``name`` and ``subject`` may be null.

Every model keeps the untouched JSON object as ``.raw``, so nothing the API sends is lost.
A value that cannot be read (a missing ``id``, an unparsable timestamp) raises
:class:`~octolib.errors.ValidationError` naming the endpoint and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NoReturn

from octolib.errors import ValidationError

__all__ = [
    "Campaign",
    "CampaignSummary",
    "LinkStat",
    "MailList",
    "ListField",
    "ListCounts",
    "Contact",
    "ReportRow",
    "parse_timestamp",
    "CONTACT_STATUSES",
    "REPORT_STATUSES",
]

CONTACT_STATUSES: tuple[str, ...] = ("subscribed", "unsubscribed", "pending")
REPORT_STATUSES: tuple[str, ...] = (
    "sent",
    "opened",
    "clicked",
    "bounced",
    "complained",
    "unsubscribed",
    "not-opened",
    "not-clicked",
)


def parse_timestamp(value: Any) -> datetime | None:
    """Parse an API timestamp into a tz-aware UTC datetime; ``None``/``""`` stay ``None``.

    Accepts ``2015-12-01T12:59:37+00:00``, ``2024-01-19T12:14:28Z``, other offsets, fractions
    and naive values (taken as UTC). Raises ``ValueError`` on anything else.

    >>> parse_timestamp("2024-01-19T12:14:28Z") == parse_timestamp("2024-01-19T12:14:28+00:00")
    True
    >>> parse_timestamp("2024-01-19T14:14:28+02:00").isoformat()
    '2024-01-19T12:14:28+00:00'
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"  # Python 3.10's fromisoformat does not read "Z"
        dt = datetime.fromisoformat(text)
    else:
        raise ValueError(f"not a timestamp: {value!r}")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


class _Reader:
    """Reads fields of one JSON object; errors name the endpoint and the field path."""

    def __init__(self, obj: Any, where: str, path: str) -> None:
        self.where = where
        self.path = path
        if not isinstance(obj, Mapping):
            self.fail(f"{path or 'body'} is not an object (got {type(obj).__name__})")
        self.obj: Mapping[str, Any] = obj

    def fail(self, message: str) -> NoReturn:
        raise ValidationError(f"{self.where}: {message}", url=self.where, body=None)

    def name(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def required_str(self, key: str) -> str:
        value = self.obj.get(key)
        if value is None or value == "":
            self.fail(f"{self.name(key)} missing")
        if not isinstance(value, str):
            self.fail(f"{self.name(key)} is not a string (got {type(value).__name__})")
        return value

    def opt_str(self, key: str) -> str | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.fail(f"{self.name(key)} is not a string (got {type(value).__name__})")
        return value

    def enum(self, key: str) -> str | None:
        value = self.opt_str(key)
        return value.lower() if value is not None else None

    def time(self, key: str) -> datetime | None:
        try:
            return parse_timestamp(self.obj.get(key))
        except ValueError:
            self.fail(f"{self.name(key)} is not an ISO 8601 timestamp: {self.obj.get(key)!r}")

    def integer(self, key: str, obj: Any = None, label: str | None = None) -> int:
        """An integer count; missing or null counts as 0 (the API omits nothing documented)."""
        source = self.obj if obj is None else obj
        value = source.get(key) if isinstance(source, Mapping) else None
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(f"{label or self.name(key)} is not a number (got {value!r})")
        try:
            return int(value)
        except ValueError:
            self.fail(f"{label or self.name(key)} is not a number (got {value!r})")

    def boolean(self, key: str) -> bool:
        value = self.obj.get(key)
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes"}
        return bool(value)

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self.obj.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(f"{self.name(key)} is not an array")
        return tuple(str(v) for v in value if v is not None)

    def sub(self, key: str) -> Mapping[str, Any]:
        value = self.obj.get(key)
        if value is None or value == []:
            return {}
        if not isinstance(value, Mapping):
            self.fail(f"{self.name(key)} is not an object")
        return value


def _raw() -> Any:
    """The ``raw`` field: kept, but left out of repr and equality."""
    return field(repr=False, compare=False)


@dataclass(frozen=True)
class Campaign:
    """A campaign (``GET /campaigns``, ``GET /campaigns/{id}``); ``status`` lowercased."""

    id: str
    status: str | None
    name: str | None
    subject: str | None
    to: tuple[str, ...]
    from_name: str | None
    from_email: str | None
    created_at: datetime | None
    sent_at: datetime | None
    raw: dict[str, Any] = _raw()

    @property
    def html(self) -> str | None:
        """The stored email HTML (large; kept only in ``raw``)."""
        content = self.raw.get("content")
        return content.get("html") if isinstance(content, Mapping) else None

    @classmethod
    def from_api(cls, obj: Any, where: str = "", path: str = "") -> "Campaign":
        r = _Reader(obj, where, path)
        sender = r.sub("from")
        return cls(
            id=r.required_str("id"),
            status=r.enum("status"),
            name=r.opt_str("name"),
            subject=r.opt_str("subject"),
            to=r.str_list("to"),
            from_name=sender.get("name"),
            from_email=sender.get("email_address"),
            created_at=r.time("created_at"),
            sent_at=r.time("sent_at"),
            raw=dict(obj),
        )


@dataclass(frozen=True)
class CampaignSummary:
    """``GET /campaigns/{id}/reports/summary`` flattened (trap T5: nested counters)."""

    id: str
    sent: int
    bounced_hard: int
    bounced_soft: int
    opened_total: int
    opened_unique: int
    clicked_total: int
    clicked_unique: int
    complained: int
    unsubscribed: int
    raw: dict[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Any, where: str = "", path: str = "", campaign_id: str = "") -> "CampaignSummary":
        r = _Reader(obj, where, path)

        def nested(outer: str, inner: str) -> int:
            value = r.obj.get(outer)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                # Defensive: a flat number where an object is documented counts as the total.
                return int(value) if inner in ("total", "hard") else 0
            if value is not None and not isinstance(value, Mapping):
                r.fail(f"{r.name(outer)} is not an object")
            return r.integer(inner, value or {}, label=r.name(f"{outer}.{inner}"))

        return cls(
            id=r.opt_str("id") or campaign_id,
            sent=r.integer("sent"),
            bounced_hard=nested("bounced", "hard"),
            bounced_soft=nested("bounced", "soft"),
            opened_total=nested("opened", "total"),
            opened_unique=nested("opened", "unique"),
            clicked_total=nested("clicked", "total"),
            clicked_unique=nested("clicked", "unique"),
            complained=r.integer("complained"),
            unsubscribed=r.integer("unsubscribed"),
            raw=dict(obj),
        )


@dataclass(frozen=True)
class LinkStat:
    """One row of ``GET /campaigns/{id}/reports/links``; the URL is the key."""

    url: str
    clicked_total: int
    clicked_unique: int
    raw: dict[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Any, where: str = "", path: str = "") -> "LinkStat":
        r = _Reader(obj, where, path)
        return cls(
            url=r.required_str("url"),
            clicked_total=r.integer("clicked_total"),
            clicked_unique=r.integer("clicked_unique"),
            raw=dict(obj),
        )


@dataclass(frozen=True)
class ListField:
    """A custom field defined on a list; ``tag`` is its identifier, ``type`` lowercased."""

    tag: str
    label: str | None
    type: str | None
    fallback: str | None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListCounts:
    subscribed: int = 0
    unsubscribed: int = 0
    pending: int = 0


@dataclass(frozen=True)
class MailList:
    """A list (``GET /lists``, ``GET /lists/{id}``). Named so as not to shadow ``list``."""

    id: str
    name: str | None
    double_opt_in: bool
    fields: tuple[ListField, ...]
    tags: tuple[str, ...]
    counts: ListCounts
    created_at: datetime | None
    last_updated_at: datetime | None
    raw: dict[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Any, where: str = "", path: str = "") -> "MailList":
        r = _Reader(obj, where, path)
        counts_raw = r.obj.get("counts")
        if isinstance(counts_raw, list):  # the spec's array form: take element 0
            counts_raw = counts_raw[0] if counts_raw else {}
        if counts_raw is None:
            counts_raw = {}
        if not isinstance(counts_raw, Mapping):
            r.fail(f"{r.name('counts')} is not an object or array")
        counts = ListCounts(
            subscribed=r.integer("subscribed", counts_raw, label=r.name("counts.subscribed")),
            unsubscribed=r.integer("unsubscribed", counts_raw, label=r.name("counts.unsubscribed")),
            pending=r.integer("pending", counts_raw, label=r.name("counts.pending")),
        )
        fields_raw = r.obj.get("fields") or []
        if isinstance(fields_raw, Mapping):  # tolerate an object keyed by tag
            fields_raw = [dict(v, tag=v.get("tag", k)) if isinstance(v, Mapping) else {"tag": k} for k, v in fields_raw.items()]
        if not isinstance(fields_raw, list):
            r.fail(f"{r.name('fields')} is not an array")
        fields = []
        for i, f in enumerate(fields_raw):
            fr = _Reader(f, where, r.name(f"fields[{i}]"))
            fields.append(
                ListField(
                    tag=fr.required_str("tag"),
                    label=fr.opt_str("label"),
                    type=fr.enum("type"),
                    fallback=fr.opt_str("fallback"),
                    choices=fr.str_list("choices"),
                )
            )
        return cls(
            id=r.required_str("id"),
            name=r.opt_str("name"),
            double_opt_in=r.boolean("double_opt_in"),
            fields=tuple(fields),
            tags=r.str_list("tags"),
            counts=counts,
            created_at=r.time("created_at"),
            last_updated_at=r.time("last_updated_at"),
            raw=dict(obj),
        )


@dataclass(frozen=True)
class Contact:
    """A contact of one list. The API sends no ``list_id``: ``list_id`` is the one we asked for."""

    id: str
    list_id: str
    email_address: str | None
    status: str | None
    fields: dict[str, Any]
    tags: tuple[str, ...]
    created_at: datetime | None
    last_updated_at: datetime | None
    raw: dict[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Any, where: str = "", path: str = "", list_id: str = "") -> "Contact":
        r = _Reader(obj, where, path)
        return cls(
            id=r.required_str("id"),
            list_id=list_id,
            email_address=r.opt_str("email_address"),
            status=r.enum("status"),
            fields=dict(r.sub("fields")),
            tags=r.str_list("tags"),
            created_at=r.time("created_at"),
            last_updated_at=r.time("last_updated_at"),
            raw=dict(obj),
        )


@dataclass(frozen=True)
class ReportRow:
    """One row of ``GET /campaigns/{id}/reports?status=…``; ``status`` is the one asked for.

    ``email_address`` and ``occurred_at`` may be ``None`` (deleted contacts; ``sent`` rows).
    """

    campaign_id: str
    status: str
    contact_id: str
    email_address: str | None
    occurred_at: datetime | None
    raw: dict[str, Any] = _raw()

    @classmethod
    def from_api(cls, obj: Any, where: str = "", path: str = "", campaign_id: str = "", status: str = "") -> "ReportRow":
        r = _Reader(obj, where, path)
        return cls(
            campaign_id=campaign_id,
            status=status,
            contact_id=r.required_str("contact_id"),
            email_address=r.opt_str("contact_email_address"),
            occurred_at=r.time("occurred_at"),
            raw=dict(obj),
        )
