"""Settings for the deletion portal, read from the environment (12-factor).

With nothing set, the portal runs on its *embedded default*: DEBUG on, and SQLite files under
``var/`` for the database and the Celery broker, so ``make run`` needs no servers. With
``DATABASE_URL`` and ``REDIS_URL`` it runs on PostgreSQL and Redis. With ``DEBUG`` off, missing
secrets are an error that names the variable, never a silent insecure default. Every variable is
listed in README.md.

One module: every setting in one place, each read from the environment beside its comment.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

from portal import ed25519_keys

# Lets admin and form classes be subscripted for type checking (ModelAdmin[Workspace]).
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PORTAL_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG: bool = env.bool("DEBUG", default=True)

# Used only when DEBUG is on and SECRET_KEY is unset, so a fresh clone runs.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"  # noqa: S105


def _required(name: str, dev_default: str) -> str:
    """Return env var *name*; in DEBUG fall back to *dev_default*, otherwise refuse to start."""
    value: str = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set. It is required when DEBUG is off; see README.md, 'Configuration'."
    )


def _dev_fernet_key(label: str) -> str:
    """A deterministic development key, derived from the dev secret; never used with DEBUG off."""
    digest = hashlib.sha256(f"{_DEV_SECRET_KEY}:{label}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


SECRET_KEY = _required("SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY is the development key; set a real one.")

# Fernet keys for secrets stored in the database (Extend API keys, webhook signing secrets),
# comma-separated, newest first: the first encrypts, all decrypt, so keys can be rotated with
# `manage.py rotate_encryption_keys`.
FIELD_ENCRYPTION_KEYS: list[str] = [
    k.strip()
    for k in _required("FIELD_ENCRYPTION_KEYS", _dev_fernet_key("field-encryption")).split(",")
    if k.strip()
]
# Keyed hash for pseudonymising data-subject references.
PSEUDONYMISATION_KEY = _required("PSEUDONYMISATION_KEY", _dev_fernet_key("pseudonymisation"))
# Certificates of erasure are signed with this Ed25519 private key (base64 of the raw 32 bytes,
# or PEM); its public key is published, so anyone can verify them (deletions/certificate_keys.py).
_DEV_CERTIFICATE_ED25519_KEY = _dev_fernet_key("certificate-ed25519")
CERTIFICATE_ED25519_KEY = _required("CERTIFICATE_ED25519_KEY", _DEV_CERTIFICATE_ED25519_KEY)
if not DEBUG and CERTIFICATE_ED25519_KEY == _DEV_CERTIFICATE_ED25519_KEY:
    raise ImproperlyConfigured("CERTIFICATE_ED25519_KEY is the development key; set a real one.")
try:
    ed25519_keys.load_private_key(CERTIFICATE_ED25519_KEY)
except ValueError as _exc:
    raise ImproperlyConfigured(
        f"CERTIFICATE_ED25519_KEY is not an Ed25519 private key: {_exc}."
    ) from None
# Ids of signing keys that must no longer be trusted (the key leaked): certificates they signed
# fail verification, and the published key list marks them revoked.
CERTIFICATE_REVOKED_KEY_IDS: list[str] = env.list("CERTIFICATE_REVOKED_KEY_IDS", default=[])
# The HMAC key of certificates issued before they were signed with Ed25519: kept only so that
# those still verify. Optional with DEBUG off (unset: they can no longer be checked here).
CERTIFICATE_SIGNING_KEY: str = env.str(
    "CERTIFICATE_SIGNING_KEY", default=_dev_fernet_key("certificate") if DEBUG else ""
)

ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL: str = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
SITE_NAME: str = env.str("SITE_NAME", default="Parse-run deletion portal")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "deletions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # The client's address (through the trusted proxies), for the audit records of this request.
    "deletions.core.client_address.ClientAddressMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "csp.context_processors.nonce",
                "deletions.context_processors.portal",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env.bool(
    "DATABASE_JIT", default=False
):
    # PostgreSQL's JIT compiles a plan whose estimated cost is high, which the planner's guesses
    # about the legal-hold and exemption subqueries often make it: half a second of compiling
    # for a statement that runs in 20 ms (measured on a policy evaluation at 100,000 runs). The
    # portal's statements are short; none gains from JIT.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat share the file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests start real worker processes, which cannot see an in-memory database: use a file.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-portal.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL: str = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES: dict[str, Any] = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # Shared by web, worker and beat processes, unlike the per-process local-memory cache.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# The reverse proxies in front of the portal (docs/deployment.md, "The client's address"): how
# many append to X-Forwarded-For (nginx alone: 1; 0, the default: no proxy, REMOTE_ADDR is the
# client), and the networks the nearest one connects from. The header is believed only from
# those networks, and only the entry the outermost trusted proxy appended is used.
TRUSTED_PROXY_COUNT: int = env.int("TRUSTED_PROXY_COUNT", default=0)
TRUSTED_PROXY_NETWORKS: list[str] = env.list(
    "TRUSTED_PROXY_NETWORKS", default=["127.0.0.1/32", "::1/128"]
)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 (no proxy) or more.")
for _network in TRUSTED_PROXY_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXY_NETWORKS: {_network!r} is not an address or network "
            "(e.g. 127.0.0.1/32,10.0.0.0/8)."
        ) from None

# Failed logins: lock out a username+address pair after this many failures for this long. The
# address is the client's, seen through the trusted proxies, so a failure from one client never
# locks out the same username at another address.
AXES_FAILURE_LIMIT: int = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME: float = env.float("LOGIN_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "deletions.core.client_address.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
# Password-reset requests per hour from one client address (over it: 429) and for one e-mail
# address (over it: the same answer, and no more mail for that address this hour).
PASSWORD_RESET_LIMIT_PER_IP: int = env.int("PASSWORD_RESET_LIMIT_PER_IP", default=10)
PASSWORD_RESET_LIMIT_PER_EMAIL: int = env.int("PASSWORD_RESET_LIMIT_PER_EMAIL", default=3)

LANGUAGE_CODE = "en-gb"
TIME_ZONE: str = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# E-mail: EMAIL_URL such as smtp+tls://user:pass@host:587; the console in development.
_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", default="portal@localhost")
SERVER_EMAIL: str = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Operator staff who receive engine alerts (revoked keys, 404 bursts), comma-separated.
STAFF_ALERT_EMAILS: list[str] = env.list("STAFF_ALERT_EMAILS", default=[])

# --- Security headers. Production values follow from DEBUG off. ---
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE: int = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SECURE_SSL_REDIRECT: bool = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS: int = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy (django-csp 4): everything from our own origin, nothing inline
# except scripts carrying the per-response nonce.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Celery. The database is the source of truth; the broker only carries wake-ups. ---
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        # Above the longest task (CELERY_TASK_TIME_LIMIT), so an unacked task is not
        # redelivered while it still runs.
        "visibility_timeout": 900,
    }
else:
    # A SQLite file of its own, through Kombu's SQLAlchemy transport: a message is committed
    # whole or not at all, whoever is killed mid-write (portal/embedded_broker.py says why).
    from portal import embedded_broker

    _broker_store = VAR_DIR / "broker.sqlite3"
    embedded_broker.prepare(_broker_store)
    CELERY_BROKER_URL = embedded_broker.url(_broker_store)
    CELERY_BROKER_TRANSPORT_OPTIONS = embedded_broker.transport_options()
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Domain settings. ---
# Requests covering more runs than this (or scope "all") need two different approvers.
LARGE_REQUEST_THRESHOLD: int = env.int("LARGE_REQUEST_THRESHOLD", default=1000)
# Most parse-run ids accepted in one request.
MAX_RUNS_PER_REQUEST: int = env.int("MAX_RUNS_PER_REQUEST", default=100_000)
RECONCILE_INTERVAL_SECONDS: float = env.float("RECONCILE_INTERVAL_SECONDS", default=30.0)

# --- The execution engine (deletions/engine/). ---
# How long a claimed item is reserved for its runner; after that it is retried (its DELETE may
# have reached Extend: the retry then sees 404). Must exceed one call's worst case.
ITEM_LEASE_SECONDS: float = env.float("ITEM_LEASE_SECONDS", default=60.0)
# Transient failures (5xx, timeouts, connection errors) are retried up to this many attempts.
MAX_DELETE_ATTEMPTS: int = env.int("MAX_DELETE_ATTEMPTS", default=6)
RETRY_BACKOFF_BASE_SECONDS: float = env.float("RETRY_BACKOFF_BASE_SECONDS", default=2.0)
RETRY_BACKOFF_CAP_SECONDS: float = env.float("RETRY_BACKOFF_CAP_SECONDS", default=300.0)
# This many 404s in a row stop the workspace for a human instead of marking runs gone.
NOT_FOUND_BURST_THRESHOLD: int = env.int("NOT_FOUND_BURST_THRESHOLD", default=20)
# One runner task works this long, with this many concurrent calls, then hands over.
RUNNER_SECONDS: float = env.float("RUNNER_SECONDS", default=25.0)
RUNNER_THREADS: int = env.int("RUNNER_THREADS", default=20)
EXTEND_READ_TIMEOUT_SECONDS: float = env.float("EXTEND_READ_TIMEOUT_SECONDS", default=15.0)
# A runner holds its workspace under a lease renewed by a heartbeat every third of this; when a
# worker dies, the lease lapses after at most this long and another worker takes over.
RUNNER_LEASE_SECONDS: float = env.float("RUNNER_LEASE_SECONDS", default=6.0)
# How often beat looks for workspaces with due work and no live runner (takeover).
RUNNER_WATCH_SECONDS: float = env.float("RUNNER_WATCH_SECONDS", default=2.0)
# Longest a gated DELETE waits for its rate-limit slot; a hold or pause waits at most this long
# (plus one call) for DELETEs already past the gate. Past it the item goes back, unsent.
GATE_SLOT_WAIT_SECONDS: float = env.float("GATE_SLOT_WAIT_SECONDS", default=3.0)
# The circuit breaker (deletions/engine/breaker.py): transient failures in a row across items
# that open it, and how long it stays open (doubling while failures go on, up to the maximum).
BREAKER_FAILURES: int = env.int("BREAKER_FAILURES", default=5)
BREAKER_OPEN_SECONDS: float = env.float("BREAKER_OPEN_SECONDS", default=10.0)
BREAKER_OPEN_MAX_SECONDS: float = env.float("BREAKER_OPEN_MAX_SECONDS", default=300.0)
# Items due for longer than this are reported as stuck.
STUCK_AFTER_SECONDS: float = env.float("STUCK_AFTER_SECONDS", default=600.0)

CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "reconcile": {"task": "deletions.reconcile", "schedule": RECONCILE_INTERVAL_SECONDS},
    "watch-runners": {"task": "deletions.watch_runners", "schedule": RUNNER_WATCH_SECONDS},
}

# --- The parse-run inventory (deletions/inventory/sync.py). ---
# Every active workspace is synced from Extend this often: new runs only, and a full sync
# (which also notices runs deleted outside the portal) once a day.
SYNC_INTERVAL_SECONDS: float = env.float("SYNC_INTERVAL_SECONDS", default=900.0)
CELERY_BEAT_SCHEDULE["sync-parse-runs"] = {
    "task": "deletions.sync_all_workspaces",
    "schedule": SYNC_INTERVAL_SECONDS,
}

# --- GDPR erasure (deletions/gdpr/deadlines.py, intake.py, certificates.py, retention.py). ---
# The parse-run metadata key whose value is a data subject's reference.
GDPR_SUBJECT_METADATA_KEY: str = env.str("GDPR_SUBJECT_METADATA_KEY", default="subject_ref")
# Public form: how long a verification link works, and when unverified intakes expire.
GDPR_VERIFICATION_MAX_AGE_SECONDS: int = env.int(
    "GDPR_VERIFICATION_MAX_AGE_SECONDS", default=48 * 3600
)
GDPR_UNVERIFIED_EXPIRY_DAYS: int = env.int("GDPR_UNVERIFIED_EXPIRY_DAYS", default=7)
# Public form throttle: valid submissions per hour from one client address and for one e-mail
# address.
GDPR_INTAKE_LIMIT_PER_IP: int = env.int("GDPR_INTAKE_LIMIT_PER_IP", default=10)
GDPR_INTAKE_LIMIT_PER_EMAIL: int = env.int("GDPR_INTAKE_LIMIT_PER_EMAIL", default=3)
# A paused deadline stays paused at most this many days in all (deletions/gdpr/deadlines.py);
# staff are reminded this many days before a pause reaches it, and it then ends by itself.
GDPR_MAX_PAUSE_DAYS: int = env.int("GDPR_MAX_PAUSE_DAYS", default=30)
GDPR_PAUSE_REMINDER_DAYS: int = env.int("GDPR_PAUSE_REMINDER_DAYS", default=3)
# Where a data subject may complain about how their request was handled (Art. 77), named in the
# notices they are sent (deletions/gdpr/subject_notices.py). Empty: a generic sentence.
GDPR_SUPERVISORY_AUTHORITY_NAME: str = env.str("GDPR_SUPERVISORY_AUTHORITY_NAME", default="")
GDPR_SUPERVISORY_AUTHORITY_URL: str = env.str("GDPR_SUPERVISORY_AUTHORITY_URL", default="")
# Certificates of erasure: file names are personal data more often than not, so off by default.
CERTIFICATE_INCLUDE_FILE_NAMES: bool = env.bool("CERTIFICATE_INCLUDE_FILE_NAMES", default=False)
CERTIFICATE_PDF_MAX_RUNS: int = env.int("CERTIFICATE_PDF_MAX_RUNS", default=200)
# The public verify page: the largest certificate it checks (413 beyond, refused unread), and
# checks per hour from one client address (429 beyond).
CERTIFICATE_VERIFY_MAX_BYTES: int = env.int("CERTIFICATE_VERIFY_MAX_BYTES", default=2 * 1024 * 1024)
CERTIFICATE_VERIFY_LIMIT_PER_IP: int = env.int("CERTIFICATE_VERIFY_LIMIT_PER_IP", default=30)
# Retention of the portal's own records, in days (deletions/gdpr/retention.py).
RETENTION_CERTIFICATE_DAYS: int = env.int("RETENTION_CERTIFICATE_DAYS", default=3 * 365)
RETENTION_REQUEST_DAYS: int = env.int("RETENTION_REQUEST_DAYS", default=365)
RETENTION_AUDIT_DAYS: int = env.int("RETENTION_AUDIT_DAYS", default=3 * 365)
if min(RETENTION_REQUEST_DAYS, RETENTION_AUDIT_DAYS) < 30:
    # The database itself refuses to purge audit events or attempts younger than 28 days
    # (migration 0015, so that a compromised application cannot erase recent records); 30
    # leaves a margin for the clocks of the application and the database.
    raise ImproperlyConfigured("RETENTION_REQUEST_DAYS and RETENTION_AUDIT_DAYS must be >= 30.")
# The other tables' periods (deletions/gdpr/retention_rules.py has one rule per table; the README
# lists them): deleted runs' tombstones, Extend's webhook events (kept to drop redelivered ones),
# the API's idempotency keys and their stored answers, finished customer notifications, sign-in
# records (django-axes), ended legal holds, revoked API tokens and idle rate-limit slots.
RETENTION_TOMBSTONE_DAYS: int = env.int("RETENTION_TOMBSTONE_DAYS", default=3 * 365)
RETENTION_WEBHOOK_EVENT_DAYS: int = env.int("RETENTION_WEBHOOK_EVENT_DAYS", default=30)
RETENTION_IDEMPOTENCY_KEY_HOURS: int = env.int("RETENTION_IDEMPOTENCY_KEY_HOURS", default=24)
RETENTION_NOTIFICATION_DAYS: int = env.int("RETENTION_NOTIFICATION_DAYS", default=90)
RETENTION_LOGIN_RECORD_DAYS: int = env.int("RETENTION_LOGIN_RECORD_DAYS", default=30)
RETENTION_ENDED_HOLD_DAYS: int = env.int("RETENTION_ENDED_HOLD_DAYS", default=365)
RETENTION_REVOKED_TOKEN_DAYS: int = env.int("RETENTION_REVOKED_TOKEN_DAYS", default=365)
RETENTION_RATE_LIMIT_SLOT_HOURS: int = env.int("RETENTION_RATE_LIMIT_SLOT_HOURS", default=24)
if RETENTION_LOGIN_RECORD_DAYS * 24 < AXES_COOLOFF_TIME:
    # Purging a failed sign-in before its lockout ends would lift the lockout early.
    raise ImproperlyConfigured("RETENTION_LOGIN_RECORD_DAYS must cover LOGIN_COOLOFF_HOURS.")
CELERY_BEAT_SCHEDULE["gdpr-daily"] = {"task": "deletions.gdpr_daily", "schedule": 3600.0}
# Pauses near their maximum (a reminder to staff), pauses past it (ended), and the data
# subjects' final notices that could not be sent (sent again).
CELERY_BEAT_SCHEDULE["gdpr-subject-notices"] = {
    "task": "deletions.gdpr_pauses_and_notices",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["purge-expired-records"] = {
    "task": "deletions.purge_expired_records",
    "schedule": 24 * 3600.0,
}

# --- Retention policies (deletions/policies/). ---
# Age policies are evaluated once a day at this hour in each customer's time zone; "after
# processing" policies every RETENTION_POLICY_TICK_SECONDS (the beat tick that evaluates both).
RETENTION_POLICY_EVALUATION_HOUR: int = env.int("RETENTION_POLICY_EVALUATION_HOUR", default=2)
RETENTION_POLICY_TICK_SECONDS: float = env.float("RETENTION_POLICY_TICK_SECONDS", default=600.0)
# Most runs one evaluation puts into its request; a larger backlog is spread over several days.
RETENTION_POLICY_CAP: int = env.int("RETENTION_POLICY_CAP", default=10_000)
# The customer's admins are told this many days before a newly approved policy first acts.
RETENTION_POLICY_NOTICE_DAYS: int = env.int("RETENTION_POLICY_NOTICE_DAYS", default=7)
# An evaluation selecting more runs than this is announced to the customer's admins, and its
# request waits RETENTION_POLICY_NOTICE_HOURS (or the cooling-off window, if longer) so that
# runs can still be exempted.
RETENTION_POLICY_NOTICE_THRESHOLD: int = env.int("RETENTION_POLICY_NOTICE_THRESHOLD", default=1000)
RETENTION_POLICY_NOTICE_HOURS: int = env.int("RETENTION_POLICY_NOTICE_HOURS", default=24)
if not 0 <= RETENTION_POLICY_EVALUATION_HOUR <= 23:
    raise ImproperlyConfigured("RETENTION_POLICY_EVALUATION_HOUR must be an hour, 0 to 23.")
if not 1 <= RETENTION_POLICY_CAP <= MAX_RUNS_PER_REQUEST:
    # One evaluation is one request: it cannot hold more than a request may.
    raise ImproperlyConfigured("RETENTION_POLICY_CAP must be between 1 and MAX_RUNS_PER_REQUEST.")
CELERY_BEAT_SCHEDULE["retention-policies"] = {
    "task": "deletions.evaluate_retention_policies",
    "schedule": RETENTION_POLICY_TICK_SECONDS,
}
CELERY_BEAT_SCHEDULE["retention-monthly-summaries"] = {
    "task": "deletions.send_retention_summaries",
    "schedule": 3600.0,
}

# --- The JSON API (deletions/api/). ---
REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["deletions.api.auth.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["deletions.api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["deletions.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "deletions.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Parse-run deletion portal API",
    "DESCRIPTION": "File and follow deletion requests for Extend parse runs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RequestStatusEnum": "deletions.models.DeletionRequest.Status",
        "ItemStatusEnum": "deletions.models.DeletionItem.Status",
        # Two models have a Scope: without a name each, both would get a hashed one.
        "ScopeEnum": "deletions.models.DeletionRequest.Scope",
        "HoldScopeEnum": "deletions.models.LegalHold.Scope",
        # Roles: within a customer, on the staff, and a staff role change (which may be none).
        "MembershipRoleEnum": "deletions.models.Membership.Role",
        "StaffRoleEnum": "deletions.api.people.STAFF_ROLES",
        "StaffRoleChangeEnum": "deletions.api.people.STAFF_ROLE_CHANGES",
        # A refusal's ground, named "ground" in bodies and the register, "refusal_ground" on
        # a request: one enum.
        "RefusalGroundEnum": "deletions.requests.grounds.RefusalGround",
        # Retention policies have a status, a basis and decisions of their own.
        "PolicyStatusEnum": "deletions.models.RetentionPolicy.Status",
        "PolicyBasisEnum": "deletions.models.RetentionPolicy.Basis",
        "PolicyDecisionEnum": "deletions.models.PolicyApproval.Decision",
    },
}
# Requests per minute per token; bodies larger than this are refused (413).
API_RATE_LIMIT_PER_MINUTE: int = env.int("API_RATE_LIMIT_PER_MINUTE", default=120)
API_MAX_BODY_BYTES: int = env.int("API_MAX_BODY_BYTES", default=8 * 1024 * 1024)
# Outbound notifications: the beat task that sends due deliveries, and when to give up.
NOTIFICATION_MAX_ATTEMPTS: int = env.int("NOTIFICATION_MAX_ATTEMPTS", default=8)
NOTIFICATION_TIMEOUT_SECONDS: float = env.float("NOTIFICATION_TIMEOUT_SECONDS", default=10.0)
CELERY_BEAT_SCHEDULE["deliver-notifications"] = {
    "task": "deletions.deliver_due_notifications",
    "schedule": 30.0,
}

# The outbound URL policy (deletions/core/outbound.py): workspace base URLs and notification URLs
# are https and resolve to public addresses only, checked when saved and again when called. The
# hosts listed here are exempt (any address, http allowed): an on-premises Extend, or the simulator
# on 127.0.0.1 that `make run` and the tests set here. Empty by default, DEBUG or not.
OUTBOUND_ALLOWED_HOSTS: list[str] = env.list("OUTBOUND_ALLOWED_HOSTS", default=[])

# Error e-mails to ADMINS hide POSTed secrets (api_key, webhook_secret, passwords, tokens).
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.logging.SecretsFilter"
# ... and settings, headers and variables named like a secret (DSN, credential...), and the
# password of every URL they show, the exception's message included.
DEFAULT_EXCEPTION_REPORTER = "portal.logging.SecretsReporter"
ADMINS: list[tuple[str, str]] = [(a, a) for a in env.list("ADMIN_EMAILS", default=[])]

# LOG_FORMAT=json writes one JSON object per line (portal/logging.py), for log shippers.
LOG_FORMAT: str = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}.")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "portal.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Never log request headers: they carry bearer keys.
        "urllib3": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        # A client sending too large or too many fields gets a 400 from Django; logged, but not
        # e-mailed to the admins (anyone could send them one e-mail per request).
        **{
            f"django.security.{name}": {"handlers": ["console"], "propagate": False}
            for name in ("RequestDataTooBig", "TooManyFieldsSent", "TooManyFilesSent")
        },
    },
}
