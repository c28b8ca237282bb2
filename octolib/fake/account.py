"""A seeded, self-consistent EmailOctopus account: lists, contacts, campaigns and reports.

Why a generator and not fixtures: the sync, the metrics and the dashboards need an account
that looks like a real one (growth over 18 months, funnels that differ per campaign, opens
that follow office hours and decay after the send) and that *changes* over time, so the
incremental sync can be tested. Everything is a pure function of ``(seed, size)`` plus the
sequence of :meth:`FakeAccount.advance` calls, so two runs with the same inputs give the same
bytes.

How time works here: every campaign's whole future (each contact's send time, opens, clicks,
bounces, unsubscribes and complaints, up to 30 days after the send) is drawn when the account
is generated; the API shows only what happened up to :attr:`FakeAccount.now`. Contacts carry
their own timeline too (created, confirmed, unsubscribed). ``advance(hours)`` moves the clock,
which reveals the campaign events and contact status changes that fall in the window, and
draws new sign-ups and a few unsubscribes for it. So summaries, rows, link totals and list
counts are always computed from the same events and agree with each other (API_NOTES §12.4).

Fake-server choices that are not vendor facts (API_NOTES §13) and are documented here:

* Per-contact reports hold **one row per contact per status**, at the first occurrence
  (first open, first click). ``occurred_at`` of ``sent``, ``not-opened`` and ``not-clicked``
  rows is the contact's send time. ``opened.total``/``clicked.total`` count every event.
* Bounced contacts never open or click. ``not-opened`` = sent minus opened and
  ``not-clicked`` = sent minus clicked (bounced contacts are in both).
* A few clicks come from contacts with no recorded open (image blocking), so
  ``clicked.unique <= opened.unique`` usually but not always.
* A hard bounce or a complaint also unsubscribes the contact (there is no bounced or
  complained contact status in v2), and any status change bumps ``last_updated_at``.
* Contact ``fields`` hold only the fields that have a value; a contact imported with an email
  address only has ``{}``.
* The same email address may be on two lists: two contacts with two ids (trap T13).
* Campaigns to two lists exist; drafts may have an empty ``to``.
* Automated activity is planted (issue 14, :meth:`FakeAccount._plant_automation`): machine
  opens seconds after the send and bot clicks (on delivery, or a gateway's batch in one
  second), from a separate seeded stream; :meth:`FakeAccount.automation_truth` says which.
"""

from __future__ import annotations

import bisect
import copy
import hashlib
import logging
import random
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["FakeAccount", "SizeSpec", "SIZES", "scaled", "resolve_size", "REPORT_STATUSES", "CONTACT_STATUSES", "DEFAULT_START"]

log = logging.getLogger(__name__)

#: The eight ``status`` values of ``GET /campaigns/{id}/reports`` [SPEC].
REPORT_STATUSES: tuple[str, ...] = (
    "bounced", "clicked", "complained", "opened", "sent", "unsubscribed", "not-opened", "not-clicked",
)
#: Contact statuses of API v2 [SPEC].
CONTACT_STATUSES: tuple[str, ...] = ("subscribed", "unsubscribed", "pending")

#: The account clock's start when none is given: fixed, so generated data never depends on
#: the wall clock.
DEFAULT_START = datetime(2026, 11, 1, tzinfo=timezone.utc)

_HOUR = 3600
_DAY = 86400
_EVENT_HORIZON_S = 30 * _DAY  # no campaign event later than this after the contact's send
_UUID_EPOCH_OFFSET = 0x01B21DD213814000  # 100-ns ticks from 1582-10-15 to 1970-01-01

#: Share of contacts behind an image-fetching privacy proxy or scanner (machine opens).
PROXY_SHARE = 0.07
#: Share of contacts behind a link scanner (bot clicks).
SCANNER_SHARE = 0.04


@dataclass(frozen=True)
class SizeSpec:
    """How big a generated account is.

    ``zero_open_campaigns`` sent campaigns get no opens and no clicks at all (tracking off,
    or a broken template): the product must cope with a 0 % open rate.
    """

    lists: int
    campaigns: int
    contacts: int
    drafts: int = 1
    sending: int = 1
    zero_open_campaigns: int = 0
    months: float = 18.0
    links_per_campaign: tuple[int, int] = (2, 5)
    #: How many copies of the base shape this account is (see :func:`scaled`). Lists' weights
    #: repeat every ``lists // scale`` lists, so one campaign reaches as many contacts as at 1x
    #: and the events grow with the scale, not with its square. Not in the repr, so the named
    #: sizes keep their seeds (and their data).
    scale: int = field(default=1, repr=False)

    def __post_init__(self) -> None:
        if self.lists < 1 or self.contacts < self.lists:
            raise ValueError("a SizeSpec needs at least one list and one contact per list")
        if self.campaigns < self.drafts + self.sending or min(self.drafts, self.sending) < 0:
            raise ValueError("campaigns must be >= drafts + sending (both >= 0)")
        if not 0 <= self.zero_open_campaigns <= self.campaigns - self.drafts - self.sending:
            raise ValueError("zero_open_campaigns must be between 0 and the number of sent campaigns")
        if self.months <= 0:
            raise ValueError("months must be > 0")
        if self.scale < 1 or self.lists % self.scale:
            raise ValueError("scale must be >= 1 and divide the number of lists")


def scaled(spec: SizeSpec, factor: int) -> SizeSpec:
    """``factor`` times ``spec``: as many times the lists, contacts and campaigns (and so events).

    Why all three: scaling contacts alone keeps the campaign count, scaling contacts and
    campaigns on the same lists multiplies the events by ``factor`` squared (every campaign
    reaches ``factor`` times the people). An account of ``factor`` copies of the base shape
    grows every collection by ``factor``, which is what a growth benchmark needs to tell
    octopus's own costs from the data's.
    """
    if not isinstance(factor, int) or factor < 1:
        raise ValueError(f"a scale factor must be a whole number >= 1, got {factor!r}")
    return replace(spec, lists=spec.lists * factor, campaigns=spec.campaigns * factor,
                   contacts=spec.contacts * factor, drafts=spec.drafts * factor, sending=spec.sending * factor,
                   zero_open_campaigns=spec.zero_open_campaigns * factor, scale=spec.scale * factor)


def resolve_size(size: str | SizeSpec) -> SizeSpec:
    """A :class:`SizeSpec` from a name in :data:`SIZES` or ``"<N>x"`` (N times the demo account).

    >>> resolve_size("3x").contacts == 3 * SIZES["demo"].contacts
    True
    """
    if isinstance(size, SizeSpec):
        return size
    if size in SIZES:
        return SIZES[size]
    text = str(size).strip().lower()
    if text.endswith("x") and text[:-1].isdigit() and int(text[:-1]) >= 1:
        return scaled(SIZES["demo"], int(text[:-1]))
    raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)} or '<N>x' (N times the demo account)")


#: Named sizes: "tiny" for unit tests, "small" for quick manual runs, "demo" for the demo.
SIZES: dict[str, SizeSpec] = {
    "tiny": SizeSpec(lists=2, campaigns=6, contacts=60, drafts=1, sending=1),
    "small": SizeSpec(lists=3, campaigns=12, contacts=600, drafts=2, sending=1),
    "demo": SizeSpec(lists=3, campaigns=30, contacts=6000, drafts=3, sending=1, zero_open_campaigns=1),
}
#: Growth presets (``"<N>x"`` works for any N): N times the demo account's lists, contacts and campaigns.
SIZES.update({f"{n}x": scaled(SIZES["demo"], n) for n in (5, 10, 20, 50)})

_FIRST = ["Otto", "Claire", "Amara", "Ben", "Chen", "Dara", "Elif", "Farid", "Grace", "Hugo", "Ines",
          "Jonas", "Kai", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tara",
          "Uma", "Viktor", "Wen", "Xavi", "Yara", "Zoe", "Aiko", "Bruno", "Carmen", "Dmitri"]
_LAST = ["Example", "Octopus", "Reef", "Coral", "Tide", "Harbor", "Kelp", "Shell", "Wave", "Drift",
         "Marlin", "Pearl", "Current", "Lagoon", "Atoll", "Cove", "Delta", "Fjord", "Gull", "Heron"]
_DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "post.example", "inbox.example"]
_CITIES = ["Leeds", "Bristol", "Glasgow", "Cardiff", "Belfast", "York", "Bath", "Derby"]
_LIST_NAMES = ["Newsletter", "Customers", "Events", "Partners", "Beta testers", "Volunteers"]
_TAG_POOL = ["vip", "partner-acme", "partner-globex", "partner-initech", "event-2026", "beta", "donor", "press"]
_THEMES = [("Monthly newsletter", "What's new this month"), ("Spring sale", "20% off everything until Sunday"),
           ("Event invite", "Join us in Leeds"), ("Product update", "Three new features you asked for"),
           ("Partner spotlight", "Meet our partners"), ("Survey", "Two minutes to help us improve"),
           ("Webinar", "Live Q&A next Tuesday"), ("Year in review", "Our year in numbers"),
           ("Welcome back", "We missed you"), ("Case study", "How Acme doubled sign-ups")]
_LINK_POOL = ["https://example.com/blog/{slug}", "https://shop.example.com/sale?utm_source=emailoctopus&utm_medium=email&utm_campaign={slug}",
              "https://example.com/events/{slug}?utm_source=newsletter&utm_medium=email", "https://example.org/partners",
              "https://example.com/survey?utm_source=emailoctopus&utm_campaign={slug}&utm_content=button",
              "https://docs.example.com/changelog", "https://example.com/donate", "https://example.net/webinar/{slug}"]

# Relative engagement by hour of day (UTC) and by weekday (Monday = 0): office hours and
# evenings, quiet nights and weekends. Used to accept or redraw event times.
_HOUR_W = [0.12, 0.08, 0.06, 0.06, 0.08, 0.15, 0.35, 0.6, 0.9, 1.0, 0.95, 0.85,
           0.9, 0.85, 0.75, 0.7, 0.7, 0.7, 0.75, 0.85, 0.8, 0.6, 0.4, 0.22]
_WEEKDAY_W = [1.0, 0.97, 0.95, 0.93, 0.85, 0.55, 0.5]


def iso(t: int) -> str:
    """Epoch seconds to the API's timestamp form, ``YYYY-MM-DDTHH:MM:SS+00:00``."""
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat()


def _epoch(dt: datetime) -> int:
    if dt.tzinfo is None:
        raise ValueError("the account clock needs a timezone-aware datetime")
    return int(dt.timestamp())


def _activity_weight(t: int) -> float:
    return _HOUR_W[(t // _HOUR) % 24] * _WEEKDAY_W[((t // _DAY) + 3) % 7]


@dataclass(eq=False)
class _Contact:
    id: str
    list_id: str
    email: str
    fields: dict[str, Any]
    tags: list[str]
    created_at: int
    updated_at: int  # last profile edit
    confirmed_at: int | None  # None: never confirms (stays pending)
    unsub_at: int | None = None
    md5: str = ""

    def status(self, now: int) -> str:
        if self.unsub_at is not None and self.unsub_at <= now:
            return "unsubscribed"
        if self.confirmed_at is None or self.confirmed_at > now:
            return "pending"
        return "subscribed"

    def last_updated(self, now: int) -> int:
        t = max(self.created_at, self.updated_at)
        for change in (self.confirmed_at, self.unsub_at):
            if change is not None and change <= now:
                t = max(t, change)
        return t

    def reachable_at(self, t: int) -> bool:
        """Would a campaign sent at ``t`` go to this contact?"""
        return (self.created_at <= t and self.confirmed_at is not None and self.confirmed_at <= t
                and (self.unsub_at is None or self.unsub_at > t))


@dataclass(eq=False)
class _List:
    id: str
    name: str
    double_opt_in: bool
    fields: list[dict[str, Any]]
    tags: list[str]
    created_at: int
    updated_at: int
    weight: float
    contacts: list[_Contact] = field(default_factory=list)  # sorted by (created_at, id)
    by_md5: dict[str, _Contact] = field(default_factory=dict)
    by_id: dict[str, _Contact] = field(default_factory=dict)
    emails: set[str] = field(default_factory=set)  # lowercased, unique within the list


@dataclass(eq=False)
class _Campaign:
    id: str
    name: str
    subject: str
    to: list[str]
    html: str
    links: list[str]
    created_at: int
    sent_at: int | None
    # Every list below is sorted by (time, contact_id); see the module docstring.
    send_times: list[int] = field(default_factory=list)
    send_ids: list[str] = field(default_factory=list)
    bounces: list[tuple[int, str, str]] = field(default_factory=list)  # (t, contact_id, "hard"|"soft")
    opens: list[tuple[int, str]] = field(default_factory=list)
    clicks: list[tuple[int, str, int]] = field(default_factory=list)  # (t, contact_id, link index)
    unsubscribes: list[tuple[int, str]] = field(default_factory=list)
    complaints: list[tuple[int, str]] = field(default_factory=list)

    def status(self, now: int) -> str:
        if self.sent_at is None:
            return "draft"
        if self.send_times and self.send_times[-1] > now:
            return "sending"
        return "sent"


class _IdMaker:
    """Version-1-looking UUIDs whose timestamp is the object's creation time.

    Real EmailOctopus ids are v1 UUIDs (API_NOTES §2). Built from the seeded random generator,
    not ``uuid.uuid1()``, so the same seed gives the same ids.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._nodes = [rng.getrandbits(48) & ~(1 << 40) for _ in range(3)]
        self._seen: set[str] = set()

    def __call__(self, t: int) -> str:
        while True:
            ticks = _UUID_EPOCH_OFFSET + t * 10_000_000 + self._rng.randrange(10_000_000)
            clock_seq = self._rng.getrandbits(14)
            value = str(uuid.UUID(fields=(
                ticks & 0xFFFFFFFF, (ticks >> 32) & 0xFFFF, ((ticks >> 48) & 0x0FFF) | 0x1000,
                (clock_seq >> 8) | 0x80, clock_seq & 0xFF, self._rng.choice(self._nodes),
            )))
            if value not in self._seen:
                self._seen.add(value)
                return value


class _ContactsView(Mapping[str, list[dict[str, Any]]]):
    """``account.contacts[list_id]``: copies, so callers cannot change the account."""

    def __init__(self, account: FakeAccount) -> None:
        self._account = account

    def __getitem__(self, list_id: str) -> list[dict[str, Any]]:
        rows = self._account.contacts_page_source(list_id)
        if rows is None:
            raise KeyError(list_id)
        return copy.deepcopy(rows)

    def __iter__(self) -> Iterator[str]:
        return iter([lst["id"] for lst in self._account.lists_source()])

    def __len__(self) -> int:
        return len(self._account.lists_source())


class FakeAccount:
    """One EmailOctopus account, generated from a seed; thread-safe.

    Build with :meth:`generate`. Reads return plain dicts in the API's JSON shape. Public
    properties and methods return copies; the ``*_source`` methods return the cached,
    shared objects for the server's hot path and must not be mutated.
    """

    def __init__(self, seed: int, spec: SizeSpec, start: datetime = DEFAULT_START) -> None:
        self.seed = seed
        self.spec = spec
        self.lock = threading.RLock()
        self._now = _epoch(start)
        self._advances = 0
        self._version = 0
        self._cache: dict[Any, Any] = {}
        rng = random.Random(f"octopus-fake:{seed}:{spec}")
        self._new_id = _IdMaker(random.Random(f"octopus-fake-ids:{seed}"))
        self._lists: list[_List] = []
        self._lists_by_id: dict[str, _List] = {}
        self._contacts_by_id: dict[str, _Contact] = {}
        self._campaigns: list[_Campaign] = []
        self._campaigns_by_id: dict[str, _Campaign] = {}
        #: Planted automated events: (campaign_id, contact_id, "opened"|"clicked", t) -> pattern.
        self._planted: dict[tuple[str, str, str, int], str] = {}
        self._generate(rng)
        # Customers and energy projects (issue 15): drawn from their own stream after
        # everything above, so the account's data is unchanged but for a few contacts'
        # new CustomerId field (octolib.fake.customers).
        from octolib.fake.customers import apply_field_links, plan_customers

        self.customer_plan = plan_customers(self)
        apply_field_links(self, self.customer_plan)

    @classmethod
    def generate(cls, seed: int = 7, size: str | SizeSpec = "tiny", now: datetime | None = None) -> FakeAccount:
        """A new account; the same ``seed`` and ``size`` always give the same data.

        ``size`` is a name from :data:`SIZES`, ``"<N>x"`` or a :class:`SizeSpec`. ``now`` sets the account's
        clock (default :data:`DEFAULT_START`, never the wall clock).
        """
        return cls(seed, resolve_size(size), now or DEFAULT_START)

    # ----------------------------------------------------------------- generation

    def _generate(self, rng: random.Random) -> None:
        spec = self.spec
        now = self._now
        span = int(spec.months * 30 * _DAY)
        start = now - span
        self._make_lists(rng, start)
        # Contacts: more sign-ups recently (a growing list); some lists share addresses.
        totals = [lst.weight for lst in self._lists]
        share = [max(1, round(spec.contacts * w / sum(totals))) for w in totals]
        share[0] += spec.contacts - sum(share)
        for lst, n in zip(self._lists, share):
            for _ in range(n):
                created = now - int(span * rng.random() ** 1.4) - rng.randrange(60, _DAY)
                self._add_contact(rng, lst, max(created, lst.created_at + _HOUR), now, initial=True)
        for lst in self._lists:
            self._sort_list(lst)
        self._ensure_every_status(rng)
        self._make_campaigns(rng, start, now)
        # After everything else, from its own stream: the demo data above stays as it was.
        self._plant_automation(random.Random(f"{self.seed}:automation"))
        log.debug("generated fake account seed=%s: %d lists, %d contacts, %d campaigns", self.seed,
                  len(self._lists), len(self._contacts_by_id), len(self._campaigns))

    def _make_lists(self, rng: random.Random, start: int) -> None:
        names = rng.sample(_LIST_NAMES, k=min(self.spec.lists, len(_LIST_NAMES)))
        while len(names) < self.spec.lists:
            names.append(f"List {len(names) + 1}")
        for i, name in enumerate(names):
            created = start - rng.randrange(2 * _DAY, 60 * _DAY)
            fields: list[dict[str, Any]] = [
                {"label": "First name", "tag": "FirstName", "type": "text", "fallback": "there"},
                {"label": "Last name", "tag": "LastName", "type": "text", "fallback": None},
            ]
            extra: list[dict[str, Any]] = [
                {"label": "City", "tag": "City", "type": "text", "fallback": None},
                {"label": "Birthday", "tag": "Birthday", "type": "date", "fallback": None},
                {"label": "Orders", "tag": "Orders", "type": "number", "fallback": "0"},
                {"label": "Region", "tag": "Region", "type": "choice_single",
                 "choices": ["North", "South", "East", "West"], "fallback": None},
            ]
            fields += [f for f in extra if i == 0 or rng.random() < 0.6]
            tags = sorted(rng.sample(_TAG_POOL, k=rng.randint(3, 5)))
            lst = _List(
                id=self._new_id(created), name=name, double_opt_in=(i == 0 or rng.random() < 0.3),
                fields=fields, tags=tags, created_at=created,
                updated_at=created + rng.randrange(_HOUR, 120 * _DAY), weight=0.62 ** (i % (self.spec.lists // self.spec.scale)),
            )
            self._lists.append(lst)
            self._lists_by_id[lst.id] = lst

    def _email(self, rng: random.Random, lst: _List) -> str:
        # The same person on two lists: a second contact with its own id (trap T13).
        if lst is not self._lists[0] and self._lists[0].contacts and rng.random() < 0.1:
            email = rng.choice(self._lists[0].contacts).email
            if email.lower() not in lst.emails:
                return email
        while True:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            local = f"{first}.{last}{rng.randrange(1, 10000)}"
            if rng.random() > 0.2:
                local = local.lower()  # some addresses keep capitals: the MD5 key lowercases them
            email = f"{local}@{rng.choice(_DOMAINS)}"
            if email.lower() not in lst.emails:
                return email

    def _field_values(self, rng: random.Random, lst: _List, email: str, created: int) -> dict[str, Any]:
        if rng.random() < 0.1:
            return {}  # imported with an email address only
        first, last = email.split("@")[0].split(".")[0], email.split("@")[0].split(".")[-1].rstrip("0123456789")
        values: dict[str, Any] = {"FirstName": first.capitalize()}
        if rng.random() < 0.85:
            values["LastName"] = last.capitalize()
        for f in lst.fields[2:]:
            if rng.random() < 0.4:
                continue
            if f["type"] == "text":
                values[f["tag"]] = rng.choice(_CITIES)
            elif f["type"] == "date":
                born = datetime(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
                values[f["tag"]] = born.strftime("%Y-%m-%d")
            elif f["type"] == "number":
                values[f["tag"]] = rng.choice([0, 1, 1, 2, 3, 5, 8, 13])
            else:
                values[f["tag"]] = rng.choice(f["choices"])
        return values

    def _add_contact(self, rng: random.Random, lst: _List, created: int, now: int, initial: bool) -> _Contact:
        email = self._email(rng, lst)
        lst.emails.add(email.lower())
        if lst.double_opt_in:
            confirmed: int | None = None if rng.random() < 0.05 else created + rng.randrange(120, 2 * _DAY)
        else:
            confirmed = created
        updated = created
        if initial and rng.random() < 0.3:
            updated = created + int((now - created) * rng.random())
        unsub = None
        if initial and rng.random() < 0.06 and confirmed is not None and confirmed < now:
            unsub = confirmed + int((now - confirmed) * rng.random()) + 1
        contact = _Contact(
            id=self._new_id(created), list_id=lst.id, email=email,
            fields=self._field_values(rng, lst, email, created),
            tags=[t for t in lst.tags if rng.random() < 0.18], created_at=created, updated_at=updated,
            confirmed_at=confirmed, unsub_at=unsub, md5=hashlib.md5(email.lower().encode()).hexdigest(),
        )
        lst.contacts.append(contact)
        lst.by_md5[contact.md5] = contact
        lst.by_id[contact.id] = contact
        self._contacts_by_id[contact.id] = contact
        return contact

    @staticmethod
    def _sort_list(lst: _List) -> None:
        lst.contacts.sort(key=lambda c: (c.created_at, c.id))

    def _ensure_every_status(self, rng: random.Random) -> None:
        """Even a tiny account has pending, subscribed and unsubscribed contacts."""
        now = self._now
        everyone = [c for lst in self._lists for c in lst.contacts]
        if not any(c.status(now) == "pending" for c in everyone):
            newest = self._lists[0].contacts[-1]
            newest.confirmed_at = None
            newest.unsub_at = None
        if not any(c.status(now) == "unsubscribed" for c in everyone):
            old = [c for c in everyone if c.status(now) == "subscribed"]
            victim = old[len(old) // 3]
            victim.unsub_at = victim.created_at + (now - victim.created_at) // 2 + 1

    def _make_campaigns(self, rng: random.Random, start: int, now: int) -> None:
        spec = self.spec
        n_sent = spec.campaigns - spec.drafts - spec.sending
        plans: list[tuple[str, int]] = []  # (kind, sent_at or created_at for drafts)
        first = start + 20 * _DAY
        last = now - rng.randrange(20 * _HOUR, 60 * _HOUR)
        for i in range(n_sent):
            if i == n_sent - 1:
                t = last
            else:
                t = first + int((last - first) * (i + rng.uniform(0.1, 0.9)) / n_sent)
            day = t - t % _DAY
            plans.append(("sent", day + rng.choice([9, 10, 11, 14, 15, 16, 19]) * _HOUR + rng.randrange(0, _HOUR)))
        for _ in range(spec.sending):
            plans.append(("sending", now - rng.randrange(30 * 60, 2 * _HOUR)))
        for _ in range(spec.drafts):
            plans.append(("draft", start + int((now - start - _DAY) * rng.random())))
        plans.sort(key=lambda p: p[1])
        sent_idx = [i for i, p in enumerate(plans) if p[0] == "sent"]
        zero_open = set(rng.sample(sent_idx, k=spec.zero_open_campaigns))
        themes = list(_THEMES)
        for i, (kind, t) in enumerate(plans):
            theme, subject = themes[i % len(themes)]
            month = datetime.fromtimestamp(t, tz=timezone.utc).strftime("%B %Y")
            name = f"{theme} — {month}"
            slug = f"{theme.lower().replace(' ', '-')}-{i + 1}"
            created = t - rng.randrange(2 * _HOUR, 10 * _DAY) if kind != "draft" else t
            if kind == "draft" and rng.random() < 0.3:
                to: list[str] = []
            elif len(self._lists) > 1 and rng.random() < 0.2:
                to = [lst.id for lst in rng.sample(self._lists, 2)]
            else:
                to = [rng.choices(self._lists, weights=[lst.weight for lst in self._lists])[0].id]
            k = rng.randint(*spec.links_per_campaign)
            links = [u.format(slug=slug) for u in rng.sample(_LINK_POOL, k=min(k, len(_LINK_POOL)))]
            camp = _Campaign(
                id=self._new_id(created), name=name, subject=subject, to=to, html=_html(name, subject, links),
                links=links, created_at=created, sent_at=None if kind == "draft" else t,
            )
            if kind != "draft":
                self._send(rng, camp, kind, now, zero_opens=i in zero_open)
            self._campaigns.append(camp)
            self._campaigns_by_id[camp.id] = camp

    def _send(self, rng: random.Random, camp: _Campaign, kind: str, now: int, zero_opens: bool) -> None:
        """Draw the campaign's whole funnel: send times, bounces, opens, clicks, opt-outs."""
        assert camp.sent_at is not None
        t0 = camp.sent_at
        recipients = [c for lid in camp.to for c in self._lists_by_id[lid].contacts if c.reachable_at(t0)]
        rng.shuffle(recipients)
        if kind == "sending":
            # Still going out: the last contact gets it a few hours from now.
            per_contact = (now + rng.randrange(2 * _HOUR, 4 * _HOUR) - t0) / max(1, len(recipients))
        else:
            per_contact = rng.uniform(0.02, 0.06)
        quality = 0.8 + 0.4 * rng.random()
        open_rate = 0.0 if zero_opens else min(0.6, rng.uniform(0.2, 0.5) * quality)
        click_rate = 0.0 if zero_opens else rng.uniform(0.01, 0.10) * quality
        click_given_open = min(0.9, click_rate / open_rate) if open_rate else 0.0
        hard, soft = rng.uniform(0.0, 0.02), rng.uniform(0.0, 0.03)
        unsub_rate, complaint_rate = rng.uniform(0.001, 0.012), rng.uniform(0.0, 0.003)
        weights = [1.0 / (j + 1) ** 0.8 for j in range(len(camp.links))]
        sends: list[tuple[int, str]] = []
        for j, c in enumerate(recipients):
            ts = t0 + int(j * per_contact)
            sends.append((ts, c.id))
            r = rng.random()
            if r < hard + soft:
                tb = ts + rng.randrange(5, 600)
                kind_b = "hard" if r < hard else "soft"
                camp.bounces.append((tb, c.id, kind_b))
                if kind_b == "hard" and c.unsub_at is None:
                    c.unsub_at = tb  # suppressed: shows as unsubscribed
                continue
            opened_at = None
            if rng.random() < open_rate:
                opened_at = self._event_time(rng, ts)
                if opened_at is not None:
                    camp.opens.append((opened_at, c.id))
                    for _ in range(_geometric(rng, 0.35)):
                        again = self._event_time(rng, opened_at)
                        if again is not None:
                            camp.opens.append((again, c.id))
            clicks_from = None
            if opened_at is not None and rng.random() < click_given_open:
                clicks_from = opened_at
            elif opened_at is None and click_rate and rng.random() < click_rate * 0.05:
                clicks_from = ts  # image blocking: a click with no recorded open
            if clicks_from is not None and camp.links:
                tc = clicks_from + rng.randrange(5, 900)
                for _ in range(1 + _geometric(rng, 0.4)):
                    if tc - ts > _EVENT_HORIZON_S:
                        break
                    camp.clicks.append((tc, c.id, rng.choices(range(len(camp.links)), weights=weights)[0]))
                    tc += rng.randrange(5, 3 * _HOUR)
            base = opened_at if opened_at is not None else ts
            r = rng.random()
            factor = 2.0 if opened_at is not None else 0.5
            if r < unsub_rate * factor:
                tu = base + rng.randrange(30, 2 * _DAY)
                camp.unsubscribes.append((tu, c.id))
                if c.unsub_at is None or c.unsub_at > tu:
                    c.unsub_at = tu
            elif r < (unsub_rate + complaint_rate) * factor:
                tq = base + rng.randrange(60, 3 * _DAY)
                camp.complaints.append((tq, c.id))
                if c.unsub_at is None or c.unsub_at > tq:
                    c.unsub_at = tq
        sends.sort()
        camp.send_times = [s[0] for s in sends]
        camp.send_ids = [s[1] for s in sends]
        for events in (camp.bounces, camp.opens, camp.clicks, camp.unsubscribes, camp.complaints):
            events.sort()

    def _plant_automation(self, rng: random.Random) -> None:
        """Add machine opens and bot clicks to a seeded share of contacts (issue 14).

        Why planted: detection (:mod:`octolib.metrics.automation`) is measured against the
        truth, which only the generator knows (:meth:`automation_truth`; never served).
        Drawn from its own stream after everything else, so the human events stay exactly
        as before; only these events are added:

        * ``proxy_prefetch`` (:data:`PROXY_SHARE` of contacts): a privacy proxy or security
          scanner fetches the images 0-3 s after the contact's send, for every campaign it
          receives; across many such contacts that is a burst while the campaign goes out.
        * ``scanner_on_delivery`` (:data:`SCANNER_SHARE` of contacts, half of them): a link
          scanner follows the links 0-3 s after the send.
        * ``scanner_batch`` (the other half): a gateway holds the mail and checks the links
          of all its recipients of a campaign in one go, in the same second, 20 min to 8 h
          after the send, usually hours before the person (if ever) opens.

        Campaigns without any open or click (tracking off) get none. Bounced contacts get none.
        """
        proxy: set[str] = set()
        scanner: dict[str, str] = {}
        for cid in self._contacts_by_id:
            r = rng.random()
            if r < PROXY_SHARE:
                proxy.add(cid)
            if rng.random() < SCANNER_SHARE:
                scanner[cid] = "scanner_on_delivery" if rng.random() < 0.5 else "scanner_batch"
        for camp in self._campaigns:
            if camp.sent_at is None or not (camp.opens or camp.clicks):
                continue
            bounced = {cid for _, cid, _ in camp.bounces}
            batch_at = camp.sent_at + rng.randrange(20 * 60, 8 * _HOUR)
            for ts, cid in zip(camp.send_times, camp.send_ids):
                if cid in bounced:
                    continue
                if cid in proxy:
                    t = ts + rng.randrange(0, 4)
                    camp.opens.append((t, cid))
                    self._planted[(camp.id, cid, "opened", t)] = "proxy_prefetch"
                pattern = scanner.get(cid)
                if pattern and camp.links:
                    t = ts + rng.randrange(0, 4) if pattern == "scanner_on_delivery" else batch_at
                    for k in range(len(camp.links)):
                        camp.clicks.append((t, cid, k))
                        self._planted[(camp.id, cid, "clicked", t)] = pattern
            camp.opens.sort()
            camp.clicks.sort()

    def automation_truth(self) -> dict[tuple[str, str, str], str]:
        """``{(campaign_id, contact_id, "opened"|"clicked"): pattern}`` of the stored events
        that are automated, up to :attr:`now`.

        The per-contact reports (and so the stored events) show a contact's *first* open and
        first click; such an event is automated when that first occurrence was planted. For
        tests and benchmarks only: the API never shows it.
        """
        out: dict[tuple[str, str, str], str] = {}
        with self.lock:
            for camp in self._campaigns:
                for kind, events in (("opened", camp.opens), ("clicked", camp.clicks)):
                    seen: set[str] = set()
                    for ev in events:
                        t, cid = ev[0], ev[1]
                        if t > self._now:
                            break
                        if cid in seen:
                            continue
                        seen.add(cid)
                        pattern = self._planted.get((camp.id, cid, kind, t))
                        if pattern:
                            out[(camp.id, cid, kind)] = pattern
        return out

    @staticmethod
    def _event_time(rng: random.Random, after: int) -> int | None:
        """When someone acts on an email received at ``after``: soon, with a long tail,
        more often in office hours and on weekdays. ``None``: never (past the horizon)."""
        t = after
        for _ in range(6):
            r = rng.random()
            mean = 1.5 * _HOUR if r < 0.55 else (10 * _HOUR if r < 0.85 else 3 * _DAY)
            t = after + 30 + int(rng.expovariate(1.0 / mean))
            if rng.random() < _activity_weight(t):
                break
        return t if t - after <= _EVENT_HORIZON_S else None

    # ----------------------------------------------------------------- the clock

    @property
    def now(self) -> datetime:
        """The account's clock (UTC). It moves only through :meth:`advance`."""
        return datetime.fromtimestamp(self._now, tz=timezone.utc)

    def advance(self, hours: float) -> dict[str, Any]:
        """Move the clock forward by ``hours`` and let the account live through the window.

        Reveals campaign events that fall in the window (opens, clicks, bounces, opt-outs, and
        the rest of a ``sending`` campaign, which then becomes ``sent``), draws new sign-ups
        and a few organic unsubscribes. Deterministic for the seed and the sequence of
        advances. Returns what changed, for logs and for the admin endpoint.
        """
        if not hours >= 0:
            raise ValueError(f"hours must be >= 0, got {hours!r}")
        with self.lock:
            old, new = self._now, self._now + int(round(hours * _HOUR))
            rng = random.Random(f"octopus-fake-advance:{self.seed}:{self._advances}:{old}:{new}")
            self._advances += 1
            added: list[_Contact] = []
            n_contacts = sum(len(lst.contacts) for lst in self._lists)
            signup_rate = max(n_contacts / (self.spec.months * 30 * 24), 0.1)  # per hour
            t = old
            while True:
                t += int(rng.expovariate(signup_rate / _HOUR)) + 1
                if t > new:
                    break
                lst = rng.choices(self._lists, weights=[x.weight for x in self._lists])[0]
                added.append(self._add_contact(rng, lst, t, new, initial=False))
            for list_id in {c.list_id for c in added}:
                self._sort_list(self._lists_by_id[list_id])
            unsubscribed = 0
            unsub_rate = max(n_contacts * 0.0004 / 24, 0.02)  # per hour
            t = old
            while True:
                t += int(rng.expovariate(unsub_rate / _HOUR)) + 1
                if t > new:
                    break
                lst = rng.choices(self._lists, weights=[x.weight for x in self._lists])[0]
                candidates = [c for c in lst.contacts if c.unsub_at is None and c.reachable_at(t)]
                if candidates:
                    rng.choice(candidates).unsub_at = t
                    unsubscribed += 1
            revealed = 0
            for camp in self._campaigns:
                for events in (camp.opens, camp.clicks, camp.bounces, camp.unsubscribes, camp.complaints):
                    revealed += _count_between(events, old, new)
            self._now = new
            self._version += 1
            self._cache.clear()
            log.info("fake account advanced %.2f h to %s: %d sign-ups, %d unsubscribes, %d campaign events",
                     hours, iso(new), len(added), unsubscribed, revealed)
            return {"now": iso(new), "new_contacts": len(added), "unsubscribed": unsubscribed,
                    "campaign_events": revealed}

    # ----------------------------------------------------------------- views (API shapes)

    def _cached(self, key: Any, build: Any) -> Any:
        with self.lock:
            if key not in self._cache:
                self._cache[key] = build()
            return self._cache[key]

    def _list_view(self, lst: _List) -> dict[str, Any]:
        now = self._now
        counts = {"pending": 0, "subscribed": 0, "unsubscribed": 0}
        for c in lst.contacts:
            if c.created_at <= now:
                counts[c.status(now)] += 1
        return {
            "id": lst.id, "name": lst.name, "double_opt_in": lst.double_opt_in,
            "fields": copy.deepcopy(lst.fields), "tags": list(lst.tags), "counts": counts,
            "created_at": iso(lst.created_at), "last_updated_at": iso(lst.updated_at),
        }

    def _contact_view(self, c: _Contact) -> dict[str, Any]:
        now = self._now
        return {
            "id": c.id, "email_address": c.email, "fields": dict(c.fields), "tags": list(c.tags),
            "status": c.status(now), "created_at": iso(c.created_at), "last_updated_at": iso(c.last_updated(now)),
        }

    def _campaign_view(self, camp: _Campaign) -> dict[str, Any]:
        return {
            "id": camp.id, "status": camp.status(self._now), "name": camp.name, "subject": camp.subject,
            "to": list(camp.to), "from": {"name": "Otto Octopus", "email_address": "otto@example.com"},
            "content": {"html": camp.html}, "created_at": iso(camp.created_at),
            "sent_at": None if camp.sent_at is None else iso(camp.sent_at),
        }

    def lists_source(self) -> list[dict[str, Any]]:
        """All lists in API shape, sorted by id (the fake's page order). Shared: do not mutate."""
        return self._cached("lists", lambda: [self._list_view(x) for x in sorted(self._lists, key=lambda x: x.id)])

    def contacts_page_source(self, list_id: str) -> list[dict[str, Any]] | None:
        """Contacts of a list (all statuses) sorted by ``(created_at, id)``; ``None`` for an
        unknown list. Shared: do not mutate."""
        lst = self._lists_by_id.get(list_id)
        if lst is None:
            return None

        def build() -> list[dict[str, Any]]:
            return [self._contact_view(c) for c in lst.contacts if c.created_at <= self._now]

        return self._cached(("contacts", list_id), build)

    def campaigns_source(self) -> list[dict[str, Any]]:
        """Campaigns in API shape, newest ``created_at`` first (drafts mixed in). Shared."""
        def build() -> list[dict[str, Any]]:
            ordered = sorted(self._campaigns, key=lambda c: (c.created_at, c.id), reverse=True)
            return [self._campaign_view(c) for c in ordered if c.created_at <= self._now]

        return self._cached("campaigns", build)

    def _report(self, camp: _Campaign) -> dict[str, Any]:
        """Everything the three report endpoints show for one campaign at ``now``."""
        now = self._now

        def build() -> dict[str, Any]:
            email = {cid: self._contacts_by_id[cid].email for cid in camp.send_ids}
            n_sent = bisect.bisect_right(camp.send_times, now)
            send_time = dict(zip(camp.send_ids[:n_sent], camp.send_times[:n_sent]))

            def row(t: int, cid: str) -> tuple[int, str, dict[str, Any]]:
                return (t * 1000, cid, {"contact_id": cid, "contact_email_address": email[cid], "occurred_at": iso(t)})

            def first_per_contact(events: list[Any]) -> list[tuple[int, str]]:
                seen: dict[str, int] = {}
                for ev in events:
                    if ev[0] > now:
                        break
                    seen.setdefault(ev[1], ev[0])
                return sorted((t, cid) for cid, t in seen.items())

            opened = first_per_contact(camp.opens)
            clicked = first_per_contact(camp.clicks)
            opened_ids = {cid for _, cid in opened}
            clicked_ids = {cid for _, cid in clicked}
            sent_rows = sorted((t, cid) for cid, t in send_time.items())
            bounced = [(t, cid) for t, cid, _ in camp.bounces if t <= now]
            hard = sum(1 for t, _, k in camp.bounces if t <= now and k == "hard")
            rows = {
                "sent": sent_rows,
                "opened": opened,
                "clicked": clicked,
                "bounced": bounced,
                "unsubscribed": [e for e in camp.unsubscribes if e[0] <= now],
                "complained": [e for e in camp.complaints if e[0] <= now],
                "not-opened": [(t, cid) for t, cid in sent_rows if cid not in opened_ids],
                "not-clicked": [(t, cid) for t, cid in sent_rows if cid not in clicked_ids],
            }
            link_total = [0] * len(camp.links)
            link_unique: list[set[str]] = [set() for _ in camp.links]
            n_clicks = 0
            for t, cid, k in camp.clicks:
                if t > now:
                    break
                n_clicks += 1
                link_total[k] += 1
                link_unique[k].add(cid)
            n_opens = sum(1 for e in camp.opens if e[0] <= now)
            summary = {
                "id": camp.id, "sent": len(sent_rows),
                "bounced": {"hard": hard, "soft": len(bounced) - hard},
                "opened": {"total": n_opens, "unique": len(opened)},
                "clicked": {"total": n_clicks, "unique": len(clicked)},
                "complained": len(rows["complained"]), "unsubscribed": len(rows["unsubscribed"]),
            }
            links = [{"url": url, "clicked_total": link_total[k], "clicked_unique": len(link_unique[k])}
                     for k, url in enumerate(camp.links)]
            return {"rows": {s: [row(t, cid) for t, cid in r] for s, r in rows.items()},
                    "summary": summary, "links": links}

        return self._cached(("report", camp.id), build)

    def report_source(self, campaign_id: str, status: str) -> list[tuple[int, str, dict[str, Any]]] | None:
        """Rows as ``(epoch_ms, contact_id, row)`` sorted by time then contact id; ``None``
        for an unknown campaign. Drafts have no rows. Shared: do not mutate."""
        if status not in REPORT_STATUSES:
            raise ValueError(f"status must be one of {REPORT_STATUSES}, got {status!r}")
        camp = self._campaigns_by_id.get(campaign_id)
        if camp is None:
            return None
        with self.lock:
            return self._report(camp)["rows"][status]

    # ----------------------------------------------------------------- public reads (copies)

    @property
    def lists(self) -> list[dict[str, Any]]:
        """Every list, in ``GET /lists/{id}`` shape, counts computed from the contacts."""
        return copy.deepcopy(self.lists_source())

    @property
    def contacts(self) -> Mapping[str, list[dict[str, Any]]]:
        """``contacts[list_id]``: that list's contacts in API shape, all statuses."""
        return _ContactsView(self)

    @property
    def campaigns(self) -> list[dict[str, Any]]:
        """Every campaign in ``GET /campaigns/{id}`` shape, newest first."""
        return copy.deepcopy(self.campaigns_source())

    def get_campaign(self, campaign_id: str) -> dict[str, Any] | None:
        """One campaign in API shape, or ``None``."""
        camp = self._campaigns_by_id.get(campaign_id)
        if camp is None:
            return None
        with self.lock:
            return self._campaign_view(camp)

    def get_list(self, list_id: str) -> dict[str, Any] | None:
        """One list in API shape, or ``None``."""
        for lst in self.lists_source():
            if lst["id"] == list_id:
                return copy.deepcopy(lst)
        return None

    def find_contact(self, list_id: str, key: str) -> dict[str, Any] | None:
        """A contact by id or by the MD5 of its lowercased email (API_NOTES §5.3), or ``None``."""
        lst = self._lists_by_id.get(list_id)
        if lst is None:
            return None
        with self.lock:
            c = lst.by_id.get(key) or lst.by_md5.get(key.lower())
            if c is None or c.created_at > self._now:
                return None
            return self._contact_view(c)

    def summary(self, campaign_id: str) -> dict[str, Any]:
        """The ``/reports/summary`` body, computed from the report rows (zeros for drafts)."""
        camp = self._campaign_or_raise(campaign_id)
        with self.lock:
            return copy.deepcopy(self._report(camp)["summary"])

    def links(self, campaign_id: str) -> list[dict[str, Any]]:
        """``{url, clicked_total, clicked_unique}`` for each link of the campaign."""
        camp = self._campaign_or_raise(campaign_id)
        with self.lock:
            return copy.deepcopy(self._report(camp)["links"])

    def report_rows(self, campaign_id: str, status: str) -> list[dict[str, Any]]:
        """``{contact_id, contact_email_address, occurred_at}`` rows of one status, in page order."""
        self._campaign_or_raise(campaign_id)
        rows = self.report_source(campaign_id, status) or []
        return [dict(r[2]) for r in rows]

    def _campaign_or_raise(self, campaign_id: str) -> _Campaign:
        camp = self._campaigns_by_id.get(campaign_id)
        if camp is None:
            raise KeyError(f"no campaign {campaign_id!r} in this account")
        return camp

    def owns(self, resource_id: str) -> bool:
        """Is this a list or campaign id of this account? (For the 403 of a foreign key.)"""
        return resource_id in self._lists_by_id or resource_id in self._campaigns_by_id

    def __repr__(self) -> str:
        return (f"FakeAccount(seed={self.seed}, lists={len(self._lists)}, contacts={len(self._contacts_by_id)}, "
                f"campaigns={len(self._campaigns)}, now={iso(self._now)})")


def _geometric(rng: random.Random, p_more: float) -> int:
    """How many extra events: 0 with probability 1 - p_more, then each one more likely less."""
    n = 0
    while rng.random() < p_more and n < 20:
        n += 1
    return n


def _count_between(events: list[Any], old: int, new: int) -> int:
    return sum(1 for e in events if old < e[0] <= new)


def _html(name: str, subject: str, links: list[str]) -> str:
    items = "".join(f'<li><a href="{u}">{u.split("//", 1)[1].split("?")[0]}</a></li>' for u in links)
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{{PreviewText}}</title></head>"
        f"<body><h1>{name}</h1><p>Hi {{{{FirstName}}}}, {subject.lower()}.</p><ul>{items}</ul>"
        "<p>{{SenderInfo}} &middot; <a href=\"{{UnsubscribeURL}}\">unsubscribe</a></p></body></html>"
    )
