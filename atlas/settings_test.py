"""Settings for the test suite: production-like (DEBUG off) with throwaway folders per process.

The database comes from DATABASE_URL like everywhere else: `make test` runs the suite once on
PostgreSQL and once on SQLite.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "atlas-test-secret-key-not-for-production")
os.environ.setdefault("ATLAS_ENV", "test")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("ATLAS_VAR_DIR", tempfile.mkdtemp(prefix="atlas-test-"))

from .settings import *  # noqa: E402,F403
from .settings import VAR_DIR  # noqa: E402

ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MODEL_STORE_DIR = Path(VAR_DIR) / "store"
MODEL_CACHE_DIR = Path(VAR_DIR) / "cache"
HF_CACHE_DIR = Path(VAR_DIR) / "hf-cache"
# No collectstatic in tests: plain static storage instead of whitenoise's manifest.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_AUTOREFRESH = True
# The test process is not a serving worker (tests that need serving start it, or a real gunicorn).
ATLAS_SERVING_AUTOSTART = False

# SQLite: a file, not memory, so that servers started by the tests (gunicorn) share it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(Path(VAR_DIR) / "test.sqlite3")}  # noqa: F405
