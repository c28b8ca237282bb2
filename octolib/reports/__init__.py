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
