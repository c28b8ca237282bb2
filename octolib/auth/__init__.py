"""The login gate of the Jupyter server (DESIGN.md §6).

* :mod:`octolib.auth.users`: password policy and hashing, lockout, account admin, audit log.
* :mod:`octolib.auth.jupyter`: the IdentityProvider (login form, signed sliding-timeout
  session cookie, no token) and the login/logout pages (:mod:`~octolib.auth.templates`).
* :mod:`octolib.auth.gate`: default deny for every route except the login page and static
  assets, whatever extension registered it.

The server these guard (the app, its launch, the landing page, kernels, Voilà's pools and
the test helper that starts it) lives in :mod:`octolib.server`.
"""
