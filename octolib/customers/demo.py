"""The demo's customers step: write the generated files, import them, link (``octo demo``).

The demo account carries its customers plan (:mod:`octolib.fake.customers`); this writes it
as the files an owner would hand over (a CSV, its mapping, a projects JSONL) under the demo's
data folder and runs the same import and link commands a user would.
"""

from __future__ import annotations

from pathlib import Path

from octolib.config import Settings
from octolib.customers.importer import import_customers, import_projects
from octolib.customers.link import LinkOptions, LinkReport, link_contacts
from octolib.customers.mapping import load_mapping
from octolib.customers.projects import ProjectLinkReport, link_projects
from octolib.customers.source import SourceConfig, open_source
from octolib.fake.customers import FIELD_TAG, CustomerPlan, write_customer_files
from octolib.store.core import Store

__all__ = ["demo_link_options", "import_and_link_demo_customers"]


def demo_link_options(settings: Settings) -> LinkOptions:
    """The demo links by its ``CustomerId`` field unless OCTO_LINK_FIELD names another."""
    return LinkOptions(strip_plus=settings.link_strip_plus, field_tag=settings.link_field or FIELD_TAG)


def import_and_link_demo_customers(store: Store, settings: Settings, plan: CustomerPlan,
                                   folder: Path) -> tuple[LinkReport, ProjectLinkReport]:
    """Write, import and link the demo's customers and projects (idempotent: re-runs update)."""
    customers, mapping, projects = write_customer_files(plan, folder)
    source = open_source(store, SourceConfig.from_settings(settings))
    if not source.read_only:
        import_customers(source, customers, load_mapping(mapping))
        import_projects(source, projects)
    return link_contacts(source, demo_link_options(settings)), link_projects(source)
