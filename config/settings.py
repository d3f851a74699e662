"""One settings module for every environment; everything that differs comes from the environment.

DATABASE_URL   PostgreSQL in real use (postgres://user@host:5432/name); unset: SQLite in var/
SECRET_KEY     required when DEBUG is off.
DEBUG          "1"/"true" for local work (make run sets it).
TECHNICAL_ERROR_PAGES  "1" with DEBUG: Django's technical 404/500 pages instead of the product's.
ALLOWED_HOSTS  comma separated.
PROXY_COUNT    reverse proxies in front of the web nodes, each appending to X-Forwarded-For (0).
API_RATE_LIMIT agent API requests per key, "300/60s".
AGENT_KEY_CACHE_SECONDS  how long a process trusts a key it authenticated (5; 0: always ask).
REDIS_URL      redis://host:6379/0: rate-limit counters and the django-q2 broker (else the DB).
DATABASE_REPLICA_URL  a streaming read replica of DATABASE_URL's server for the heavy reads
               (config/replicas.py); REPLICA_PIN_SECONDS: primary reads after a write (5).
README.md "Deployment" lists every setting.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DEBUG")
# Django's technical 404 and 500 pages (URL patterns, tracebacks, settings) instead of the product's
# own, for a developer debugging with DEBUG on; off, even `make run` shows what people would see.
TECHNICAL_ERROR_PAGES = DEBUG and env_bool("TECHNICAL_ERROR_PAGES")
# pytest (which sets PYTEST_VERSION) runs the production settings, except that its test client and
# live server speak plain HTTP: no HTTPS redirect or HTTPS-only cookies there.
TESTING = bool(os.environ.get("PYTEST_VERSION"))
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not TESTING:
        raise RuntimeError("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug-and-tests"

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
if DEBUG and not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Trigram indexes (approvals migration 0007) need its OpClass; harmless on SQLite.
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "django_filters",
    "django_q",
    "simple_history",
    "csp",
    "ninja",
    "axes",
    "anymail",
    "api",
    "tenants",
    "audit",
    "agents",
    "approvals",
    "plans",
    "optimization",
    "notifications",
    "integrations",
    "metrics",
    "ops",
]

MIDDLEWARE = [
    # First: /healthz answers load balancers before any HTTPS redirect or host check.
    "ops.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The product's 404/500 pages under DEBUG too, unless TECHNICAL_ERROR_PAGES (outside
    # CommonMiddleware, whose APPEND_SLASH redirect comes first).
    "config.error_pages.ProductErrorPagesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # config.middleware.Pages*: Django's and the libraries' own, skipped for the agent API
    # (issue 21.4; its docs pages keep them).
    "config.middleware.PagesSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.middleware.PagesAuthenticationMiddleware",
    "config.middleware.NoStoreMiddleware",
    "config.middleware.PagesMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.PagesCSPMiddleware",
    "config.middleware.PagesHtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "tenants.middleware.CurrentTenantMiddleware",
    "config.middleware.RetryableConflictMiddleware",
    # Reads the primary during and for a few seconds after a person's write (config/replicas.py).
    "config.replicas.PrimaryPinMiddleware",
    # Last: turns a refused login (request.axes_locked_out) into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# The login throttle (tenants/throttle.py) sees every authenticate() call first: the dashboard's,
# the portal's (the same login page) and Django admin's.
AUTHENTICATION_BACKENDS = [
    "tenants.throttle.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "tenants.context_processors.tenancy",
            ],
            # One money, percentage and time format for every app's templates.
            "libraries": {"formatting": "config.formatting_tags"},
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=60,
            # A connection kept across requests is checked before reuse: after a database restart
            # the first request of every worker reconnects instead of failing.
            conn_health_checks=True,
        )
    }
else:
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "var" / "human_touch.sqlite3",
            "OPTIONS": {
                # The web server and the django-q2 cluster share this file. WAL lets readers
                # run beside one writer; IMMEDIATE makes every transaction take the write lock
                # up front, so writers queue (busy timeout) instead of failing half way with
                # "database is locked" — and it is what keeps the audit chain serial here,
                # since SQLite ignores select_for_update.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
# The owner role's URL (same database): `migrate` connects as it (audit/management/commands/
# migrate.py), the web and the cluster never do. Set it for the release step only, never in the
# web or cluster environment: the application role it protects would otherwise hold its password.
DATABASE_OWNER_URL = os.environ.get("DATABASE_OWNER_URL", "")
# Parallel test runs (several developers on one machine) each get their own test database.
if os.environ.get("TEST_DATABASE_NAME"):
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ["TEST_DATABASE_NAME"]
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")
# A streaming read replica for the heavy reads that ask for it (config/replicas.py). In tests it
# mirrors the test database: a physical replica holds every database of its primary, so it has
# the test database under the same name as soon as the primary creates it.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
REPLICA_PIN_SECONDS = int(os.environ.get("REPLICA_PIN_SECONDS", "5"))
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=60, conn_health_checks=True
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["config.replicas.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

if TESTING:
    # Hashing every persona's password the slow, safe way would dominate the suite's run time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = os.environ.get("STATIC_ROOT", str(BASE_DIR / "var" / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and not TESTING
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Tests and DEBUG serve static files straight from the app directories (no collectstatic).
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# --- Security ---------------------------------------------------------------------------------
# Everything the pages load comes from this origin: htmx and the stylesheet are ours.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads no cookie: the token is on <body hx-headers>
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and not TESTING:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Login throttling (django-axes; tenants/throttle.py) ----------------------------------------
# Reverse proxies in front of the web nodes that append the address they received a connection
# from to X-Forwarded-For. 0: the header is ignored (config/client_address.py).
PROXY_COUNT = int(os.environ.get("PROXY_COUNT", 0))
# A username is locked from one address after this many failures there; an address is locked
# for every username it has not logged in before once failures there span this many usernames.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURES_PER_USERNAME", 5))
LOGIN_USERNAMES_PER_ADDRESS = int(os.environ.get("LOGIN_USERNAMES_PER_ADDRESS", 10))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", 15)))
AXES_HANDLER = "tenants.throttle.LoginThrottleHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "config.client_address.client_address"
AXES_RESET_ON_SUCCESS = True
# A lockout lasts its cool-off from when it began: failures meanwhile don't prolong it (someone
# else's failures would otherwise keep a person out for good).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "tenants/locked_out.html"
AXES_VERBOSE = False

# --- Agent keys (agents/services/keys.py) ------------------------------------------------------
# Each process remembers a key it authenticated this long: a revoked key (or a change to its
# tenant's row) reaches every process within this bound; 0 turns the cache off.
AGENT_KEY_CACHE_SECONDS = float(os.environ.get("AGENT_KEY_CACHE_SECONDS", "5"))

# --- Agent API rate limit (api/ratelimit.py) --------------------------------------------------
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "300/60s")
# Several deployments (or developers' test runs) may share one Redis: keys start with this.
RATE_LIMIT_KEY_PREFIX = os.environ.get("RATE_LIMIT_KEY_PREFIX", "ht:rate")

# --- Signed audit checkpoints (audit/checkpoints.py) -----------------------------------------
# The Ed25519 signer key, `PRIVATE+KEY+<name>+<id>+<key>` (`manage.py audit_checkpoint
# --new-key`), or a file holding it. With DEBUG and neither, a development key is made in var/.
AUDIT_SIGNING_KEY = os.environ.get("AUDIT_SIGNING_KEY", "")
AUDIT_SIGNING_KEY_FILE = os.environ.get("AUDIT_SIGNING_KEY_FILE", "")
# Verifier keys of earlier signing keys still trusted after a rotation (space separated).
AUDIT_VERIFIER_KEYS = os.environ.get("AUDIT_VERIFIER_KEYS", "").split()
# The append-only store: one directory per tenant, each checkpoint written once.
# By default one store per database under var/, so a developer's databases don't share one.
AUDIT_CHECKPOINT_DIR = os.environ.get(
    "AUDIT_CHECKPOINT_DIR",
    str(BASE_DIR / "var" / "checkpoints" / Path(str(DATABASES["default"]["NAME"])).stem),
)
# Each tenant's log is named "<origin>/<tenant slug>"; the key name of new development keys.
AUDIT_CHECKPOINT_ORIGIN = os.environ.get("AUDIT_CHECKPOINT_ORIGIN", "human-touch.local/audit")
AUDIT_KEY_NAME = os.environ.get("AUDIT_KEY_NAME", AUDIT_CHECKPOINT_ORIGIN)
# Where retention writes the audit partitions it takes out of the database (audit/retention.py):
# each file written once, like the checkpoints; keep it with them.
AUDIT_ARCHIVE_DIR = os.environ.get(
    "AUDIT_ARCHIVE_DIR",
    str(BASE_DIR / "var" / "audit-archive" / Path(str(DATABASES["default"]["NAME"])).stem),
)

# --- Health (/healthz, ops/health.py) ----------------------------------------------------------
# The cluster's heartbeat runs every minute; older than this, the cluster counts as down.
HEALTHZ_CLUSTER_MAX_AGE = int(os.environ.get("HEALTHZ_CLUSTER_MAX_AGE", 180))

# --- Mail -------------------------------------------------------------------------------------
# With DEBUG (make run) mail goes to one file per message in var/mail/, not into the cluster's
# log, where whole MIME messages buried the requests; elsewhere the console unless set.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.filebased.EmailBackend"
    if DEBUG and not TESTING
    else "django.core.mail.backends.console.EmailBackend",
)
if os.environ.get("EMAIL_FILE_PATH"):  # the file backend's directory (CONTRACT.md)
    EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
elif EMAIL_BACKEND.endswith("filebased.EmailBackend"):
    EMAIL_FILE_PATH = str(BASE_DIR / "var" / "mail")
# SMTP (EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend): Django's own names.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "human-touch@localhost")
# A real provider through django-anymail: EMAIL_BACKEND=anymail.backends.<esp>.EmailBackend and
# its settings as ANYMAIL_<SETTING> environment variables (ANYMAIL_POSTMARK_SERVER_TOKEN=…).
ANYMAIL = {
    key.removeprefix("ANYMAIL_"): value
    for key, value in os.environ.items()
    if key.startswith("ANYMAIL_")
}
# Links in e-mails and chat messages start with this.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# --- Notifications (notifications/mail.py) ------------------------------------------------------
# A person's immediate notifications go out as one e-mail once this long passed without a new
# one (or the oldest waited NOTIFY_MAIL_MAX_WAIT_SECONDS): a burst is one e-mail, not 200.
NOTIFY_MAIL_QUIET_SECONDS = int(os.environ.get("NOTIFY_MAIL_QUIET_SECONDS", 60))
NOTIFY_MAIL_MAX_WAIT_SECONDS = int(os.environ.get("NOTIFY_MAIL_MAX_WAIT_SECONDS", 300))

# --- Integrations (integrations/) ---------------------------------------------------------------
# Slack's signing secret (the app's Basic Information page); interactions are refused without it.
SLACK_SIGNING_SECRET = os.environ.get("SLACK_SIGNING_SECRET", "")
SLACK_API_URL = os.environ.get("SLACK_API_URL", "https://slack.com/api/")
# Webhook receivers on these hosts ("host" or "host:port") may be private or loopback addresses
# (a receiver inside your network; the tests' local receiver). Everything else must be public.
WEBHOOK_ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("WEBHOOK_ALLOWED_HOSTS", "").split(",") if h.strip()
]
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", 10))

# --- django-q2 --------------------------------------------------------------------------------
# The broker: the database (ORM) by default, Redis when REDIS_URL is set (README "Deployment":
# when to switch); Q_BROKER=orm keeps the database with REDIS_URL set for the rate limits only.
Q_BROKER = os.environ.get("Q_BROKER", "redis" if REDIS_URL else "orm")
Q_CLUSTER = {
    # Every cluster of one deployment shares the name: one queue, and one key signing payloads.
    "name": os.environ.get("Q_NAME", "human_touch"),
    "workers": int(os.environ.get("Q_WORKERS", 2)),
    "timeout": 300,
    # ORM broker: a task a killed cluster held is handed out again after `retry` seconds (every
    # task is idempotent). Redis pops a task when a worker takes it: a killed cluster loses it,
    # and the next run of its schedule does the work.
    "retry": 360,
    "max_attempts": 3,
    "catch_up": False,
    **({"redis": REDIS_URL} if Q_BROKER == "redis" else {"orm": "default", "poll": 2}),
}

# Times read with their zone wherever Django formats them (Django admin included).
FORMAT_MODULE_PATH = ["config.formats"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals": {"()": "config.logging.RefusalsWithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "requests": {"class": "logging.StreamHandler", "filters": ["refusals"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Requests log through their own handler, whose filter keeps 4xx to one line.
        "django.request": {"handlers": ["requests"], "propagate": False},
    },
}
