"""Which collections hold customers and projects, and the mapping that says how to read them.

Two sources (``OCTO_CUSTOMERS_SOURCE``): ``import`` (octopus's own ``customers`` /
``energy_analyses``, filled by the importers) or ``existing`` (the owner's collections in the
same MongoDB, wrapped read-only by :func:`octolib.store.core.customer_collections`). Either
way the links live on octopus's documents (``contacts.customer_id``,
``campaigns.project_id``) and the mapping in octopus's ``customer_schemas``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from octolib.config import Settings
from octolib.customers.mapping import CustomerMapping, parse_mapping
from octolib.store.core import Store, customer_collections

__all__ = ["SourceConfig", "CustomerSource", "open_source"]

_SCHEMA_ID = "customers"


@dataclass(frozen=True)
class SourceConfig:
    """Where customers and projects are (from :class:`~octolib.config.Settings`)."""

    existing: bool = False
    db_name: str = ""
    customers: str = "customers"
    projects: str = "energy_analyses"

    @classmethod
    def from_settings(cls, settings: Settings) -> "SourceConfig":
        return cls(existing=settings.customers_source == "existing", db_name=settings.customers_db,
                   customers=settings.customers_collection, projects=settings.projects_collection)


@dataclass
class CustomerSource:
    """The open collections: ``customers`` and ``projects`` (read-only when ``read_only``)."""

    store: Store
    customers: Any
    projects: Any
    read_only: bool

    def mapping(self) -> CustomerMapping | None:
        """The stored mapping (set by an import or ``octo customers mapping``), or None."""
        doc = self.store.customer_schemas.find_one({"_id": _SCHEMA_ID})
        if not doc:
            return None
        return parse_mapping(doc["mapping"], need_email=False)

    def save_mapping(self, mapping: CustomerMapping) -> None:
        """Remember the mapping in octopus's own collection (never in the owner's)."""
        self.store.customer_schemas.replace_one({"_id": _SCHEMA_ID}, {"_id": _SCHEMA_ID, "mapping": mapping.as_document()},
                                                upsert=True)

    def email_field(self) -> str:
        mapping = self.mapping()
        return (mapping.email if mapping and mapping.email else "email")


def open_source(store: Store, config: SourceConfig | None = None) -> CustomerSource:
    config = config or SourceConfig()
    customers, projects = customer_collections(store, db_name=config.db_name, customers=config.customers,
                                               projects=config.projects, existing=config.existing)
    return CustomerSource(store, customers, projects, config.existing)
