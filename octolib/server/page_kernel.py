"""The process a dashboard page's kernel runs: ipykernel, without a 3.5 s import nobody uses.

Why: a pool refill is a new kernel process that runs its page's notebook, and the second
analyst on a page waits for it. Profiled, most of that run was one import: plotly imports
``nbformat`` (for its notebook renderers), nbformat imports ``jsonschema``, and jsonschema
imports ``rfc3987_syntax`` when it is installed (jupyter-events pulls it in) to offer an
"iri" format check, and that module builds a Lark Earley grammar at import time: 3.5 s of
CPU of the 7.5 s it took to import a page's modules on this machine, and several times that
in wall time when the two cores are busy. No page validates IRIs, so a page kernel blocks
that one module (``jsonschema`` then simply has no "iri" format check, its documented
behaviour when the package is absent); everything else is stock ipykernel.

Only dashboard page kernels run this (:class:`octolib.server.kernels.PageKernelLauncher`
swaps it in for ``ipykernel_launcher`` when Voilà starts a kernel); JupyterLab's kernels are
untouched.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["SKIPPED_MODULES", "skip_unused_imports", "main"]

#: Modules a page kernel never imports (``None`` in ``sys.modules`` makes ``import`` raise
#: ImportError, which their importers handle as "not installed").
SKIPPED_MODULES = ("rfc3987_syntax",)


def skip_unused_imports() -> None:
    """Make the modules of :data:`SKIPPED_MODULES` look absent (unless already imported)."""
    for name in SKIPPED_MODULES:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def main() -> None:
    """What ``python -m ipykernel_launcher`` does, after :func:`skip_unused_imports`."""
    # ipykernel_launcher drops the working directory from the path first (IPython adds it
    # back when the shell starts): so do we.
    if sys.path and (sys.path[0] == "" or Path(sys.path[0]) == Path.cwd()):
        del sys.path[0]
    skip_unused_imports()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
