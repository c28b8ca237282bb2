"""The mapping file: which column is the customer id, which the address, which are segments.

YAML, e.g.::

    id: customer_ref            # column holding the customer id (becomes _id)
    email: email                # column holding the address the contacts are linked by
    fields:
      annual_kwh: {kind: number, bands: quantiles, quantiles: 4}   # or bands: [0, 2500, 5000]
      home_type: {kind: category}
      moved_in: {kind: date}
      postcode: {kind: private}  # kept for the owner, never a segment, never printed

Why a file and not guesses from the data: a column of numbers may be an id, and an id must
never become a "segment". Only the fields named here are read into segments; everything
else in a row is stored as it is but never shown.
"""

from __future__ import annotations

from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from octolib.errors import ConfigError

__all__ = ["FieldSpec", "CustomerMapping", "MappingError", "parse_mapping", "load_mapping", "KINDS"]

KINDS = ("number", "category", "date", "private")


class MappingError(ConfigError):
    """A mapping file that cannot be used; the message names the key and the fix."""


@dataclass(frozen=True)
class FieldSpec:
    """One segment field: ``bands`` is ``"quantiles"`` or explicit increasing edges."""

    name: str
    kind: str
    bands: str | tuple[float, ...] = "quantiles"
    quantiles: int = 4

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "number":
            out["bands"] = list(self.bands) if isinstance(self.bands, tuple) else self.bands
            out["quantiles"] = self.quantiles
        return out


@dataclass(frozen=True)
class CustomerMapping:
    """A validated mapping (see the module docstring)."""

    id: str = "_id"
    email: str = ""
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)

    @property
    def segment_fields(self) -> tuple[FieldSpec, ...]:
        """Fields a segment may be cut by (``private`` ones never are)."""
        return tuple(f for f in self.fields if f.kind != "private")

    def as_document(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "fields": {f.name: f.as_dict() for f in self.fields}}


def parse_mapping(raw: Any, *, need_email: bool = True) -> CustomerMapping:
    """Validate a mapping read from YAML (or a stored document); one-line errors."""
    if not isinstance(raw, MappingABC):
        raise MappingError("the mapping must be a YAML mapping with id, email and fields")
    unknown = set(raw) - {"id", "email", "fields"}
    if unknown:
        raise MappingError(f"unknown mapping key(s) {sorted(unknown)}; use id, email, fields")
    id_col = raw.get("id") or "_id"
    email = raw.get("email") or ""
    if not isinstance(id_col, str) or not isinstance(email, str):
        raise MappingError("mapping id and email must be column names (text)")
    if need_email and not email:
        raise MappingError("mapping: email is missing; name the column holding the customer's address")
    fields_raw = raw.get("fields") or {}
    if not isinstance(fields_raw, MappingABC):
        raise MappingError("mapping fields must be a mapping of column: {kind: ...}")
    specs: list[FieldSpec] = []
    for name, spec in fields_raw.items():
        if isinstance(spec, str):
            spec = {"kind": spec}
        if not isinstance(spec, MappingABC):
            raise MappingError(f"mapping fields.{name}: give {{kind: number|category|date|private}}")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise MappingError(f"mapping fields.{name}.kind={kind!r}: choose one of {', '.join(KINDS)}")
        if name in (id_col, email):
            raise MappingError(f"mapping fields.{name}: the id and email columns cannot be segments")
        bands: str | tuple[float, ...] = "quantiles"
        quantiles = 4
        if kind == "number":
            raw_bands = spec.get("bands", "quantiles")
            if raw_bands == "quantiles":
                quantiles = spec.get("quantiles", 4)
                if not isinstance(quantiles, int) or not 2 <= quantiles <= 10:
                    raise MappingError(f"mapping fields.{name}.quantiles must be a whole number from 2 to 10")
            elif isinstance(raw_bands, list) and raw_bands and all(isinstance(x, (int, float)) for x in raw_bands):
                if any(b >= a for a, b in zip(raw_bands[1:], raw_bands)):
                    raise MappingError(f"mapping fields.{name}.bands: edges must increase, got {raw_bands}")
                bands = tuple(float(x) for x in raw_bands)
            else:
                raise MappingError(f"mapping fields.{name}.bands: 'quantiles' or a list of increasing numbers")
        specs.append(FieldSpec(str(name), str(kind), bands, quantiles))
    return CustomerMapping(id=id_col, email=email, fields=tuple(specs))


def load_mapping(path: str | Path, *, need_email: bool = True) -> CustomerMapping:
    """Read and validate a mapping YAML file."""
    import yaml

    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"cannot read the mapping file {p}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise MappingError(f"{p} is not valid YAML: {str(exc).splitlines()[0]}") from None
    return parse_mapping(raw, need_email=need_email)
