"""The login gate of the Jupyter server (DESIGN.md §6).

* :mod:`octolib.auth.users`: password policy and hashing, lockout, account admin, audit log.
* :mod:`octolib.auth.jupyter`: the IdentityProvider (login form, signed sliding-timeout
  session cookie, no token) and the login/logout pages (:mod:`~octolib.auth.templates`).
* :mod:`octolib.auth.gate`: default deny for every route except the login page and static
  assets, whatever extension registered it.
* :mod:`octolib.auth.app` / :mod:`octolib.auth.server`: the server ``octo serve`` runs and
  how it is launched; :mod:`~octolib.auth.landing` (the dashboards list) and
  :mod:`~octolib.auth.kernels` (a ceiling on kernels) belong to it.
* :mod:`octolib.auth.testing`: start the real server on a free port and sign in (tests).
"""
