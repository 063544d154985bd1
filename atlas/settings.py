"""Atlas settings. Every environment variable the service reads is read here, and only here.

The names follow the two services Atlas replaces so their deployments can switch over unchanged:
DATABASE_URL, MODEL_STORAGE_TYPE, S3_*, ADMIN_TOKEN, HF_*, HUGGINGFACE_TOKEN, DEFAULT_MODEL,
ALLOWED_ORIGINS, ATLAS_ENV, LOG_LEVEL. docs/OPERATIONS.md lists them all with their defaults.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


# Production unless told otherwise: DEBUG, the development SECRET_KEY, open CORS and an open admin API
# (when ADMIN_TOKEN is unset) exist only with ATLAS_ENV=development or DEBUG=1. `make run` and
# manage.py (a developer's tool) default to development; gunicorn (wsgi.py) does not.
ATLAS_ENV = os.environ.get("ATLAS_ENV", "production").strip().lower()
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

VAR_DIR = _env_path("ATLAS_VAR_DIR", BASE_DIR / "var")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "models_registry",
    "inference",
    "vocabulary",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
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

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'atlas.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if not os.environ.get("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default keeps its SQLite file here
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers share one SQLite file: wait for the write lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["CONN_MAX_AGE"] = 0

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

# Uploads of model files go to disk, not memory, past 2.5 MB (Django's default).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("ATLAS_MAX_REQUEST_MB", "25")) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

CORS_ALLOWED_ORIGINS = _env_list("ALLOWED_ORIGINS")
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
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "EXCEPTION_HANDLER": "atlas.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Atlas",
    "DESCRIPTION": "Model versions managed in the Django admin, served hot.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from local static files (drf-spectacular-sidecar): /docs works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "inference.schema_examples.mnist_digit_example",
    ],
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "atlas": {"level": LOG_LEVEL},
        "models_registry": {"level": LOG_LEVEL},
        "inference": {"level": LOG_LEVEL},
        "vocabulary": {"level": LOG_LEVEL},
    },
}

# --- Atlas: the registry, its storage and the artifact cache ---------------------------------------

# Where new uploads go by default: local | s3 | hf. Versions remember their own backend.
MODEL_STORAGE_TYPE = os.environ.get("MODEL_STORAGE_TYPE", "local").strip().lower()
MODEL_STORE_DIR = _env_path("MODEL_STORE_DIR", VAR_DIR / "store")
MODEL_CACHE_DIR = _env_path("MODEL_CACHE_DIR", VAR_DIR / "cache")
MODEL_CACHE_MAX_MB = int(os.environ.get("MODEL_CACHE_MAX_MB", "4096"))

S3_BUCKET = os.environ.get("S3_BUCKET", "")
S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL") or None
S3_REGION = os.environ.get("S3_REGION", "us-east-1")
S3_ACCESS_KEY = os.environ.get("S3_ACCESS_KEY", "")
S3_SECRET_KEY = os.environ.get("S3_SECRET_KEY", "")

HF_MODEL_REPO = os.environ.get("HF_MODEL_REPO", "")
HUGGINGFACE_TOKEN = os.environ.get("HUGGINGFACE_TOKEN") or os.environ.get("HF_TOKEN") or None
HF_CACHE_DIR = _env_path("HF_CACHE_DIR", VAR_DIR / "hf-cache")
HF_ENDPOINT = os.environ.get("HF_ENDPOINT") or None

# Bearer token of the admin API kept from the threat-intelligence service. Unset: the API answers 503
# (open only in DEBUG, for local work).
ADMIN_TOKEN = os.environ.get("ADMIN_TOKEN", "")

DEFAULT_MODEL = os.environ.get("DEFAULT_MODEL", "digit_classifier")

# Which loader serves each runtime name. The registry resolves these by name (it never imports
# `inference`), the way Django resolves storage and cache backends.
ATLAS_RUNTIMES = {
    "numpy_mlp": "inference.runtimes.numpy_mlp.load",
    "yolo": "inference.runtimes.yolo.load",
    "audio_mlp": "inference.runtimes.audio_mlp.load",
    "threat_rules": "inference.runtimes.threat_rules.load",
}

# Converters `upload_model --onnx` uses: export(source_path, dest_path) -> dest_path.
ATLAS_EXPORTERS = {"onnx": "inference.runtimes.yolo.export_onnx"}

# How often each serving worker compares its loaded versions with the registry: the whole mechanism on
# SQLite, and the safety net behind LISTEN/NOTIFY on PostgreSQL.
ATLAS_RELOAD_POLL_SECONDS = float(os.environ.get("ATLAS_RELOAD_POLL_SECONDS", "0.5"))
# LISTEN/NOTIFY on PostgreSQL (off behind a transaction-pooling pgbouncer, which cannot LISTEN: the poll
# then carries every promotion).
ATLAS_LISTEN_NOTIFY = _env_bool("ATLAS_LISTEN_NOTIFY", True)
ATLAS_WORKER_HEARTBEAT_SECONDS = float(os.environ.get("ATLAS_WORKER_HEARTBEAT_SECONDS", "5"))
# A worker that has not reported for this long no longer counts in health.
ATLAS_WORKER_STALE_SECONDS = float(os.environ.get("ATLAS_WORKER_STALE_SECONDS", "30"))

# Largest model file the admin form and the registry API accept (larger ones: upload to the store,
# then `manage.py register_model`).
ATLAS_MAX_MODEL_UPLOAD_MB = int(os.environ.get("ATLAS_MAX_MODEL_UPLOAD_MB", "2048"))

# Largest body the prediction endpoints accept (images, audio).
ATLAS_MAX_UPLOAD_MB = int(os.environ.get("ATLAS_MAX_UPLOAD_MB", "20"))

# torch's intra-op threads in each worker (0: torch's default, one per physical core). ultralytics would
# otherwise set it to cores - 1 process-wide on its first prediction.
ATLAS_TORCH_THREADS = int(os.environ.get("ATLAS_TORCH_THREADS", "0"))

# Ultralytics must never reach the network here (DESIGN.md, "Offline facts").
YOLO_CONFIG_DIR = _env_path("YOLO_CONFIG_DIR", VAR_DIR / "yolo")

# The runtime a model of a known name gets when it is first registered without one.
ATLAS_KNOWN_MODELS = {
    "digit_classifier": "numpy_mlp",
    "visual_detector": "yolo",
    "audio_classifier": "audio_mlp",
    "threat_classifier": "threat_rules",
}

# The superuser `make run` creates (manage.py ensure_admin); a password is generated when unset.
ADMIN_USER = os.environ.get("ADMIN_USER", "admin")
ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD", "")
