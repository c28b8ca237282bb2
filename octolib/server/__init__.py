"""The one Jupyter server ``octo serve`` runs: jupyter_server + JupyterLab + Voilà, behind the login.

Why a package of its own: the server is one thing (how it starts, what it serves, how its
kernels are kept) and the login (:mod:`octolib.auth`) is another; before, the pieces sat
in ``auth/`` and ``dashboards/`` and two test helpers each started a server.

* :mod:`octolib.server.app`: the ServerApp subclass (identity provider, route gate, landing).
* :mod:`octolib.server.launch`: the command line and environment ``octo serve`` execs.
* :mod:`octolib.server.landing`: the signed-in home page (the list of dashboards).
* :mod:`octolib.server.kernels`: a ceiling on running kernels; page kernels start through
  :mod:`octolib.server.page_kernel` (ipykernel without an unused 3.5 s import).
* :mod:`octolib.server.voila`: Voilà's pre-started kernel pools, the render-stall fix, the
  CDN-free template and plotly.js served once.
* :mod:`octolib.server.testing`: start the real server on a free port and sign in (tests,
  benchmarks).

The login gate itself (:mod:`octolib.auth.gate`) and the identity provider
(:mod:`octolib.auth.jupyter`) stay in :mod:`octolib.auth`.
"""
