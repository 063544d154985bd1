"""The promotion job's task under the path the release before issue 27 enqueued it by (django-tasks stores the
task's dotted path with each job). During a rolling deploy an old web process may still enqueue a job under
this path for a new worker, after migration 0012 rewrote the queued ones: this name keeps that job running.
Remove it in the release after the one that moved the module to services/.
"""

from models_registry.services.promotion_jobs import promotion_job_run

__all__ = ["promotion_job_run"]
