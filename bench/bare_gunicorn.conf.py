"""Atlas's own gunicorn settings (atlas/gunicorn.conf.py: sync workers, WEB_CONCURRENCY, timeouts,
logging), serving bench/bare_wsgi.py instead, without Atlas's worker hooks (no model preload, no
activation listener)."""

from pathlib import Path

_atlas = Path(__file__).resolve().parents[1] / "atlas" / "gunicorn.conf.py"
exec(compile(_atlas.read_text(), str(_atlas), "exec"))  # noqa: S102 -- the project's own config file

wsgi_app = "bench.bare_wsgi:application"
worker_class = "sync"  # the floor of issue 13: a bare app under gunicorn's sync workers, whatever the environment says
del post_worker_init, worker_exit  # noqa: F821 -- defined by the exec above
