"""gunicorn settings (`gunicorn -c atlas/gunicorn.conf.py`; the Procfile's server is granian, docs/ARCHITECTURE.md
says why). Each worker preloads the active model versions and starts its activation
listener after it has loaded the Django application (post_worker_init), and removes its worker
reports on exit."""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
# sync workers; any other gunicorn option (e.g. GUNICORN_CMD_ARGS="--worker-class gthread --threads 4", which
# serves 4 requests per process; docs/PERFORMANCE.md measures both, or "--timeout 120") overrides this file.
timeout = 60
graceful_timeout = 20
accesslog = None  # Atlas writes its own request line (ACCESS_LOG=1): request id, model and version
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
wsgi_app = "atlas.wsgi:application"


def post_worker_init(worker):
    # Never raises: a worker that cannot reach the database or load a model still serves (what it
    # loaded, /livez, an honest /readyz) and its listener keeps trying; the master keeps running.
    try:
        from inference import serving

        serving.ensure_started(preload=True)
    except Exception:
        worker.log.exception("serving did not start at worker init; the first request tries again")


def worker_exit(server, worker):
    try:
        from inference import serving

        serving.stop()
    except Exception:
        server.log.exception("stopping serving failed")
