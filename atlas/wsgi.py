"""WSGI entry point. Loading models is not done here: gunicorn's post_worker_init hook does it
(atlas/gunicorn.conf.py), and a model missing from the cache is loaded on its first request."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")

application = get_wsgi_application()
