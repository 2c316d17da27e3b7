"""Attest settings: one module, every value from the environment.

``ATTEST_ENV=production`` makes the secret key, hosts, database and broker mandatory and turns on the
HTTPS hardening that ``manage.py check --deploy`` looks for. Development (the default) fills the gaps
with local, zero-setup values: the embedded PostgreSQL under ``var/pg`` and kombu's filesystem broker.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from config import outbound
from config.env import env_bool, env_int, env_list, env_path, env_str, parse_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("ATTEST_VAR_DIR", BASE_DIR / "var")

ATTEST_ENV = env_str("ATTEST_ENV", "development")
if ATTEST_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"ATTEST_ENV={ATTEST_ENV!r} must be 'development' or 'production'.")
PRODUCTION = ATTEST_ENV == "production"

# Demo mode (set by `make run`) is the only mode in which demo users and data may be created.
ATTEST_DEMO = env_bool("ATTEST_DEMO", False)
if PRODUCTION and ATTEST_DEMO:
    raise ImproperlyConfigured("ATTEST_DEMO=1 is refused when ATTEST_ENV=production.")
ATTEST_DEMO_PASSWORD = env_str("ATTEST_DEMO_PASSWORD", "attest-demo")


def _development_secret_key() -> str:
    """A random key kept under var/ so development sessions survive restarts; never used in production."""
    path = VAR_DIR / "secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


if PRODUCTION:
    SECRET_KEY = env_str("SECRET_KEY")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters long in production.")
else:
    SECRET_KEY = env_str("SECRET_KEY", "") or _development_secret_key()

# Django's debug pages are a developer's choice, never a mode's: development and the demo (`make run`)
# show the app's own 404/403/500 pages. ATTEST_DEBUG=1 (or the older DEBUG=1) turns them on.
DEBUG = env_bool("ATTEST_DEBUG", env_bool("DEBUG", False))
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("ATTEST_DEBUG=1 (or DEBUG=1) is refused when ATTEST_ENV=production.")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required in production (comma-separated host names).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "pgtrigger",
    "django_celery_beat",
    "django_htmx",
    "jobs",
    "audit",
    "accounts",  # label "governance": see accounts/apps.py
    "registry",
    "monitoring",
    "workflow",  # the governance workflow; its models moved from "governance" (accounts) keeping their tables
    "reports",
    "integrations",  # MLflow tracking servers: import, webhooks and polls, write-back
    "workers",
    "web",  # the pages that compose several apps; no models
]

MIDDLEWARE = [
    "config.metrics.MetricsMiddleware",  # first: counts and times every request (/metrics)
    "accounts.context.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security_headers.SecurityHeadersMiddleware",  # CSP with a per-request nonce, Permissions-Policy
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.context.SessionActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context.ui_context",
                "web.navigation.navigation",
            ],
        },
    }
]

# --- database: PostgreSQL only -------------------------------------------------------------------
_default_database_url = f"postgres://postgres@/attest?host={VAR_DIR / 'pg'}"
DATABASE_URL = env_str("DATABASE_URL") if PRODUCTION else env_str("DATABASE_URL", _default_database_url)
DATABASES = {"default": parse_database_url("DATABASE_URL", DATABASE_URL)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60 if PRODUCTION else 0, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME", "") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts ------------------------------------------------------------------------------------
AUTH_USER_MODEL = "governance.User"
AUTHENTICATION_BACKENDS = [
    "accounts.backends.LocalPasswordBackend",
    "accounts.backends.FederatedBackend",  # sessions begun at an identity provider (accounts.sso)
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"
ANONYMOUS_USER_NAME = None  # guardian: anonymous users get no object permissions at all
GUARDIAN_RAISE_403 = False

# --- internationalisation: every stored and served time is UTC --------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static and uploaded files -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env_path("ATTEST_STATIC_ROOT", VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
# development (debug pages on or off) serves straight from the source folders, no collectstatic
WHITENOISE_USE_FINDERS = not PRODUCTION
MEDIA_ROOT = env_path("ATTEST_MEDIA_ROOT", VAR_DIR / "media")
ATTEST_STORAGE = env_str("ATTEST_STORAGE", "filesystem")
if ATTEST_STORAGE == "filesystem":
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    }
elif ATTEST_STORAGE == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("ATTEST_S3_BUCKET"),
            "region_name": env_str("ATTEST_S3_REGION", "") or None,
            "endpoint_url": env_str("ATTEST_S3_ENDPOINT_URL", "") or None,
            "default_acl": None,
            "file_overwrite": False,
        },
    }
else:
    raise ImproperlyConfigured(f"ATTEST_STORAGE={ATTEST_STORAGE!r} must be 'filesystem' or 's3'.")
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Request bodies held in memory (JSON, form fields); uploads stream to disk past this size.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("ATTEST_MAX_JSON_BYTES", 2 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# JSON bodies and JSON typed into forms: deeper nesting or longer strings are a 400 (config.strict_json)
ATTEST_MAX_JSON_DEPTH = env_int("ATTEST_MAX_JSON_DEPTH", 32, minimum=2)
ATTEST_MAX_JSON_STRING_CHARS = env_int("ATTEST_MAX_JSON_STRING_CHARS", 256 * 1024, minimum=1024)
# Zip archives (skops artifacts) are inspected before anything in them is read: more members, more bytes
# once inflated, or a higher inflation ratio than these is a 400 (registry.archives)
ATTEST_ARCHIVE_MAX_MEMBERS = env_int("ATTEST_ARCHIVE_MAX_MEMBERS", 10_000, minimum=1)
ATTEST_ARCHIVE_MAX_BYTES = env_int("ATTEST_ARCHIVE_MAX_BYTES", 2 * 1024**3, minimum=1024)
ATTEST_ARCHIVE_MAX_RATIO = env_int("ATTEST_ARCHIVE_MAX_RATIO", 200, minimum=1)
FILE_UPLOAD_TEMP_DIR = None
ATTEST_MAX_ARTIFACT_BYTES = env_int("ATTEST_MAX_ARTIFACT_BYTES", 5 * 1024**3, minimum=1)
ATTEST_MAX_DATASET_BYTES = env_int("ATTEST_MAX_DATASET_BYTES", 2 * 1024**3, minimum=1)
# Evidence bundles copy the signed manifest's documents and the version's datasets up to this size each;
# a larger file is described (digest, size, where to fetch it) instead of copied. 0 copies none.
ATTEST_BUNDLE_FILE_MAX_BYTES = env_int("ATTEST_BUNDLE_FILE_MAX_BYTES", 50 * 1024**2, minimum=0)

# --- audit trail ---------------------------------------------------------------------------------
ATTEST_AUDIT_SIGNING_KEY = env_path("ATTEST_AUDIT_SIGNING_KEY", VAR_DIR / "keys" / "audit-ed25519.pem")
ATTEST_AUDIT_EXPORT_DIR = env_path("ATTEST_AUDIT_EXPORT_DIR", VAR_DIR / "audit-checkpoints")

# --- security ------------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("ATTEST_SESSION_SECONDS", 8 * 3600, minimum=60)
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-less meta tag; keep the default
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz(/workers)?$"]

# --- outbound HTTP (webhooks, GRC connectors: config.outbound, docs/OPERATIONS.md) ------------------
# Targets that resolve to loopback, private, link-local or other non-public addresses are refused unless
# listed here: host names, *.domains, addresses or CIDR networks, comma-separated (on-premises GRC).
ATTEST_OUTBOUND_ALLOW_HOSTS = env_list("ATTEST_OUTBOUND_ALLOW_HOSTS", [])
try:
    outbound.AllowList.parse(ATTEST_OUTBOUND_ALLOW_HOSTS)
except ValueError as exc:
    raise ImproperlyConfigured(f"ATTEST_OUTBOUND_ALLOW_HOSTS: {exc}") from None

# --- sign-in throttling and lockout (accounts.services.lockout, docs/OPERATIONS.md) ---------------
# How many reverse proxies of ours stand in front and append to X-Forwarded-For; 0 (the default) never
# reads the header, which a client can write, and takes the client from REMOTE_ADDR.
ATTEST_TRUSTED_PROXY_COUNT = env_int("ATTEST_TRUSTED_PROXY_COUNT", 0, minimum=0)
# Wrong passwords (sign-in, signatures, authenticator removal) within the window lock the account, or
# every account from one client address, for ATTEST_LOCKOUT_SECONDS, doubled at each further lockout
# up to ATTEST_LOCKOUT_MAX_SECONDS.
ATTEST_LOCKOUT_ACCOUNT_FAILURES = env_int("ATTEST_LOCKOUT_ACCOUNT_FAILURES", 5, minimum=1)
ATTEST_LOCKOUT_CLIENT_FAILURES = env_int("ATTEST_LOCKOUT_CLIENT_FAILURES", 20, minimum=1)
ATTEST_LOCKOUT_WINDOW_SECONDS = env_int("ATTEST_LOCKOUT_WINDOW_SECONDS", 15 * 60, minimum=1)
ATTEST_LOCKOUT_SECONDS = env_int("ATTEST_LOCKOUT_SECONDS", 60, minimum=1)
ATTEST_LOCKOUT_MAX_SECONDS = env_int("ATTEST_LOCKOUT_MAX_SECONDS", 3600, minimum=1)

# --- single sign-on (accounts.services.federation, docs/SSO.md) -----------------------------------------
# "on": everyone with a password may sign in with it; "break-glass": only the accounts named in
# ATTEST_BREAK_GLASS_USERS may (an administrator who can get in when the IdP is down), everyone else
# signs in through an identity provider.
ATTEST_LOCAL_PASSWORDS = env_str("ATTEST_LOCAL_PASSWORDS", "on")
if ATTEST_LOCAL_PASSWORDS not in ("on", "break-glass"):
    raise ImproperlyConfigured('ATTEST_LOCAL_PASSWORDS must be "on" or "break-glass"')
ATTEST_BREAK_GLASS_USERS = env_list("ATTEST_BREAK_GLASS_USERS", [])
# How far the IdP's clock may be from ours when its times (iat, auth_time, NotOnOrAfter) are checked.
ATTEST_SSO_CLOCK_SKEW_SECONDS = env_int("ATTEST_SSO_CLOCK_SKEW_SECONDS", 60, minimum=0, maximum=600)
# SAML: the service provider's signing key and certificate (RSA, self-signed), written at first use when
# absent; the certificate is in the SP metadata the IdP imports (accounts.sso.saml).
ATTEST_SAML_SP_KEY = env_path("ATTEST_SAML_SP_KEY", VAR_DIR / "keys" / "saml-sp.key")
ATTEST_SAML_SP_CERT = env_path("ATTEST_SAML_SP_CERT", VAR_DIR / "keys" / "saml-sp.crt")

# --- REST API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "accounts.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "config.api.parsers.StrictJSONParser",
        "config.api.parsers.StrictMultiPartParser",
        "config.api.parsers.StrictFormParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": env_str("ATTEST_THROTTLE_ANON", "60/min")},
    # the anonymous rate is keyed on the same client address as the lockout (never a spoofed header)
    "NUM_PROXIES": ATTEST_TRUSTED_PROXY_COUNT,
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
ATTEST_API_MAX_PAGE_SIZE = env_int("ATTEST_API_MAX_PAGE_SIZE", 500, minimum=1)
# What every API list and detail is narrowed to (config.api.viewsets.ScopedViewSet): the access app's
# scope(user, queryset). Named here, never imported by config, which sits below every app; not read from
# the environment, since a wrong value would open every object to everyone.
ATTEST_API_SCOPE = "accounts.access.scope"

KNOX_TOKEN_MODEL = "governance.ApiToken"  # noqa: S105 (a model name)
REST_KNOX = {
    "AUTH_HEADER_PREFIX": "Bearer",
    "TOKEN_PREFIX": "attest_",
    "TOKEN_TTL": timedelta(days=env_int("ATTEST_TOKEN_TTL_DAYS", 90, minimum=1)),
    "TOKEN_LIMIT_PER_USER": env_int("ATTEST_TOKEN_LIMIT_PER_USER", 50, minimum=1),
    "AUTO_REFRESH": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Attest API",
    "DESCRIPTION": (
        "Model-risk governance: inventory, validation evidence, approvals with electronic signatures, "
        "a deployment gate and a tamper-evident audit trail. Authenticate with `Authorization: Bearer <token>` "
        "(POST /api/v1/auth/token/) or a browser session."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # fields named "kind" with different choices: each its own named enum in the schema
    "ENUM_NAME_OVERRIDES": {
        "ModelKindEnum": "registry.models.inventory.ModelKind",
        "BundleToolKindEnum": "registry.bundles.TOOL_KINDS",
        "RunnableCheckKindEnum": "monitoring.models.runs.RUNNABLE_KINDS",
    },
}

# --- background work -----------------------------------------------------------------------------
if PRODUCTION:
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL")
else:
    CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "") or "filesystem://"
ATTEST_BROKER_DIR = env_path("ATTEST_BROKER_DIR", VAR_DIR / "broker")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(ATTEST_BROKER_DIR / "queue"),
        "data_folder_out": str(ATTEST_BROKER_DIR / "queue"),
        "processed_folder": str(ATTEST_BROKER_DIR / "processed"),
        # exchange bindings (kombu writes <exchange>.exchange files; its default is ./control in the cwd)
        "control_folder": str(ATTEST_BROKER_DIR / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=60)}
)
CELERY_BROKER_CONNECTION_TIMEOUT = 5
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "monitoring.tasks.score_*": {"queue": "sandbox"},
    "monitoring.tasks.explain_*": {"queue": "sandbox"},
    "monitoring.tasks.*": {"queue": "checks"},
    "reports.tasks.*": {"queue": "reports"},
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# prefork, with pipe locks the kernel frees when a pool child is killed (workers.pool says why it matters)
CELERY_WORKER_POOL = "workers.pool:TaskPool"
# each worker also consumes its own queue (<hostname>.dq2), where it sends itself the liveness probe
CELERY_WORKER_DIRECT = True
# a pool child whose resident memory passed this (KiB) after a task is replaced (leaks, fragmentation)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 2_000_000, minimum=1)
# workers.limits: address-space cap (MiB, 0 = none) of each pool child of a worker on these queues
ATTEST_WORKER_MEMORY_MB = env_int("ATTEST_WORKER_MEMORY_MB", 8192, minimum=0)
ATTEST_WORKER_MEMORY_QUEUES = env_list("ATTEST_WORKER_MEMORY_QUEUES", ["checks", "reports"])
# workers.liveness: heartbeat and probe period; a queue none of whose workers executed anything (or was
# busy) for STALE seconds is stuck in /healthz; the queues that must have a worker
ATTEST_WORKER_HEARTBEAT_SECONDS = env_int("ATTEST_WORKER_HEARTBEAT_SECONDS", 15, minimum=1)
ATTEST_WORKER_STALE_SECONDS = env_int("ATTEST_WORKER_STALE_SECONDS", 90, minimum=2)
ATTEST_WORKER_QUEUES = env_list("ATTEST_WORKER_QUEUES", ["default", "checks", "reports", "sandbox"])
# /healthz's per-queue liveness (config.views), named so that config imports no app
ATTEST_QUEUE_HEALTH = "workers.liveness.queue_health"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 1800, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1900, minimum=1)
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- background jobs (jobs.kinds: a kind's declaration may override these) and check runs ------------
DAY_SECONDS = 24 * 3600
# a claimed job's lease; its worker renews it every third of this while it works
ATTEST_JOB_LEASE_SECONDS = env_int("ATTEST_JOB_LEASE_SECONDS", 120, minimum=2, maximum=DAY_SECONDS)
# claims (attempts) per job before it is failed for good
ATTEST_JOB_MAX_ATTEMPTS = env_int("ATTEST_JOB_MAX_ATTEMPTS", 3, minimum=1, maximum=100)
# the first retry waits this long, each next one twice as long, up to the maximum
ATTEST_JOB_BACKOFF_SECONDS = env_int("ATTEST_JOB_BACKOFF_SECONDS", 30, minimum=1, maximum=DAY_SECONDS)
ATTEST_JOB_BACKOFF_MAX_SECONDS = env_int(
    "ATTEST_JOB_BACKOFF_MAX_SECONDS", 3600, minimum=1, maximum=DAY_SECONDS
)
# a job waiting (queued, or due for a retry) this long without a claim has its task sent again
ATTEST_JOB_RESEND_SECONDS = env_int("ATTEST_JOB_RESEND_SECONDS", 600, minimum=1, maximum=DAY_SECONDS)
# how often beat runs the reaper
ATTEST_JOB_REAP_EVERY_SECONDS = env_int("ATTEST_JOB_REAP_EVERY_SECONDS", 60, minimum=1, maximum=DAY_SECONDS)
# a running check's lease; the worker renews it every third of this while it works
ATTEST_CHECK_LEASE_SECONDS = env_int("ATTEST_CHECK_LEASE_SECONDS", 120, minimum=2, maximum=DAY_SECONDS)
# a check waiting (never claimed) this long has its task sent again: a broker may have lost it
ATTEST_CHECK_RESEND_SECONDS = env_int("ATTEST_CHECK_RESEND_SECONDS", 1800, minimum=1, maximum=DAY_SECONDS)
# claims per check before it is failed for good (worker crashes, time-outs)
ATTEST_CHECK_MAX_ATTEMPTS = env_int("ATTEST_CHECK_MAX_ATTEMPTS", 3, minimum=1, maximum=100)
# test hooks: seconds a claimed job or check sleeps (its lease renewed) before working; 0 in production
ATTEST_TEST_JOB_DELAY = env_int("ATTEST_TEST_JOB_DELAY", 0, minimum=0, maximum=3600)
ATTEST_TEST_CHECK_DELAY = env_int("ATTEST_TEST_CHECK_DELAY", 0, minimum=0, maximum=3600)
# sandboxed model execution (scoring, SHAP): the child's address-space cap (MB), wall-clock limit
# (seconds, further capped by the task's soft time limit) and largest file it may write (MB)
ATTEST_SANDBOX_MEMORY_MB = env_int("ATTEST_SANDBOX_MEMORY_MB", 4096, minimum=256)
ATTEST_SANDBOX_SECONDS = env_int("ATTEST_SANDBOX_SECONDS", 900, minimum=1, maximum=DAY_SECONDS)
ATTEST_SANDBOX_FILE_MB = env_int("ATTEST_SANDBOX_FILE_MB", 1024, minimum=1)
# Celery task name told about each new monitoring alert; empty turns the notification off
ATTEST_ALERT_TASK = env_str("ATTEST_ALERT_TASK", "governance.tasks.process_monitoring_alert")
# OTLP intake of LLM applications' telemetry (/otlp/v1/logs, /otlp/v1/metrics; docs/OTLP.md): the default
# bucket width, and whether prompt and output text may be stored (default off: only SHA-256 and length)
ATTEST_TELEMETRY_BUCKET_SECONDS = env_int(
    "ATTEST_TELEMETRY_BUCKET_SECONDS", 60, minimum=60, maximum=DAY_SECONDS
)
ATTEST_OTLP_STORE_CONTENT = env_bool("ATTEST_OTLP_STORE_CONTENT", False)
# dotted paths of threshold providers (monitoring.thresholds), besides defaults and the request
ATTEST_THRESHOLD_PROVIDERS = env_list("ATTEST_THRESHOLD_PROVIDERS", ["workflow.thresholds.policy_thresholds"])
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic jobs; the database scheduler copies these into django-celery-beat's tables at start,
# where administrators can pause or retime them. One entry per feature, added by that feature.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # every kind of background job (jobs.reaper): requeue or fail the ones whose worker stopped renewing
    # its lease, send again the ones whose message was lost; also run by each worker when it starts
    "jobs-reap": {
        "task": "jobs.tasks.reap_jobs",
        "schedule": float(ATTEST_JOB_REAP_EVERY_SECONDS),
    },
    # sign the audit chain head and export the checkpoint (audit.checkpoints)
    "audit-checkpoint-hourly": {"task": "governance.tasks.audit_checkpoint", "schedule": 3600.0},
    # findings for failed checks and monitoring alerts that have none yet (workflow.services.findings)
    "governance-sweep-check-outcomes": {"task": "governance.tasks.sweep_check_outcomes", "schedule": 60.0},
    # GRC deliveries owed for completed approvals (reports.services.deliveries); lost ones: jobs-reap
    "reports-deliver-pending": {"task": "reports.tasks.deliver_pending", "schedule": 60.0},
    # announce overdue periodic reviews once a day, 06:00 UTC (workflow.services.reviews)
    "governance-overdue-reviews": {
        "task": "governance.tasks.mark_overdue_reviews",
        "schedule": crontab(minute=0, hour=6),
    },
    # notify the signers of approval stages due within a day or overdue, and owners of findings due soon
    # (workflow.services.approval_logistics; idempotent: once per stage per day)
    "governance-reminders": {"task": "governance.tasks.send_reminders", "schedule": 3600.0},
    # e-mail each person their digest of unread notifications, at most once a day (workflow.services.inbox)
    "governance-notification-digests": {
        "task": "governance.tasks.send_notification_digests",
        "schedule": crontab(minute=0, hour=7),
    },
    # forget day-old wrong-password counts with no lock in force (accounts.services.lockout)
    "governance-purge-sign-in-counts": {"task": "governance.tasks.purge_sign_in_counts", "schedule": 3600.0},
    # queue an incremental poll of each connected MLflow registry whose interval passed (integrations)
    "integrations-mlflow-poll": {"task": "integrations.tasks.mlflow_poll", "schedule": 60.0},
    # forward new audit events to each enabled SIEM destination (integrations.services.siem); a run that
    # finds the destination locked by another leaves it alone, so overlapping runs never send twice
    "integrations-siem-forward": {
        "task": "integrations.tasks.siem_forward",
        "schedule": 5.0,
        "options": {"expires": 5.0},
    },
}
CELERY_TIMEZONE = "UTC"

# --- operations: /metrics and tracing (config.metrics, config.tracing, docs/OPERATIONS.md) --------------
# the bearer token Prometheus presents; unset, /metrics answers 404
ATTEST_METRICS_TOKEN = env_str("ATTEST_METRICS_TOKEN", "")
if ATTEST_METRICS_TOKEN and len(ATTEST_METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("ATTEST_METRICS_TOKEN must be at least 16 characters long (or unset).")
# collectors read at each scrape (named, since config imports no app): jobs, queues, workers, audit chain
ATTEST_METRICS_COLLECTORS = ["workers.metrics.OperationsCollector"]
# OpenTelemetry traces (pip install ".[otel]"), exported over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT
ATTEST_OTEL_TRACES = env_bool("ATTEST_OTEL_TRACES", False)

# --- email ---------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "attest@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- logging: one JSON object a line, with the request id ------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "accounts.context.RequestContextLogFilter"}},
    "formatters": {"json": {"()": "config.logging.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_context"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery": {"level": LOG_LEVEL},
    },
}
