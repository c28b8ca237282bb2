"""The demo account's customers and energy projects, with segment effects planted on purpose.

Drawn from a stream of its own (``random.Random(f"{seed}:customers")``) after the account is
generated, so every list, contact, campaign and event of the account stays exactly as it was.
The only change to the account: a few contacts get a ``CustomerId`` custom field (a new field,
appended to their list's field definitions), the ones the customers file knows under another
address, so they can be linked only by that field.

What is planted, per person (a lower-cased address; the same person may be on two lists):

* most have one customer record with the same address, some written in another case with
  stray spaces (``by_email``);
* some have a customer record under another address and the ``CustomerId`` field (``by_field``);
* a few have two customer records with the same address (``ambiguous``: not linked);
* some have none (``unmatched``); and a few customers have no contact at all.

Segment effects, so the analysis has something true to find: the **heat-pump campaign** (the
sent campaign with the most clickers; project "Heat pump rollout") was clicked by people whose
``annual_kwh`` is drawn from a distribution 2.4 times higher (a real effect of usage on
clicking that campaign), while ``home_type`` is drawn independently of everything (a null
effect: any difference between home types is chance).
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from octolib.fake.account import FakeAccount

__all__ = ["CustomerPlan", "plan_customers", "apply_field_links", "write_customer_files", "FIELD_TAG", "MAPPING"]

#: The custom field that holds a customer id in the demo account (OCTO_LINK_FIELD).
FIELD_TAG = "CustomerId"
HOME_TYPES = ("flat", "terraced", "semi-detached", "detached")
USAGE_EFFECT = 2.4  # clickers of the heat-pump campaign use this many times more energy (median)

#: The demo's mapping file (octo customers import --mapping).
MAPPING: dict[str, Any] = {
    "id": "customer_ref",
    "email": "email",
    "fields": {
        "annual_kwh": {"kind": "number", "bands": "quantiles", "quantiles": 4},
        "home_type": {"kind": "category"},
        "customer_since": {"kind": "date"},
        "postcode": {"kind": "private"},
    },
}


@dataclass
class CustomerPlan:
    """The generated files' rows and what linking them must find."""

    customers: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    field_links: dict[str, str] = field(default_factory=dict)  # contact id -> customer id (CustomerId field)
    expected: dict[str, int] = field(default_factory=dict)  # by_email, by_field, unmatched, ambiguous, customers_without_contact
    heat_pump_campaign: str = ""


def plan_customers(account: FakeAccount) -> CustomerPlan:
    """Draw the customers and projects of ``account`` (see the module docstring)."""
    rng = random.Random(f"{account.seed}:customers")
    now = account._now
    people: dict[str, list[Any]] = {}
    for lst in account._lists:
        for c in lst.contacts:
            if c.created_at <= now:
                people.setdefault(c.email.lower(), []).append(c)
    sent = [camp for camp in account._campaigns if camp.status(now) == "sent" and camp.clicks]
    hp = max(sent, key=lambda camp: (len({cid for _, cid, _ in camp.clicks}), camp.id), default=None)
    clicked_hp = {cid for _, cid, _ in hp.clicks} if hp else set()
    plan = CustomerPlan(heat_pump_campaign=hp.id if hp else "")
    counts = {"by_email": 0, "by_field": 0, "unmatched": 0, "ambiguous": 0, "customers_without_contact": 0}
    number = 0

    def customer(email: str, clicked: bool) -> dict[str, Any]:
        nonlocal number
        number += 1
        kwh = 3100.0 * math.exp(rng.gauss(0.0, 0.35)) * (USAGE_EFFECT if clicked else 1.0)
        since = f"{rng.randrange(2012, 2026)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        return {"customer_ref": f"CUST-{number:05d}", "email": email, "annual_kwh": round(kwh),
                "home_type": rng.choice(HOME_TYPES), "customer_since": since,
                "postcode": f"LS{rng.randrange(1, 30)} {rng.randrange(1, 10)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}"}

    for address in sorted(people):
        contacts = people[address]
        clicked = any(c.id in clicked_hp for c in contacts)
        u = rng.random()
        if u < 0.05:
            counts["unmatched"] += len(contacts)
        elif u < 0.09:
            local = address.split("@")[0]
            row = customer(f"{local}.home@customers.example", clicked)
            plan.customers.append(row)
            for c in contacts:
                plan.field_links[c.id] = row["customer_ref"]
            counts["by_field"] += len(contacts)
        elif u < 0.11:
            plan.customers.append(customer(address, clicked))
            plan.customers.append(customer(address.upper(), clicked))
            counts["ambiguous"] += len(contacts)
            counts["customers_without_contact"] += 2  # neither record is linked
        elif u < 0.25:
            plan.customers.append(customer(f"  {contacts[0].email.upper()} ", clicked))
            counts["by_email"] += len(contacts)
        else:
            plan.customers.append(customer(contacts[0].email, clicked))
            counts["by_email"] += len(contacts)
    for i in range(12):
        plan.customers.append(customer(f"former.customer{i + 1}@nocontact.example", False))
        counts["customers_without_contact"] += 1
    rng.shuffle(plan.customers)
    plan.expected = counts
    plan.projects = [
        {"id": "P-HEAT", "name": "Heat pump rollout", "ids": [plan.heat_pump_campaign] if hp else []},
        {"id": "P-SURVEY", "name": "Home energy survey", "name_pattern": "^Survey"},
        {"id": "P-INSUL", "name": "Insulation grants", "name_pattern": "^Webinar"},
    ]
    return plan


def apply_field_links(account: FakeAccount, plan: CustomerPlan) -> None:
    """Give the planted contacts their ``CustomerId`` field (appended; nothing else changes)."""
    for contact_id, customer_id in plan.field_links.items():
        contact = account._contacts_by_id[contact_id]
        contact.fields[FIELD_TAG] = customer_id
        lst = account._lists_by_id[contact.list_id]
        if all(f["tag"] != FIELD_TAG for f in lst.fields):
            lst.fields.append({"label": "Customer ID", "tag": FIELD_TAG, "type": "text", "fallback": None})


def write_customer_files(plan: CustomerPlan, folder: str | Path) -> tuple[Path, Path, Path]:
    """Write ``customers.csv``, ``customers.mapping.yml`` and ``projects.jsonl`` into ``folder``."""
    import yaml

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    customers = out / "customers.csv"
    with customers.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["customer_ref", "email", "annual_kwh", "home_type",
                                                "customer_since", "postcode"])
        writer.writeheader()
        writer.writerows(plan.customers)
    mapping = out / "customers.mapping.yml"
    mapping.write_text(yaml.safe_dump(MAPPING, sort_keys=False), encoding="utf-8")
    projects = out / "projects.jsonl"
    projects.write_text("".join(json.dumps(p) + "\n" for p in plan.projects), encoding="utf-8")
    return customers, mapping, projects
