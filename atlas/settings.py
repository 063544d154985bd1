"""Atlas settings. Every environment variable the service reads is read here, and only here.

The names follow the two services Atlas replaces so their deployments can switch over unchanged:
DATABASE_URL, MODEL_STORAGE_TYPE, S3_*, ADMIN_TOKEN, HF_*, HUGGINGFACE_TOKEN, DEFAULT_MODEL,
ALLOWED_ORIGINS, ATLAS_ENV, LOG_LEVEL. docs/OPERATIONS.md lists them all with their defaults.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from atlas.production_guards import refuse_ephemeral_in_production, refuse_retired_variables

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _trusted_key(entry: str) -> tuple[str, str]:
    """("name", "base64key") from "name:base64key"; a bare key is named by its first 12 characters."""
    name, sep, key = entry.partition(":")
    return (name, key) if sep else (entry[:12], entry)


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


# Production unless told otherwise: DEBUG, the development SECRET_KEY, open CORS and an open admin API
# (when ADMIN_TOKEN is unset) exist only with ATLAS_ENV=development or DEBUG=1. `make run` and
# manage.py (a developer's tool) default to development; gunicorn (wsgi.py) does not.
ATLAS_ENV = os.environ.get("ATLAS_ENV", "production").strip().lower()
refuse_retired_variables(set(os.environ))
DEBUG = _env_bool("DEBUG", ATLAS_ENV == "development")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment (DEBUG is off, so there is no default)."
        )
    SECRET_KEY = "atlas-insecure-development-key-only-used-when-DEBUG-is-on"

ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
if DEBUG:
    ALLOWED_HOSTS += ["testserver"]
# On Railway (the threat-intelligence service's platform): its public domain, and the host its health
# check sends (healthcheck.railway.app).
RAILWAY_PUBLIC_DOMAIN = os.environ.get("RAILWAY_PUBLIC_DOMAIN", "")
if RAILWAY_PUBLIC_DOMAIN or os.environ.get("RAILWAY_ENVIRONMENT"):
    ALLOWED_HOSTS += [h for h in (RAILWAY_PUBLIC_DOMAIN, "healthcheck.railway.app") if h]

VAR_DIR = _env_path("ATLAS_VAR_DIR", BASE_DIR / "var")

INSTALLED_APPS = [
    "atlas.apps.AtlasConfig",  # first: its ready() prepares the process (atlas/startup.py) before the others
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "django_tasks_db",
    "models_registry",
    "inference",
    "vocabulary",
]

MIDDLEWARE = [
    "inference.middleware.ServingMiddleware",
    "atlas.http.request_context.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "atlas.http.middleware.LargeResponseGZipMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "atlas.request_guard.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "atlas.request_guard.BodyPermissionMiddleware",  # before the CSRF check reads a form's body
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "atlas.urls"
WSGI_APPLICATION = "atlas.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_url(url: str) -> str:
    """SQLAlchemy's driver suffix (the MNIST service documented `postgresql+psycopg://...?sslmode=require`)
    names the driver, which Django picks itself: `postgresql+psycopg://` is read as `postgresql://`."""
    return re.sub(r"^(postgres(?:ql)?)\+[A-Za-z0-9_]+://", r"\1://", url)


DATABASES = {
    "default": dj_database_url.parse(
        _database_url(os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'atlas.sqlite3'}"),
        conn_max_age=60,  # seconds a worker keeps its connection (PostgreSQL)
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers share one SQLite file: wait for the write lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # A dropped connection is replaced before the next query instead of costing one 500 per worker;
    # an unreachable database fails in seconds (5; DATABASE_URL's ?connect_timeout=N says otherwise), not in
    # the kernel's minutes.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("ATLAS_STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # One storage whatever ATLAS_ENV: files collected by the build (in any environment) serve in production.
    # No manifest, so a page never 500s for a manifest written by another storage (or none at all).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = DEBUG

# Largest request body of a route whose view names no limit of its own (`body_limit_setting`), checked from
# the headers before a byte is read (atlas.request_guard.BodyLimits); Django's own bound on what it reads.
# Uploads of model files go to disk, not memory, past 2.5 MB (Django's default).
ATLAS_MAX_REQUEST_MB = int(os.environ.get("ATLAS_MAX_REQUEST_MB", "25"))
DATA_UPLOAD_MAX_MEMORY_SIZE = ATLAS_MAX_REQUEST_MB * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440


def _origins() -> list[str]:
    """ALLOWED_ORIGINS, or the threat-intelligence service's CORS_ORIGINS (a JSON list or comma-separated)."""
    raw = os.environ.get("ALLOWED_ORIGINS") or os.environ.get("CORS_ORIGINS") or ""
    if raw.strip().startswith("["):
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise ImproperlyConfigured(f"CORS_ORIGINS is not a JSON list: {raw!r}") from None
        return [str(origin).strip() for origin in parsed if str(origin).strip()]
    return [origin.strip() for origin in raw.split(",") if origin.strip()]


CORS_ALLOWED_ORIGINS = _origins()
CORS_ALLOW_ALL_ORIGINS = DEBUG and not CORS_ALLOWED_ORIGINS

if not DEBUG:
    SESSION_COOKIE_SECURE = _env_bool("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = _env_bool("SECURE_COOKIES", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "models_registry.api.authentication.AdminTokenAuthentication",
    ],
    # Deny by default: each view says who may call it (public ones `permission_classes = (AllowAny,)`);
    # tests/security/test_deny_by_default.py lists any view that relies on this default.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON parser plus a depth bound and a NUL refusal (atlas/http/parsers.py): 400, never a 500.
    "DEFAULT_PARSER_CLASSES": [
        "atlas.http.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "EXCEPTION_HANDLER": "atlas.http.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # How many proxies in front append to X-Forwarded-For: the rate limits' client IP. 0: REMOTE_ADDR, so a
    # client cannot pick its own; behind one load balancer (Railway, a PaaS router) set 1.
    "NUM_PROXIES": int(os.environ.get("ATLAS_NUM_PROXIES", "0")),
}

ATLAS_VERSION = "1.0.0"  # the service's own version: GET /, /health and the API schema

SPECTACULAR_SETTINGS = {
    "TITLE": "Atlas",
    "DESCRIPTION": "Model versions managed in the Django admin, served hot.",
    "VERSION": ATLAS_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],  # the schema and its docs pages are public
    "ENUM_NAME_OVERRIDES": {"RolloutModeEnum": "models_registry.models.Rollout.Mode"},
    # The dictionary's ids: any segment in the URL (the view answers Hippo's 422), integers in the schema.
    "PATH_CONVERTER_OVERRIDES": {"id": int},
    # Request and response shapes apart: a request's required text is non-blank (minLength 1), as the
    # serializers check, while an answer's may be empty; read-only fields are left out of requests.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and ReDoc from local static files (drf-spectacular-sidecar): /docs works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Errors from the layers in front of every view (NUL, parse, size, auth), documented on each operation;
    # a real MNIST digit as /predict's example.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "atlas.http.schema_hooks.document_common_errors",
        "atlas.http.schema_hooks.no_nul_in_strings",
        "inference.schema_examples.mnist_digit_example",
    ],
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
# plain (default) or json: one JSON object per line, with the request id of the request that logged it.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").strip().lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT is {LOG_FORMAT!r}; use plain or json.")
# One line per request (atlas.requests): method, path, status, time, X-Request-ID, model and version.
ATLAS_REQUEST_LOG = _env_bool("ACCESS_LOG", False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "atlas.log_format.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"},
        "json": {"()": "atlas.log_format.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "atlas": {"level": LOG_LEVEL},
        "models_registry": {"level": LOG_LEVEL},
        "inference": {"level": LOG_LEVEL},
        "vocabulary": {"level": LOG_LEVEL},
    },
}

# Tuning settings are Django settings, not environment variables: a deployment that needs another value than
# the default here uses a settings module of its own (`from atlas.settings import *`, then the new value;
# DJANGO_SETTINGS_MODULE names it). docs/OPERATIONS.md, "Tuning settings", lists them.

# --- Atlas: the registry, its storage and the artifact cache ---------------------------------------

# The artifact stores by name (models_registry/storage/): a new store is one module and one line here.
# The names are the `storage` values recorded on ModelVersion.
ATLAS_STORES = {
    "local": "models_registry.storage.local.LocalStore",
    "s3": "models_registry.storage.s3.S3Store",
    "hf": "models_registry.storage.hf.HubStore",
}
# Where new uploads go by default: local | s3 | hf. Versions remember their own backend.
MODEL_STORAGE_TYPE = os.environ.get("MODEL_STORAGE_TYPE", "local").strip().lower()
# The local store's folder and the cache's bound, read under the threat-intelligence service's names.
MODEL_STORE_DIR = _env_path("MODEL_STORAGE_PATH", VAR_DIR / "store")
MODEL_CACHE_DIR = _env_path("MODEL_CACHE_DIR", VAR_DIR / "cache")
MODEL_CACHE_MAX_MB = int(os.environ.get("MODEL_CACHE_SIZE_MB") or "4096")
# A `.part` download or lock file older than this, whose lock no live process holds, is a leftover (of a
# worker killed mid-download, of an evicted file): swept at worker start, by cache/clear and before eviction.
MODEL_CACHE_LEFTOVER_SECONDS = 3600.0

# Production never runs, unknowingly, on a SQLite file or a local store: both vanish on redeploy.
ATLAS_ALLOW_EPHEMERAL = _env_bool("ATLAS_ALLOW_EPHEMERAL", False)
refuse_ephemeral_in_production(
    atlas_env=ATLAS_ENV,
    database_engine=DATABASES["default"]["ENGINE"],
    storage_type=MODEL_STORAGE_TYPE,
    allow_ephemeral=ATLAS_ALLOW_EPHEMERAL,
)

S3_BUCKET = os.environ.get("S3_BUCKET", "")
S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
S3_REGION = os.environ.get("S3_REGION", "us-east-1")
S3_ACCESS_KEY = os.environ.get("S3_ACCESS_KEY", "")
S3_SECRET_KEY = os.environ.get("S3_SECRET_KEY", "")

HF_MODEL_REPO = os.environ.get("HF_MODEL_REPO", "")
# HF_TOKEN: huggingface_hub's own name, which the MNIST service honoured through the library (token=None).
HUGGINGFACE_TOKEN = os.environ.get("HUGGINGFACE_TOKEN") or os.environ.get("HF_TOKEN") or None
HF_CACHE_DIR = _env_path("HF_CACHE_DIR", VAR_DIR / "hf-cache")
# The Hub's address; None: huggingface_hub's own (https://huggingface.co, or its HF_ENDPOINT variable).
HF_ENDPOINT: str | None = None
# Admin health waits this long for the default store to answer; past it the store counts as unreachable.
ATLAS_STORAGE_CHECK_SECONDS = 3.0
# Every store call is bounded: connect and read timeouts of each request (S3; the Hub's metadata request), and
# a deadline for a whole fetch into the artifact cache, past which a promotion fails with a timeout (504).
ATLAS_STORE_CONNECT_SECONDS = 5.0
ATLAS_STORE_READ_SECONDS = 30.0
ATLAS_FETCH_DEADLINE_SECONDS = 300.0

# Bearer token of the admin API kept from the threat-intelligence service. Unset: the API answers 503
# (open only in DEBUG, for local work).
ADMIN_TOKEN = os.environ.get("ADMIN_TOKEN", "")
# The dictionary's writes without credentials (the old MNIST service's dictionary was open); off by default.
VOCABULARY_PUBLIC_WRITES = _env_bool("VOCABULARY_PUBLIC_WRITES", False)

DEFAULT_MODEL = os.environ.get("DEFAULT_MODEL", "digit_classifier")

# Which loader serves each runtime name. The registry resolves these by name (it never imports
# `inference`), the way Django resolves storage and cache backends.
ATLAS_RUNTIMES = {
    "numpy_mlp": "inference.runtimes.numpy_mlp.load",
    "yolo": "inference.runtimes.yolo.load",
    "audio_mlp": "inference.runtimes.audio_mlp.load",
    "threat_rules": "inference.runtimes.threat_rules.load",
    "onnx": "inference.runtimes.onnx.load",
    "sklearn": "inference.runtimes.sklearn.load",
}
# Intra-op threads of each ONNX session (one per loaded version, per worker): 1 lets the workers share the cores.
ATLAS_ONNX_THREADS = 1

# Which models this replica loads and serves (comma-separated names); unset or empty: every model. The others
# answer 503 here and are left out of this replica's readiness.
ATLAS_SERVE_MODELS = _env_list("ATLAS_SERVE_MODELS")

# Shadow rollouts: copies waiting for the candidate per worker; a full queue drops (and counts) the copy.
ATLAS_SHADOW_QUEUE = 64

# What each runtime answers to a request body, for golden sets (models_registry.golden).
ATLAS_GOLDEN_ANSWERS = {
    "numpy_mlp": "inference.golden.digits",
    "yolo": "inference.golden.vision",
    "audio_mlp": "inference.golden.audio",
    "threat_rules": "inference.golden.threat",
    "onnx": "inference.golden.tensors",
    "sklearn": "inference.golden.tensors",
}
# Formats that run code when loaded, per runtime: a version in one of them loads only when it is trusted
# (marked by a user with the `trust_artifact` permission) or signed by a key of ATLAS_TRUSTED_KEYS.
# An ultralytics .pt is a pickle; the audio runtime's .pt is read with torch.load(weights_only=True).
ATLAS_CODE_EXECUTING_FORMATS = {"yolo": ("pt",), "sklearn": ("pkl", "pickle", "joblib")}

# Public ed25519 keys whose signatures of a version's sha256 make it trusted: "name:base64key,..."
# (`manage.py sign_model --generate-key` makes a pair and prints the entry).
ATLAS_TRUSTED_KEYS = dict(_trusted_key(entry) for entry in _env_list("ATLAS_TRUSTED_KEYS"))

# Converters `upload_model --onnx` uses: export(source_path, dest_path) -> dest_path.
ATLAS_EXPORTERS = {"onnx": "inference.runtimes.yolo.export_onnx"}

# How often each serving worker compares its loaded versions with the registry: the whole mechanism on
# SQLite, and the safety net behind LISTEN/NOTIFY on PostgreSQL.
ATLAS_RELOAD_POLL_SECONDS = float(os.environ.get("ATLAS_RELOAD_POLL_SECONDS", "0.5"))
# LISTEN/NOTIFY on PostgreSQL (off behind a transaction-pooling pgbouncer, which cannot LISTEN: the poll
# then carries every promotion).
ATLAS_LISTEN_NOTIFY = _env_bool("ATLAS_LISTEN_NOTIFY", True)
ATLAS_WORKER_HEARTBEAT_SECONDS = 5.0
# A worker that has not reported for this long no longer counts in health.
ATLAS_WORKER_STALE_SECONDS = 30.0
# Worker reports are deleted (at each worker's start, and by each listener every few minutes) when their
# process is gone from this host, or when nothing was heard from them for this long (any host).
ATLAS_WORKER_REPORT_EXPIRE_SECONDS = 3600.0
# The first request of a process starts serving (listener + loading) when no gunicorn hook did; the
# test settings turn it off so the test process itself does not become a serving worker.
ATLAS_SERVING_AUTOSTART = True

# Largest model file the admin form and the registry API accept (larger ones: upload to the store,
# then `manage.py register_model`).
# A request body under gunicorn must keep arriving: at most ATLAS_BODY_IDLE_SECONDS without data, and all of
# it within that plus its length at ATLAS_BODY_MIN_KBPS; else 408 (atlas/request_guard.py). 0 turns it off.
ATLAS_BODY_IDLE_SECONDS = float(os.environ.get("ATLAS_BODY_IDLE_SECONDS", "1"))
ATLAS_BODY_MIN_KBPS = float(os.environ.get("ATLAS_BODY_MIN_KBPS", "64"))
# The admin's Promote confirmation promotes a version larger than this in the background (a promotion job),
# so that its fetch, sha256 and trial load never hold the request past the server's timeout.
ATLAS_ADMIN_SYNC_PROMOTE_MB = 100

# Long work (promotion jobs) runs on django-tasks' database backend, in the Procfile's `worker:` process
# (`manage.py db_worker --queue-name registry`). A running job writes its heartbeat every third of the lease;
# one whose heartbeat is older than the lease has lost its worker and is failed
# (models_registry/services/promotion_jobs.py).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["registry"]}}
ATLAS_JOB_LEASE_SECONDS = 60.0
# The longest a promotion job may run, heartbeat or not (a download waiting on a hung one, a load that never
# returns): past it the job is failed with that reason and moves nothing. Two fetches within their deadline (a
# load error of cached bytes fetches once more) and five minutes to trial-load. A setting, not a variable.
# None: 2 x ATLAS_FETCH_DEADLINE_SECONDS + 300, computed when used, so a settings module that raises only the
# deadline raises this too (models_registry/services/promotion_jobs.py, job_max_seconds).
ATLAS_JOB_MAX_SECONDS: float | None = None
ATLAS_MAX_MODEL_UPLOAD_MB = int(os.environ.get("ATLAS_MAX_MODEL_UPLOAD_MB", "2048"))

# Largest body the prediction endpoints accept (images, audio).
ATLAS_MAX_UPLOAD_MB = int(os.environ.get("ATLAS_MAX_UPLOAD_MB", "20"))
# Longest audio clip /api/v1/audio/classify decodes, read from the WAV header before any sample is
# decoded (a compressed or 8-bit file of an hour would otherwise cost gigabytes).
ATLAS_MAX_AUDIO_SECONDS = 60.0
# Largest image (width x height) /api/v1/detect decodes, read from the image header before decoding.
ATLAS_MAX_IMAGE_PIXELS = 25_000_000

# torch's intra-op threads in each worker (0: torch's default, one per physical core). ultralytics would
# otherwise set it to cores - 1 process-wide on its first prediction.
ATLAS_TORCH_THREADS = int(os.environ.get("ATLAS_TORCH_THREADS", "0"))

# Ultralytics must never reach the network here (DESIGN.md, "Offline facts").
YOLO_CONFIG_DIR = VAR_DIR / "yolo"

# The runtime a model of a known name gets when it is first registered without one.
ATLAS_KNOWN_MODELS = {
    "digit_classifier": "numpy_mlp",
    "visual_detector": "yolo",
    "audio_classifier": "audio_mlp",
    "threat_classifier": "threat_rules",
}

# --- The threat-intelligence service's environment (docs/COMPATIBILITY.md, "Atlas Intelligence") -------

# Largest upload POST /api/v1/analyze/media accepts.
MAX_MEDIA_SIZE_MB = int(os.environ.get("MAX_MEDIA_SIZE_MB", "50"))

# Rate limits per endpoint and client IP, as the old service had them at its default
# RATE_LIMIT_PER_MINUTE=100; another value scales them all (200 doubles them), 0 turns them off.
RATE_LIMIT_PER_MINUTE = int(os.environ.get("RATE_LIMIT_PER_MINUTE", "100"))
_BASE_RATES_PER_MINUTE = {
    "classify": 30,
    "analyze": 20,
    "sait": 100,
    "feedback": 100,
    # Atlas's own: the old service limited neither (its detect and audio classify ran a model unlimited)
    "detect": 30,
    "audio": 30,
    "admin_reload": 10,
    "health": 60,
    "info": 100,
    "models": 50,
}
ATLAS_THROTTLE_RATES: dict[str, str | None] = {
    scope: (f"{max(1, round(n * RATE_LIMIT_PER_MINUTE / 100))}/min" if RATE_LIMIT_PER_MINUTE > 0 else None)
    for scope, n in _BASE_RATES_PER_MINUTE.items()
}
# One scope's own rate, over the scaled one: "detect=10/min,audio=120/hour" (DRF's rate syntax; "off": none).
for _item in _env_list("ATLAS_THROTTLE_RATES"):
    _scope, _, _rate = (part.strip() for part in _item.partition("="))
    if _scope not in ATLAS_THROTTLE_RATES or not re.fullmatch(r"off|\d+/[smhd][a-z]*", _rate):
        raise ImproperlyConfigured(
            f"ATLAS_THROTTLE_RATES: {_item!r} is not scope=N/period (or scope=off) of the scopes "
            f"{', '.join(sorted(ATLAS_THROTTLE_RATES))}."
        )
    ATLAS_THROTTLE_RATES[_scope] = None if _rate == "off" else _rate

# Back-pressure (atlas/admission.py): at most this many slow predictions (detection, audio) run at once in
# each worker process; a request that finds no slot free within ATLAS_SLOW_WAIT_SECONDS gets a 503 with
# Retry-After at once, before its model runs, instead of queueing.
_CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
ATLAS_SLOW_CONCURRENCY = int(os.environ.get("ATLAS_SLOW_CONCURRENCY") or _CPUS)
ATLAS_SLOW_WAIT_SECONDS = 1.0

# Dynamic batching of detections (inference/batching.py; not environment variables: measured defaults, see
# docs/PERFORMANCE.md "Detections (issue 28)"): detections of one version waiting at once run as one forward
# pass of at most ATLAS_DETECT_MAX_BATCH images (1: no batching); the batch's first request waits at most
# ATLAS_DETECT_BATCH_WINDOW_MS for more (0: only those already waiting while the model was busy).
# A worker holds at most ATLAS_SLOW_CONCURRENCY detections, so that also bounds a batch.
ATLAS_DETECT_MAX_BATCH = 4
ATLAS_DETECT_BATCH_WINDOW_MS = 0.0

# The counters live in Django's cache, shared by every worker and replica: Redis when REDIS_URL is set, else
# the database (Django's database cache with an atomic incr, atlas/cache.py; its table `atlas_cache` is made by
# a migration). MAX_ENTRIES bounds the table (two rows per client and scope in a window); past it Django culls.
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "atlas")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if REDIS_URL
        else {
            "BACKEND": "atlas.cache.DatabaseCache",
            "LOCATION": "atlas_cache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            # Culling drops a third of all keys: sized so that clients rotating addresses do not cull
            # everyone's rate-limit counters (public deployments: Redis, docs/OPERATIONS.md).
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},
        }
    )
}

# Other names of registered models, accepted wherever the admin API takes a model name: the old service's
# S3 stems.
ATLAS_MODEL_ALIASES = {"yolov8m": "visual_detector", "sait_audio_classifier": "audio_classifier"}

# The registered model SAIT edge devices run: GET /api/v1/sait/models/latest serves its active version.
ATLAS_EDGE_MODEL = "audio_classifier"

# Feedback by request id: how many (request id -> version, answer) records of the answers feedback applies to
# are kept, newest first (inference/prediction_log.py); feedback on an older answer must name model_version.
ATLAS_PREDICTION_RECORDS = 1_000_000

# Where the runtimes run their models; every runtime loads on the CPU (admin health's `device`).
ATLAS_INFERENCE_DEVICE = "cpu"

# --- Metrics (GET /metrics, Prometheus) ---------------------------------------------------------------

# prometheus-client's multiprocess mode: every worker writes its counters to files that /metrics adds up. Set,
# the operator's folder (emptied by the operator at each start, as prometheus-client asks); unset, one folder
# per running server under METRICS_ROOT, chosen at start and swept when that server has stopped
# (atlas/startup.py, which also exports the folder to prometheus-client).
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
METRICS_ROOT = VAR_DIR / "metrics"
# Bearer token GET /metrics requires; unset: /metrics is open (keep it off the public internet then).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# The superuser `make run` creates (manage.py ensure_admin); a password is generated when unset.
ADMIN_USER = os.environ.get("ADMIN_USER", "admin")
ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD", "")
