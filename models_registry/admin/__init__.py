"""The Django admin: where operators promote and roll back. Every action calls models_registry.services and is
written to the admin log (LogEntry). Django's autodiscovery imports this package, which registers:

- `registry`: the registered models, the activation history and the worker reports;
- `versions`: the upload form and the versions' pages and actions;
- `control`: the change pages' Promote and Roll back buttons, their confirmation pages, the "serving" column;
- `jobs`: promotions in the background and the jobs' progress;
- `rollouts`: start, watch and abort a rollout;
- `devices`: the edge devices' reports.
"""

from . import devices, jobs, registry, rollouts, versions

__all__ = ["devices", "jobs", "registry", "rollouts", "versions"]
