"""Switches that make the fake server misbehave the way the real API might.

API_NOTES §13 lists what nobody knows about the live API (how paging ends, the shape of
``counts``, empty ``fields``, the retry headers, drafts' reports); §12.6 and §15 list the
faults a client must survive. Each is a field here, off by default, so a test turns on exactly
one thing and checks the client copes. A ``Faults`` is mutable: the server reads it on every
request, so changing a field affects the following requests.

Counting rule for the ``*_every`` faults: a fault counts the requests it is eligible for
from the moment it is switched on (``every=3`` fails the 3rd, 6th, ... request after that),
and restarts when switched off and on again. ``faults_path`` restricts 5xx, HTML 502 and
dropped connections to requests whose path-and-query contains it; ``malformed_json_path``
does the same for truncated JSON.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["Faults", "END_OF_PAGING", "SCHEMA_BREAKS"]

#: How the last page of a collection says "no more": ``omit_next`` gives ``"paging": {}``,
#: ``null_next`` gives ``{"next": null}``, ``empty_array`` gives ``"paging": []`` (v1.6, PHP),
#: ``omit_paging`` drops the member.
END_OF_PAGING = ("omit_next", "null_next", "empty_array", "omit_paging")
#: ``missing_data``: collections lose ``data``, bare objects lose ``id``.
#: ``null_id``: every item's (or the object's) ``id``/``contact_id`` is ``null``.
SCHEMA_BREAKS = ("missing_data", "null_id")

_CHOICES = {
    "end_of_paging": END_OF_PAGING,
    "counts_shape": ("object", "array"),
    "draft_reports": ("error", "zeros"),
    "schema_break": SCHEMA_BREAKS,
}


@dataclass
class Faults:
    """Everything off by default; see the module docstring for the counting rule."""

    latency_s: float = 0.0  #: added to every API request (seconds, real sleep in the server thread)
    error_5xx_every: int = 0  #: every Nth request answers 500 ``#internal-error``
    html_502_every: int = 0  #: every Nth request answers an HTML 502 page (not JSON)
    drop_connection_every: int = 0  #: every Nth request: the socket is closed with no answer
    faults_path: str = ""  #: only requests whose path+query contains this get the three above
    rate_limit_storm: int = 0  #: the next N authenticated requests get 429 whatever the bucket holds
    rate_limit_block_s: float = 0.0  #: after the bucket runs dry, answer 429 for this long
    retry_after_standard: bool = False  #: 429s also carry the standard ``Retry-After``
    malformed_json_every: int = 0  #: every Nth 200 answer is truncated JSON
    malformed_json_path: str = ""  #: ... only on paths containing this
    end_of_paging: str = "omit_next"  #: one of :data:`END_OF_PAGING`
    counts_shape: str = "object"  #: list ``counts`` as an object, or a one-element array (the spec)
    empty_fields_as_list: bool = False  #: contacts with no field values get ``"fields": []``
    draft_reports: str = "error"  #: drafts' reports: 404 (``error``) or 200 with zeros
    next_url_drops_filters: bool = False  #: ``next.url`` keeps only ``limit`` and ``starting_after`` (trap T6)
    schema_break_path: str = ""  #: 200 answers on paths containing this break the schema ...
    schema_break: str = "missing_data"  #: ... this way, one of :data:`SCHEMA_BREAKS`
    #: Reconciliation (issue 14): the summary of the campaign with this id reports this many more
    #: unique (and total) opens than its per-contact rows hold; 0 or "" = off.
    summary_disagrees: str = ""
    summary_disagree_by: int = 7

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` for an unknown choice or a negative number."""
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise ValueError(f"Faults.{name} must be one of {choices}, got {getattr(self, name)!r}")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"Faults.{f.name} must be >= 0, got {value!r}")

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial change (the admin endpoint's JSON body), checking names and types."""
        known = {f.name: f for f in dataclasses.fields(self)}
        unknown = set(changes) - set(known)
        if unknown:
            raise ValueError(f"unknown Faults fields: {sorted(unknown)}; known: {sorted(known)}")
        staged = dataclasses.replace(self)
        for name, value in changes.items():
            default = known[name].default
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(default, float):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                value = float(value) if ok else value
            else:
                ok = isinstance(value, str)
            if not ok:
                raise ValueError(f"Faults.{name} must be a {type(default).__name__}, got {value!r}")
            setattr(staged, name, value)
        staged.validate()
        for name in changes:
            setattr(self, name, getattr(staged, name))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
