"""``octo customers``, ``octo projects`` and ``octo link``: customer data in, links made.

``octo customers import FILE --mapping MAP.yml`` (CSV or JSONL; every row checked first,
nothing written when one is bad; a re-import updates by id); ``octo customers mapping
MAP.yml`` stores the mapping alone (for an owner's existing collections);
``octo projects import FILE``; ``octo projects set CAMPAIGN PROJECT`` links one campaign by
hand; ``octo link`` links contacts to customers and campaigns to projects now (a sync does it
too) and prints the link report.
"""

from __future__ import annotations

import argparse
import getpass
import json

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    c = subparsers.add_parser("customers", help="import customer records (CSV/JSONL) with a mapping file",
                              description="Customer records for segments: import a file into octopus's own "
                                          "collection, or store the mapping of an existing collection.")
    csub = c.add_subparsers(dest="customers_command", metavar="ACTION")
    ci = csub.add_parser("import", help="import FILE (.csv or .jsonl) with --mapping MAP.yml")
    ci.add_argument("file")
    ci.add_argument("--mapping", required=True, help="YAML: id, email and segment fields with their kind")
    ci.set_defaults(func=_customers_import)
    cm = csub.add_parser("mapping", help="store the mapping (segment fields) of an existing customers collection")
    cm.add_argument("mapping")
    cm.set_defaults(func=_customers_mapping)
    c.set_defaults(func=lambda args: (c.print_help(), 2)[1])

    p = subparsers.add_parser("projects", help="import energy projects; link a campaign to a project by hand",
                              description="Energy-analysis projects and which campaigns belong to them.")
    psub = p.add_subparsers(dest="projects_command", metavar="ACTION")
    pi = psub.add_parser("import", help="import FILE (.csv or .jsonl): id, name, optional rule columns")
    pi.add_argument("file")
    pi.set_defaults(func=_projects_import)
    ps = psub.add_parser("set", help="link CAMPAIGN to PROJECT by hand ('-' unlinks); recorded with who and when")
    ps.add_argument("campaign")
    ps.add_argument("project")
    ps.add_argument("--user", default=None, help="who (default: the OS user)")
    ps.set_defaults(func=_projects_set)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    k = subparsers.add_parser("link", help="link contacts to customers and campaigns to projects, and report",
                              description="Link contacts to customers (by address or OCTO_LINK_FIELD) and "
                                          "campaigns to projects (rules), then print the link report.")
    k.add_argument("--json", action="store_true", help="print the report as JSON (every ambiguous contact)")
    k.set_defaults(func=_link)


def _open(existing_store: bool = True):  # type: ignore[no-untyped-def]
    from octolib.commands.common import connect_existing
    from octolib.config import Settings
    from octolib.customers.source import SourceConfig, open_source
    from octolib.store import connect

    settings = Settings.from_env()
    store = connect_existing(settings) if existing_store else connect(settings)
    store.ensure_indexes()
    return settings, open_source(store, SourceConfig.from_settings(settings))


def _customers_import(args: argparse.Namespace) -> int:
    from octolib.customers.importer import import_customers
    from octolib.customers.mapping import load_mapping

    mapping = load_mapping(args.mapping)  # checked before the store is opened
    _settings, source = _open(existing_store=False)
    try:
        result = import_customers(source, args.file, mapping)
    finally:
        source.store.close()
    print(result.line("customers"))
    return 0


def _customers_mapping(args: argparse.Namespace) -> int:
    from octolib.customers.mapping import load_mapping

    mapping = load_mapping(args.mapping, need_email=False)
    _settings, source = _open()
    try:
        source.save_mapping(mapping)
    finally:
        source.store.close()
    print(f"mapping stored: {len(mapping.segment_fields)} segment field(s)")
    return 0


def _projects_import(args: argparse.Namespace) -> int:
    from octolib.customers.importer import import_projects

    _settings, source = _open(existing_store=False)
    try:
        result = import_projects(source, args.file)
    finally:
        source.store.close()
    print(result.line("projects"))
    return 0


def _projects_set(args: argparse.Namespace) -> int:
    from octolib.customers.projects import set_campaign_project

    _settings, source = _open()
    try:
        set_campaign_project(source, args.campaign, None if args.project == "-" else args.project,
                             actor=args.user or getpass.getuser())
    finally:
        source.store.close()
    print(f"campaign {args.campaign}: project {args.project if args.project != '-' else 'none'} (by hand)")
    return 0


def _link(args: argparse.Namespace) -> int:
    from octolib.customers.link import LinkOptions, link_contacts
    from octolib.customers.projects import link_projects

    settings, source = _open()
    try:
        report = link_contacts(source, LinkOptions.from_settings(settings))
        projects = link_projects(source)
    finally:
        source.store.close()
    if args.json:
        doc = report.as_document()
        doc["ran_at"] = doc["ran_at"].isoformat() if doc["ran_at"] else None
        doc["projects"] = {"by_rule": projects.by_rule, "by_hand": projects.by_hand, "ambiguous": projects.ambiguous}
        print(json.dumps(doc, indent=2))
    else:
        print(report.render())
        print(projects.render())
    return 0
