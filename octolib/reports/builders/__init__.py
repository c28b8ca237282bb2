"""Template builders: ``build(ctx, sections=None) -> ReportDocument``, one module per template.

The module of template ``<name>`` is ``builders/<name>.py``; the template registry
(:mod:`octolib.reports.templates`) finds it by that name, so there is no list to keep here.
A builder reads through ``octolib.store`` readers, computes through ``octolib.metrics``,
draws through ``octolib.charts`` and formats every number once into the document.

Each is split the same way (:mod:`octolib.reports.sections`): ``prepare(ctx)`` computes the
data once, ``key_figures`` and ``summary`` make the head, and ``SECTIONS`` lists one function
per printed section; the registry's sections are that list's names.
"""

__all__: list[str] = []
