"""Settings. Every value comes from an environment variable documented in .env.example,
with a default that works for `make run` (SQLite under var/, Hải Phòng, debug off)."""

import json
import os
from pathlib import Path

import dj_database_url

from chinhquyenso.portal.idpkey import lazy_private_key

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = Path(os.environ.get("CQS_HOME", Path.cwd()))
# Nothing here touches the disk: the folder is made by `cqs` (cli.py) when the SQLite
# database lives in it, and by whatever writes under it, when it first does.
VAR_DIR = Path(os.environ.get("CQS_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


# Demo mode (CQS_DEMO=1; `make run` and the tests set it): the secrets below keep the
# values published in this source tree and the local identity provider may run. Outside it
# the platform refuses to start with any of them (core/checks.py, run by every `cqs` command
# and by wsgi.py), naming the variable to set.
CQS_DEMO = env_bool("CQS_DEMO", False)
CQS_DEMO_SECRETS = {
    "SECRET_KEY": "dev-only-insecure-key-change-me-in-production",
    "VNPAY_HASH_SECRET": "SANDBOXSECRETCHINHQUYENSO2026XYZ",
    "CQS_OIDC_CLIENT_SECRET": "dev-only-portal-client-secret",
}

SECRET_KEY = os.environ.get("SECRET_KEY", CQS_DEMO_SECRETS["SECRET_KEY"])
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # its Swagger UI assets, served locally (no CDN)
    "oauth2_provider",  # the local OpenID Connect provider (development stand-in for VNeID)
    "chinhquyenso.core",
    "chinhquyenso.directory",
    "chinhquyenso.catalog",
    "chinhquyenso.dossiers",
    "chinhquyenso.payments",
    "chinhquyenso.portal",
    "chinhquyenso.backoffice",
    "chinhquyenso.monitoring",
    "chinhquyenso.complaints",
    "chinhquyenso.planning",
    "django_tasks",
    "django_tasks_db",  # the task queue's table (the worker reads it)
]

MIDDLEWARE = [
    # First: a request with text PostgreSQL cannot store (NUL…) is refused before anything
    # reads it (core/middleware.py).
    "chinhquyenso.core.middleware.BoundedInputMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "chinhquyenso.core.web.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "chinhquyenso.urls"
WSGI_APPLICATION = "chinhquyenso.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "core" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            # {{ amount|vnd }} everywhere without a {% load %}.
            "builtins": ["chinhquyenso.core.templatetags.cqs"],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chinhquyenso.portal.context.portal",
            ]
        },
    }
]

# Database: DATABASE_URL selects it. Default: SQLite in WAL mode under var/.
# PostgreSQL 15 is the production database (and CI's).
SQLITE_PATH = VAR_DIR / "cqs.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{SQLITE_PATH}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at
        # BEGIN so that concurrent writers queue instead of failing with "database is
        # locked" half way through a transaction; synchronous=FULL keeps a committed
        # write on disk across a crash.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
        ),
    }
else:
    DATABASES["default"].setdefault("TEST", {})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "directory.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(os.environ.get("CQS_MEDIA_ROOT", VAR_DIR / "files"))

# The province this deployment serves (administrative-unit code, vietnam-provinces).
CQS_PROVINCE = int(os.environ.get("CQS_PROVINCE", "31"))
# Public base URL printed in receipts' QR codes.
CQS_PUBLIC_URL = os.environ.get("CQS_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Attachments: at most this many bytes each (issue: ≤ 20 MB).
CQS_MAX_UPLOAD_BYTES = int(os.environ.get("CQS_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024)))
# A whole request body: refused with 413 before it is read (core/middleware.py), whatever
# server runs the platform (granian has no body limit of its own). Default: one attachment
# and 1 MB of form fields.
CQS_MAX_REQUEST_BYTES = int(os.environ.get("CQS_MAX_REQUEST_BYTES",
                                           str(CQS_MAX_UPLOAD_BYTES + 1024 * 1024)))
DATA_UPLOAD_MAX_MEMORY_SIZE = CQS_MAX_REQUEST_BYTES  # Django's own bound on non-file data
# An apology letter's new appointment: at most this many working days after the current one
# (the law sets no ceiling: dossiers/services.check_new_appointment).
CQS_MAX_EXTENSION_WORKING_DAYS = int(os.environ.get("CQS_MAX_EXTENSION_WORKING_DAYS", "30"))
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Payment gateways. The defaults point at the local sandbox (`cqs payments sandbox`, started
# by `make run`); a province sets its contracted VNPAY merchant here.
VNPAY_TMN_CODE = os.environ.get("VNPAY_TMN_CODE", "CQSDEMO1")
VNPAY_HASH_SECRET = os.environ.get("VNPAY_HASH_SECRET", CQS_DEMO_SECRETS["VNPAY_HASH_SECRET"])
VNPAY_PAYMENT_URL = os.environ.get("VNPAY_PAYMENT_URL",
                                   "http://127.0.0.1:8100/paymentv2/vpcpay.html")
VNPAY_API_URL = os.environ.get("VNPAY_API_URL",
                               "http://127.0.0.1:8100/merchant_webapi/api/transaction")
# Where the day's settlement file is read: a URL (the sandbox serves it) or a folder of
# YYYY-MM-DD.csv files delivered by the gateway.
VNPAY_SETTLEMENT_URL = os.environ.get("VNPAY_SETTLEMENT_URL", "http://127.0.0.1:8100/settlement")
VNPAY_SETTLEMENT_DIR = os.environ.get("VNPAY_SETTLEMENT_DIR", str(VAR_DIR / "settlement"))
# The gateway of each agency (identity code → gateway name); others use the default.
# Gateways: "vnpay" now; the national payment platform (PayGov) is the next one.
CQS_PAYMENT_GATEWAY = os.environ.get("CQS_PAYMENT_GATEWAY", "vnpay")
CQS_PAYMENT_GATEWAY_BY_AGENCY = dict(
    pair.split("=", 1) for pair in os.environ.get("CQS_PAYMENT_GATEWAY_BY_AGENCY", "").split(",")
    if "=" in pair
)
# Minutes a payment order stays open at the gateway (vnp_ExpireDate).
CQS_PAYMENT_TTL_MINUTES = int(os.environ.get("CQS_PAYMENT_TTL_MINUTES", "15"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}

# HTTPS. When the public URL is https the platform sits behind a proxy that ends TLS: it
# believes that proxy's X-Forwarded-Proto (the proxy must set it and drop any the client
# sent), sends plain HTTP to HTTPS, sends HSTS for a year and marks cookies Secure; each one
# can be set on its own. With these `cqs check --deploy` reports nothing. HSTS preload is left
# to the domain's owner: a submission to hstspreload.org covers the whole registrable domain
# and every subdomain of it, so the platform does not ask for it by default (security.W021).
CQS_HTTPS = CQS_PUBLIC_URL.startswith("https://")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("CQS_PROXY_SSL_HEADER", CQS_HTTPS) else None
)
SECURE_SSL_REDIRECT = env_bool("CQS_SSL_REDIRECT", CQS_HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("CQS_HSTS_SECONDS", "31536000" if CQS_HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("CQS_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("CQS_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]

# Web sessions: cookies only over HTTPS (the default when CQS_PUBLIC_URL is https); officers'
# sessions end after CQS_SESSION_MINUTES without activity (the back office renews them).
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("CQS_SECURE_COOKIES", CQS_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = int(os.environ.get("CQS_SESSION_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = True
CSRF_FAILURE_VIEW = "chinhquyenso.core.views.csrf_failure"

# Rate limits (core/throttle.py), "N/PERIOD" with PERIOD in s, m, h or d; 0 turns one off.
# Counted per client address in the database, so that every web process sees one count.
# CQS_TRUSTED_PROXIES: the load balancers/reverse proxies (addresses or networks, comma-
# separated) whose X-Forwarded-For is believed; empty: REMOTE_ADDR only.
CQS_TRUSTED_PROXIES = os.environ.get("CQS_TRUSTED_PROXIES", "")
# Public look-up of a dossier's status (codes are sequential: enumeration).
CQS_THROTTLE_LOOKUP = os.environ.get("CQS_THROTTLE_LOOKUP", "60/1m")
# PAKN sent by citizens or anonymously (each one counts in the service-quality index).
CQS_THROTTLE_COMPLAINTS = os.environ.get("CQS_THROTTLE_COMPLAINTS", "10/1h")
# Officers' sign-in: failed attempts on one username from one address (below the 5 failures
# that lock the account, so one address cannot lock an officer out), and from one address
# over all usernames (password spraying).
CQS_THROTTLE_LOGIN = os.environ.get("CQS_THROTTLE_LOGIN", "4/15m")
CQS_THROTTLE_LOGIN_ADDRESS = os.environ.get("CQS_THROTTLE_LOGIN_ADDRESS", "30/15m")
# API tokens expire this many days after `cqs token create` (revoked earlier with
# `cqs token revoke`, and all of an officer's when their role or password changes).
CQS_API_TOKEN_DAYS = int(os.environ.get("CQS_API_TOKEN_DAYS", "90"))
# A new officer's invitation link (set the password, enrol the authenticator) works once,
# for this many hours.
CQS_INVITATION_HOURS = int(os.environ.get("CQS_INVITATION_HOURS", "72"))
LOGIN_URL = "/dang-nhap"

# E-mail: console in development; a province sets EMAIL_BACKEND=smtp and EMAIL_HOST etc.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get(
    "DEFAULT_FROM_EMAIL", "Dịch vụ công Hải Phòng <no-reply@localhost>"
)
# Text messages (SMS / Zalo OA) to applicants: a class with send(phone, text); the default
# writes to the log. Deliveries are tasks run by the worker (`cqs worker`, below).
CQS_SMS_CHANNEL = os.environ.get("CQS_SMS_CHANNEL", "chinhquyenso.core.notify.LoggingTextChannel")

# Citizens and businesses sign in with OpenID Connect (VNeID / the national portal's SSO).
# The issuer, client id and secret of the real provider go here; by default the platform
# runs its own local provider under /idp/ (CQS_LOCAL_IDP) with demo identities.
CQS_LOCAL_IDP = env_bool("CQS_LOCAL_IDP", True)
CQS_OIDC_ISSUER = os.environ.get("CQS_OIDC_ISSUER", f"{CQS_PUBLIC_URL}/idp").rstrip("/")
CQS_OIDC_CLIENT_ID = os.environ.get("CQS_OIDC_CLIENT_ID", "cqs-portal")
CQS_OIDC_CLIENT_SECRET = os.environ.get("CQS_OIDC_CLIENT_SECRET",
                                        CQS_DEMO_SECRETS["CQS_OIDC_CLIENT_SECRET"])
CQS_OIDC_SCOPES = os.environ.get("CQS_OIDC_SCOPES", "openid profile address phone email")
# How long (seconds) the provider's discovery document and keys (JWKS) are kept before they
# are fetched again; a token signed with a key id not in the kept set fetches them at once.
CQS_OIDC_JWKS_TTL = int(os.environ.get("CQS_OIDC_JWKS_TTL", "3600"))


# The local provider's RSA signing key: OIDC_RSA_PRIVATE_KEY, else var/idp-rsa.pem made by
# `cqs init` (or on first use), read when the provider first signs (portal/idpkey.py).
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": lazy_private_key() if CQS_LOCAL_IDP else "",
    "SCOPES": {"openid": "Định danh", "profile": "Thông tin cá nhân", "address": "Địa chỉ",
               "phone": "Số điện thoại", "email": "Thư điện tử"},
    "DEFAULT_SCOPES": ["openid"],
    "OAUTH2_VALIDATOR_CLASS": "chinhquyenso.portal.idp.ClaimsValidator",
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 120,
    # The issuer as configured (not as guessed from the Host header of each request).
    "OIDC_ISS_ENDPOINT": CQS_OIDC_ISSUER if CQS_LOCAL_IDP else "",
    # RFC 9700 (OAuth 2.0 Security Best Current Practice): no implicit or password grant, PKCE
    # S256 only, tokens in headers only, `iss` in the authorization response (RFC 9207),
    # tokens stored hashed, refresh-token replay revokes the family, https redirect URIs when
    # the platform is served over https (django-oauth-toolkit's COMPLIANT_BCP_RFC9700_* gates,
    # to become its defaults in 4.0; `check --deploy` warns without them).
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if CQS_HTTPS else ["http", "https"],
}

# E-receipts (biên lai điện tử): per agency code, the collecting organisation's tax code and
# the two series letters of Circular 78/2021/TT-BTC, e.g.
# CQS_RECEIPT_ISSUERS='{"H31.11311": {"tax_code": "0200000000", "letters": "AA"}}'.
CQS_RECEIPT_ISSUERS = json.loads(os.environ.get("CQS_RECEIPT_ISSUERS", "{}"))

# Background work runs in the worker process (`cqs worker`; `make run` starts it), never in
# threads of a web process: tasks enqueued through django-tasks (the task row is written in
# the transaction of the change) and periodic jobs. CQS_TASKS_BACKEND: django-tasks' database
# backend by default; the unit tests use its immediate backend (tests/conftest.py).
TASKS = {"default": {"BACKEND": os.environ.get("CQS_TASKS_BACKEND",
                                              "django_tasks_db.DatabaseBackend")}}
# Seconds the worker waits when it has nothing to do.
CQS_WORKER_INTERVAL = float(os.environ.get("CQS_WORKER_INTERVAL", "1"))
# The worker's periodic jobs: (dotted path of a function without arguments, seconds between
# runs). Each app names its own; core imports none of them.
CQS_PERIODIC_JOBS = [
    ("chinhquyenso.core.notify.deliver", 60),  # retries what failed to send
    ("chinhquyenso.payments.receipts.number_receipts", 2),  # the IPN's e-receipts
    ("chinhquyenso.payments.services.query_pending_orders", 60),  # querydr: lost IPNs
    ("chinhquyenso.payments.tasks.drain_pending_audit_links", 300),
    ("chinhquyenso.monitoring.services.refresh", 60),
    ("chinhquyenso.monitoring.portal.sync", 60),
    # The audit trail: linking the records written since, and the signed checkpoint (X-Road
    # time-stamps its message log in batches once a minute by default; ADR 0004).
    ("chinhquyenso.core.audit.link_job", 2),
    # Throttle counters not touched for two days (`cqs throttle purge` by hand).
    ("chinhquyenso.core.throttle.purge", 3600),
    ("chinhquyenso.core.audit.checkpoint_job",
     float(os.environ.get("CQS_AUDIT_CHECKPOINT_SECONDS", "600"))),
]

# Signed checkpoints of the audit chain (core/audit.py, ADR 0004): the Ed25519 private key
# as PEM text (CQS_AUDIT_SIGNING_KEY) or a PEM file (CQS_AUDIT_SIGNING_KEY_FILE), kept out of
# the database; unset: a demo key made on first use under var/audit/ (said so when used).
# The checkpoints are files in CQS_AUDIT_CHECKPOINT_DIR: point it at storage that the
# database's writers cannot write (another machine, write-once object storage).
CQS_AUDIT_SIGNING_KEY = os.environ.get("CQS_AUDIT_SIGNING_KEY", "")
CQS_AUDIT_SIGNING_KEY_FILE = os.environ.get("CQS_AUDIT_SIGNING_KEY_FILE", "")
CQS_AUDIT_CHECKPOINT_DIR = os.environ.get("CQS_AUDIT_CHECKPOINT_DIR",
                                          str(VAR_DIR / "audit-checkpoints"))

# National Public Service Portal synchronisation (monitoring/portal.py): empty URL → the
# built-in simulator; the real endpoint and its token are the province's.
CQS_PORTAL_SYNC_URL = os.environ.get("CQS_PORTAL_SYNC_URL", "")
CQS_PORTAL_SYNC_TOKEN = os.environ.get("CQS_PORTAL_SYNC_TOKEN", "")
CQS_PORTAL_SYNC_TIMEOUT = float(os.environ.get("CQS_PORTAL_SYNC_TIMEOUT", "10"))

# The key and certificate (PEM files) that sign the PDFs the platform issues (e-receipts):
# the issuing organisation's, from the Government's PKI. Unset: a self-signed demo pair is
# made under var/signing/ (core/signing.py), marked as having no legal value.
CQS_SIGNING_KEY = os.environ.get("CQS_SIGNING_KEY", "")
CQS_SIGNING_CERT = os.environ.get("CQS_SIGNING_CERT", "")
