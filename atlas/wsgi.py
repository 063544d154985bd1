"""WSGI entry point. Loading models is not done here: gunicorn's post_worker_init hook does it
(atlas/gunicorn.conf.py), and a model missing from the cache is loaded on its first request.

Every request body is held to its route's limit here, from its headers, before a byte is read (chunked
bodies as they arrive), for every way the service is served; a body that stops arriving
is cut off under gunicorn (a 408, instead of a worker held until gunicorn's timeout), and gunicorn's own
error answers are made JSON (atlas/request_guard.py). A plain POST /predict is answered before Django's
request cycle, with the same answer and headers (inference/hot_path.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")

from atlas.request_guard import BodyLimits, SlowBodies, install_gunicorn_json_errors  # noqa: E402

django_application = get_wsgi_application()

from inference.hot_path import HotPredict  # noqa: E402 (after Django is set up)

# HotPredict outside BodyLimits: a plain /predict keeps its own bound (DATA_UPLOAD_MAX_MEMORY_SIZE, the default
# route limit) and hands a larger body on, so the hot path pays no URL resolution.
application = SlowBodies(HotPredict(BodyLimits(django_application)))
install_gunicorn_json_errors()
