"""One settings module; every knob comes from the environment (see .env.example).

With no environment at all the project runs on one machine: SQLite, kombu's filesystem
broker and artifacts under `var/`, DEBUG on, and the web process says so loudly at start
(core.devmode). Production (`PREFCONTENT_ENV=production`, the default of the images in deploy/)
refuses to start without a real SECRET_KEY or with DJANGO_DEBUG=true.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

VAR_DIR = Path(env.str("PREFCONTENT_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
# What `make run` chose for this checkout (the base model's path), so that a command in a second
# terminal uses the same base as the running stack; the environment wins over it.
environ.Env.read_env(VAR_DIR / "local.env", overwrite=False) if (VAR_DIR / "local.env").exists() else None

PREFCONTENT_ENV = env.str("PREFCONTENT_ENV", default="development")
PRODUCTION = PREFCONTENT_ENV == "production"
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    # Debug pages carry tracebacks, settings and SQL: they never reach a client of a deployment.
    raise ImproperlyConfigured("DJANGO_DEBUG=true is refused with PREFCONTENT_ENV=production.")

_DEV_SECRET = "dev-insecure-secret-key-change-me"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET)
if PRODUCTION and (SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("Production needs SECRET_KEY set to a random string of 50+ characters.")
# The key of visitor (unit) hashes, apart from SECRET_KEY so that rotating SECRET_KEY keeps every visitor's
# arm. Upgrading a deployment whose hashes were keyed on SECRET_KEY: set UNIT_HASH_KEY to the current
# SECRET_KEY value once (the hashes stay the same), then rotate SECRET_KEY freely.
UNIT_HASH_KEY = env.str("UNIT_HASH_KEY", default="" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and len(UNIT_HASH_KEY) < 32:
    raise ImproperlyConfigured("Production needs UNIT_HASH_KEY (32+ characters): the key of visitor hashes. "
                               "Upgrading? Set it to your current SECRET_KEY so visitors keep their arms.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"] if not PRODUCTION else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "prefcontent.core",
    "prefcontent.tenancy",
    "prefcontent.accounts",
    "prefcontent.brands",
    "prefcontent.content",
    "prefcontent.experiments",
    "prefcontent.preferences",
    "prefcontent.training",
    "prefcontent.adapters",
    "prefcontent.generation",
    "prefcontent.dashboard",
    "simulation",  # the closed-loop simulation: not product code, drives the product through its services
]

MIDDLEWARE = [
    "prefcontent.core.metrics_middleware.PrometheusMiddleware",
    "prefcontent.core.middleware.RequestIdMiddleware",
    "prefcontent.core.middleware.RequestBodyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "prefcontent.urls"
WSGI_APPLICATION = "prefcontent.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "prefcontent" / "templates"],
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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file (not :memory:) so that a Celery worker subprocess in the tests sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test_db.sqlite3")}
    # WAL and a busy timeout let the web process and the worker share the file.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            # Take the write lock when a transaction starts, so two processes never deadlock upgrading.
            "transaction_mode": "IMMEDIATE",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "prefcontent.core.pg"  # Django's, health checks on idle connections only
# Seconds a persistent connection that last worked is trusted without a ping (prefcontent.core.pg).
DB_HEALTH_CHECK_IDLE_S = env.float("DB_HEALTH_CHECK_IDLE_S", default=1.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# WhiteNoise serves static files (admin, API docs UI, dashboard) in production without a CDN.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage" if PRODUCTION
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = not PRODUCTION
LOGIN_URL = "/dashboard/login/"
LOGIN_REDIRECT_URL = "/dashboard/"

# Request bodies: the events endpoint takes up to 1,000 events; anything larger is a 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=2 * 1024 * 1024)
MAX_REQUEST_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE
MAX_IMPORT_BYTES = env.int("MAX_IMPORT_BYTES", default=50 * 1024 * 1024)
EVENTS_MAX_BYTES = env.int("EVENTS_MAX_BYTES", default=1024 * 1024)
EVENTS_MAX_CLOCK_SKEW_S = env.int("EVENTS_MAX_CLOCK_SKEW_S", default=300)
HISTORY_IMPORT_DRAWS = env.int("HISTORY_IMPORT_DRAWS", default=10_000)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "prefcontent.tenancy.authentication.ApiKeyAuthentication",
        "prefcontent.tenancy.authentication.UserTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["prefcontent.tenancy.permissions.IsAuthenticatedPrincipal"],
    "DEFAULT_PAGINATION_CLASS": "prefcontent.core.pagination.BoundedPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "prefcontent.core.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["prefcontent.tenancy.throttling.PrincipalRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("THROTTLE_USER_RATE", default="6000/min"),
        "api_key": env.str("THROTTLE_API_KEY_RATE", default="60000/min"),
        "anon": env.str("THROTTLE_ANON_RATE", default="600/min"),
    },
    # Proxies in front of web that append to X-Forwarded-For (the ingress or reverse proxy: 1). 0 trusts no
    # header, so a client cannot pick its own address, and with it a fresh anonymous rate-limit bucket.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # One defensive JSON parser (depth, non-finite numbers, NUL, lone surrogates: prefcontent.core.safe_json).
    "DEFAULT_PARSER_CLASSES": [
        "prefcontent.core.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")
MAX_PAGE_SIZE = 200

SPECTACULAR_SETTINGS = {
    "TITLE": "PrefContent API",
    "DESCRIPTION": "A/B test results in, better brand copy out. Errors share one shape: "
    '{"error": {"code", "message", "details"}}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"RoleEnum": "prefcontent.tenancy.roles.ROLE_CHOICES",
                            "GoalMetricEnum": "prefcontent.content.models.GOAL_METRIC_CHOICES",
                            "LiftAlertKindEnum": "prefcontent.experiments.lift_stats.ALERT_KINDS"},
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
    },
}

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://prefcontent")
}
if "redis" in CACHES["default"]["BACKEND"].lower():
    # Short socket timeouts: the rate limiter fails open when Redis is down, and must learn it fast.
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_connect_timeout": 0.5, "socket_timeout": 0.5})
if PRODUCTION and CACHES["default"]["BACKEND"].endswith("LocMemCache"):
    # Rate limits and login lockouts live in the cache: a per-process one multiplies every limit by the
    # number of web processes.
    raise ImproperlyConfigured("Production needs CACHE_URL set to a shared cache (e.g. redis://redis:6379/1).")
AUTHENTICATION_BACKENDS = ["prefcontent.accounts.lockout.LockoutModelBackend"]
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)  # wrong passwords in a row before a lock
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=60)  # first lock; doubles per further failure
LOGIN_LOCKOUT_MAX_SECONDS = env.int("LOGIN_LOCKOUT_MAX_SECONDS", default=3600)

# Promotion-gate thresholds, {GateThresholds field: value} as JSON (prefcontent.adapters.gate); {}: the defaults.
ADAPTER_GATE = env.json("ADAPTER_GATE", default={})

# Hard time limits of one training run's and one generation job's execution (their tasks read them).
TRAINING_TASK_TIME_LIMIT = env.int("TRAINING_TASK_TIME_LIMIT", default=6 * 3600)
GENERATE_TASK_TIME_LIMIT = env.int("GENERATE_TASK_TIME_LIMIT", default=300)
# A generate worker's adapter LRU: most brand adapters loaded at once, and most of their weight bytes.
GENERATE_ADAPTER_CACHE_SIZE = env.int("GENERATE_ADAPTER_CACHE_SIZE", default=16)
GENERATE_ADAPTER_CACHE_BYTES = env.int("GENERATE_ADAPTER_CACHE_BYTES", default=1 << 30)

# Celery. Embedded default: kombu's filesystem transport under var/, no server needed.
_BROKER_DIR = Path(env.str("CELERY_BROKER_DIR", default=str(VAR_DIR / "broker")))
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("in", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    # kombu's filesystem transport with atomic writes (prefcontent.core.broker): no empty-file race.
    CELERY_BROKER_TRANSPORT = "prefcontent.core.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "in"),
        "data_folder_out": str(_BROKER_DIR / "in"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(_BROKER_DIR / "control"),
    }
else:
    # Tasks are acknowledged late: Redis hands a task still unacknowledged after visibility_timeout to a
    # second worker, so it must outlast the longest task (a training run), or a long run is delivered twice.
    _LONGEST_TASK_S = max(TRAINING_TASK_TIME_LIMIT, GENERATE_TASK_TIME_LIMIT)
    CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", default=_LONGEST_TASK_S + 1800)
    if CELERY_VISIBILITY_TIMEOUT <= _LONGEST_TASK_S:
        raise ImproperlyConfigured(
            f"CELERY_VISIBILITY_TIMEOUT ({CELERY_VISIBILITY_TIMEOUT} s) must exceed the longest task time limit "
            f"({_LONGEST_TASK_S} s: TRAINING_TASK_TIME_LIMIT, GENERATE_TASK_TIME_LIMIT), or Redis delivers a "
            "running task to a second worker.")
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=540)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# Artifacts and models.
MODELS_STORE_URL = env.str("MODELS_STORE_URL", default=str(VAR_DIR / "models_store"))
PREFCONTENT_BASE_MODEL = env.str("PREFCONTENT_BASE_MODEL", default="")
DEV_MODEL_DIR = Path(env.str("PREFCONTENT_DEV_MODEL_DIR", default=str(VAR_DIR / "dev_model")))
WORK_DIR = Path(env.str("PREFCONTENT_WORK_DIR", default=str(VAR_DIR / "work")))
# Where the base-model preparation records its state for GET /api/v1/status (share it with the web tier).
BASE_MODEL_STATUS_DIR = Path(env.str("PREFCONTENT_BASE_MODEL_STATUS_DIR", default=str(VAR_DIR / "base_model_status")))

# Security headers; production turns them all on.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REFERRER_POLICY = "same-origin"

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# /metrics needs `Authorization: Bearer <METRICS_TOKEN>` when set; open when empty.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "prefcontent.core.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Tenancy and auth.
API_KEY_PREFIX = "pck"
USER_TOKEN_PREFIX = "pcu"
USER_TOKEN_TTL = timedelta(days=env.int("USER_TOKEN_TTL_DAYS", default=30))
# Seconds an API key and a running experiment's arms stay cached per web process (core.hot_cache): a
# revocation or a pause reaches every process within this long. 0 reads the database on every request.
HOT_CACHE_SECONDS = env.float("HOT_CACHE_SECONDS", default=2.0)
# A new reader's assignment commits without waiting for its WAL flush (PostgreSQL synchronous_commit off for
# that one transaction): the flush is most of a page view's wait when the disk is busy. A database crash can
# forget the last fraction of a second of assignments, never an event; the unit is then assigned again.
ASSIGNMENT_ASYNC_COMMIT = env.bool("ASSIGNMENT_ASYNC_COMMIT", default=True)
