"""WSGI entry point. Loading models is not done here: gunicorn's post_worker_init hook does it
(atlas/gunicorn.conf.py), and a model missing from the cache is loaded on its first request.

Chunked request bodies are read here, for every way the service is served (atlas/request_guard.py),
and gunicorn's own error answers are made JSON."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")

from atlas.request_guard import ChunkedBodies, install_gunicorn_json_errors  # noqa: E402

application = ChunkedBodies(get_wsgi_application())
install_gunicorn_json_errors()
