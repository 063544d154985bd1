"""The WSGI application as granian serves it (the Procfile's `web:` line, which `make run` runs through
honcho): `granian --interface wsgi atlas.granian_app:application`.

granian has no worker hooks like gunicorn's post_worker_init and worker_exit (atlas/gunicorn.conf.py). Each
granian worker imports this module before it takes a request, so the import does what those hooks do:
serving starts (every active version preloaded, the activation listener running), and the worker's exit
stops it (the listener ends, this worker's reports are removed). A granian worker is a multiprocessing
child, whose exit runs multiprocessing's finalizers but not atexit's; both are registered, for any other
way this module is served.
"""

import atexit
from multiprocessing import util as multiprocessing_util

from atlas.wsgi import application
from inference import serving

__all__ = ["application"]

serving.ensure_started(preload=True)  # never raises: what failed is retried in the background and shown in /readyz
multiprocessing_util.Finalize(None, serving.stop, exitpriority=10)
atexit.register(serving.stop)
