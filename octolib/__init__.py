"""octolib: campaign analytics and partner reporting for an EmailOctopus account.

Flow (see DESIGN.md): api (client) -> sync -> store (MongoDB) -> metrics -> charts ->
dashboards / reports. Settings enter at the edge (``octolib.config.Settings.from_env``) and
are passed inward; library code never reads the process environment.
"""

__version__ = "0.1.0"
