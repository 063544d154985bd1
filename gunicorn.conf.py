"""gunicorn reads ./gunicorn.conf.py from its working directory when no -c is given, so a plain
`gunicorn atlas.wsgi` run from the repository root gets the same settings and worker hooks as
`gunicorn -c atlas/gunicorn.conf.py`. (Without any config file, the first request starts serving.)"""

from pathlib import Path

_shared = Path(__file__).resolve().parent / "atlas" / "gunicorn.conf.py"
exec(compile(_shared.read_text(), str(_shared), "exec"))
