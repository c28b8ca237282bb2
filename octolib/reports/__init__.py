"""Partner reports (issue #5): partners, templates run by papermill, branded PDFs.

Flow: a partner (:mod:`~octolib.reports.partners`) and a period
(:mod:`~octolib.reports.period`) go into a template notebook in ``report_notebooks/``,
which the runner (:mod:`~octolib.reports.runner`) executes with papermill. The notebook
calls a builder (:mod:`~octolib.reports.builders`) that computes through
``octolib.metrics`` and ``octolib.charts`` and returns a
:class:`~octolib.reports.document.ReportDocument`; :mod:`~octolib.reports.pdf` prints it
and :func:`~octolib.reports.document.appendix_csv` writes the same numbers as CSV.

For the report builder page: :func:`~octolib.reports.runner.run_batch` (with a progress
callback), :func:`~octolib.reports.runner.list_reports`, the partner functions, and
:data:`~octolib.reports.templates.TEMPLATES`.
"""

from octolib.reports.partners import (
    Partner,
    PartnerError,
    delete_partner,
    export_partners_yaml,
    get_partner,
    import_partners,
    list_partners,
    load_partners_yaml,
    save_partner,
    set_note,
    validate_partner,
)
from octolib.reports.period import Period, resolve_range
from octolib.reports.runner import (
    BatchResult,
    ReportRequest,
    ReportResult,
    get_report,
    list_reports,
    requests_for,
    run_batch,
    run_report,
)
from octolib.reports.templates import TEMPLATES, TemplateInfo

__all__ = [
    "Partner", "PartnerError", "validate_partner", "save_partner", "get_partner", "list_partners",
    "delete_partner", "set_note", "import_partners", "export_partners_yaml", "load_partners_yaml",
    "Period", "resolve_range",
    "ReportRequest", "ReportResult", "BatchResult", "run_batch", "run_report", "list_reports", "get_report",
    "requests_for",
    "TEMPLATES", "TemplateInfo",
]
