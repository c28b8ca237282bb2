"""A local EmailOctopus account behind a real HTTP server: the demo and the integration tests.

::

    from octolib.fake import FakeAccount, FakeServer, Faults, DEMO_API_KEY
    account = FakeAccount.generate(seed=7, size="demo")
    with FakeServer(account) as srv:      # srv.base_url -> OCTO_API_BASE, DEMO_API_KEY -> OCTO_API_KEY
        ...

``account.py`` generates the data (seeded, self-consistent, with its own clock),
``faults.py`` holds the switches for the API's unknowns and failures, ``server.py`` speaks
HTTP like API v2. ``openapi-v2.json`` beside this file is the vendor's spec, packaged so tests
can validate answers on a clean clone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from octolib.fake.account import CONTACT_STATUSES, REPORT_STATUSES, SIZES, FakeAccount, SizeSpec
from octolib.fake.faults import Faults
from octolib.fake.server import DEMO_API_KEY, FakeServer, TokenBucket

__all__ = [
    "FakeAccount", "FakeServer", "Faults", "SizeSpec", "SIZES", "DEMO_API_KEY", "TokenBucket",
    "REPORT_STATUSES", "CONTACT_STATUSES", "OPENAPI_SPEC_PATH", "load_openapi_spec",
]

#: The vendor's OpenAPI 3.1 document for API v2, as shipped in the package.
OPENAPI_SPEC_PATH = Path(__file__).with_name("openapi-v2.json")


def load_openapi_spec() -> dict[str, Any]:
    """The vendor's OpenAPI document (as published: it has non-standard types such as
    ``"int"``; see tests/conftest.py for the normalisation used to validate against it)."""
    return json.loads(OPENAPI_SPEC_PATH.read_text(encoding="utf-8"))
