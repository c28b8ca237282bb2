"""The Jupyter server that ``octo serve`` runs: jupyter_server + JupyterLab + Voilà, behind the login.

Why a ServerApp subclass rather than a config file: some settings must hold whatever a
``jupyter_server_config.py`` or ``voila.json`` on the machine says (no unauthenticated
access, XSRF on, our identity provider, no files through ``/voila/files``), and the login
gate (:mod:`octolib.auth.gate`) must run after every extension has added its routes. A
subclass can enforce both, and refuses to start when it cannot.

Run it as ``python -m octolib.server.app [jupyter options]``; ``octolib.server.launch`` builds
the options.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyter_server.serverapp import ServerApp
from jupyter_server.utils import url_path_join
from traitlets import Unicode, default

import logging
import warnings

from octolib.auth.gate import RouteInfo, install_gate
from octolib.auth.jupyter import OctoIdentityProvider

__all__ = ["OctoServerApp", "main"]



def _quiet_warnings() -> None:
    """Warnings at start-up that no user can act on (called again once the extensions are
    imported, in case one put its own filter in front)."""
    # jupyter_server warns that Voilà's /voila/files, /voila/static and /voila/templates
    # handlers carry no authentication decorator. They need none here: the login gate
    # (octolib.auth.gate) wraps every route after the extensions load, and every route
    # added later, so these answer without a session only where the gate's public list
    # says (static assets); /voila/files is closed to everyone (file_allowlist = []).
    try:
        from jupyter_server.utils import JupyterServerAuthWarning

        warnings.filterwarnings("ignore", message="Extension endpoints without @allow_unauthenticated",
                                category=JupyterServerAuthWarning)
    except ImportError:  # pragma: no cover - older jupyter_server has no such warning
        pass


_quiet_warnings()

# jupyter_lsp's classes use trait spellings traitlets 5 deprecates, and Voilà's __init__
# turns traitlets' DeprecationWarnings on: two warnings at every start that no user can act
# on. Importing it here, quietly, defines those classes once, before the extensions load.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import jupyter_lsp.manager  # noqa: F401
    except ImportError:  # pragma: no cover - jupyter_lsp is optional
        pass


class _QuietTrust(logging.Filter):
    """Drops "Notebook X is not trusted": logged on every Voilà page view (41 lines in one demo).

    Trust decides whether JupyterLab shows a notebook's saved HTML/JS outputs; Voilà runs
    the dashboards and renders fresh outputs either way, so the line tells nobody anything.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "Notebook %s is not trusted"

# Extensions that are installed alongside JupyterLab but not wanted here: terminals give a
# shell. (jupyter_lsp stays: JupyterLab's front end asks /lsp/status on every start and
# logged a 404 without it; with no language server installed it only answers that.)
_DISABLED_EXTENSIONS = {"jupyter_server_terminals": False}


class OctoServerApp(ServerApp):
    """jupyter_server with the octopus identity provider, the route gate and a landing page."""

    description = "octopus: Voilà dashboards and JupyterLab behind a login"

    route_table_file = Unicode("", config=True,
                               help="If set, write the gated route table (JSON) here at start, for audits and tests.")

    @default("identity_provider_class")
    def _default_identity_provider_class(self) -> type:
        return OctoIdentityProvider

    @default("kernel_manager_class")
    def _default_kernel_manager_class(self) -> str:
        return "octolib.server.kernels.CappedKernelManager"

    @default("default_url")
    def _default_default_url(self) -> str:
        return "/dashboards"

    @default("token")
    def _default_token(self) -> str:
        # jupyter_server's default for this deprecated trait warns (a DeprecationWarning at
        # every start) when anything reads it; there is no token here either way.
        provider = getattr(self, "identity_provider", None)
        return str(getattr(provider, "token", "") or "")

    route_table: list[RouteInfo]

    def init_logging(self) -> None:
        super().init_logging()
        quiet = _QuietTrust()
        self.log.addFilter(quiet)
        for handler in self.log.handlers:
            handler.addFilter(quiet)

    def init_server_extensions(self) -> None:
        self.jpserver_extensions.update(_DISABLED_EXTENSIONS)
        super().init_server_extensions()

    def init_configurables(self) -> None:
        # Whatever the config files said: these are the login gate's assumptions.
        if not (isinstance(self.identity_provider_class, type)
                and issubclass(self.identity_provider_class, OctoIdentityProvider)):
            self.log.warning("ignoring identity_provider_class=%r: octo serve always uses OctoIdentityProvider",
                             self.identity_provider_class)
            self.identity_provider_class = OctoIdentityProvider
        self.allow_unauthenticated_access = False
        self.disable_check_xsrf = False
        self.terminals_enabled = False
        # Voilà serves images from the notebook folder without a session by default.
        self.config.VoilaConfiguration.file_allowlist = []
        super().init_configurables()

    def init_webapp(self) -> None:
        _quiet_warnings()  # the extensions (Voilà) are imported by now
        secure = bool(getattr(self.identity_provider, "secure_cookie", False))
        xsrf_kwargs: dict[str, Any] = {"path": self.base_url, "samesite": "Lax"}
        if secure:
            xsrf_kwargs["secure"] = True
        self.tornado_settings = {**self.tornado_settings, "xsrf_cookie_kwargs": xsrf_kwargs}
        # The dashboards' widget code (Voilà's federated extensions) is webpack output whose
        # file names carry a content hash: cacheable for good, so a page view does not
        # revalidate ~20 of them (jupyter_server's default is no-cache + 304 for each).
        immutable = url_path_join(self.base_url, "voila/labextensions/")
        if immutable not in self.static_immutable_cache:
            self.static_immutable_cache = [*self.static_immutable_cache, immutable]
        super().init_webapp()
        from octolib.server.landing import LandingHandler
        from octolib.server.voila import add_routes

        self.web_app.add_handlers(".*$", [(url_path_join(self.base_url, "dashboards"), LandingHandler)])
        add_routes(self)  # before the gate wraps the routes, so it is in the route table

    def initialize(self, argv: list[str] | None = None, *args: Any, **kwargs: Any) -> None:
        super().initialize(argv, *args, **kwargs)
        if self._dispatching:
            return
        self._check_voila_files()
        self.route_table = install_gate(self.web_app, self.base_url)
        if self.route_table_file:
            path = Path(self.route_table_file)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps([r.__dict__ for r in self.route_table], indent=1))

    def _check_voila_files(self) -> None:
        """Refuse to start if a voila.json re-opened ``/voila/files`` to some file types."""
        from octolib.auth.gate import iter_routes

        for rule in iter_routes(self.web_app):
            kwargs = rule.target_kwargs or {}
            if "allowlist" in kwargs and kwargs["allowlist"]:
                raise SystemExit(
                    f"octo serve: VoilaConfiguration.file_allowlist is {kwargs['allowlist']!r} "
                    "(from a voila.json or jupyter config); it must be [] so no file leaves through /voila/files"
                )


main = OctoServerApp.launch_instance

if __name__ == "__main__":  # pragma: no cover
    main()
