"""Template builders: ``build(ctx) -> ReportDocument``, one module per template.

The module of template ``<name>`` is ``builders/<name>.py``; the template registry
(:mod:`octolib.reports.templates`) finds it by that name, so there is no list to keep here.
A builder reads through ``octolib.store`` readers, computes through ``octolib.metrics``,
draws through ``octolib.charts`` and formats every number once into the document.
"""

__all__: list[str] = []
