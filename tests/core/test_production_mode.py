"""Safe production defaults (issue 10 §6): outside demo mode (CQS_DEMO unset) the platform
refuses to start with a secret published in the source tree or with the local identity
provider, and says which variable to set; with real values it starts. Settings do no file
I/O at import, and `check --deploy` passes in production mode.

Each test runs the platform in a fresh process with an environment of its own: the suite
itself runs in demo mode (tests/conftest.py)."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CQS = [sys.executable, "-m", "chinhquyenso.cli"]
# Everything that decides the mode, removed from the inherited environment.
MODE_VARS = {
    "CQS_DEMO",
    "SECRET_KEY",
    "VNPAY_HASH_SECRET",
    "CQS_OIDC_CLIENT_SECRET",
    "CQS_LOCAL_IDP",
    "CQS_OIDC_ISSUER",
    "CQS_PUBLIC_URL",
    "OIDC_RSA_PRIVATE_KEY",
    "CQS_SECURE_COOKIES",
    "DEBUG",
    "ALLOWED_HOSTS",
    "DJANGO_SETTINGS_MODULE",
    "CQS_AUDIT_SIGNING_KEY",
    "CQS_AUDIT_SIGNING_KEY_FILE",
    "CQS_SIGNING_KEY",
    "CQS_SIGNING_CERT",
    "VNPAY_TMN_CODE",
    "VNPAY_PAYMENT_URL",
    "VNPAY_API_URL",
}
PRODUCTION = {
    "SECRET_KEY": "k3v9-Qx7pL2mZ8rT4wY6nB1cF5hJ0sD3gA7eU9iO2yR6tW8qP4zX1vN5bM0",
    "VNPAY_HASH_SECRET": "9F2KQ7XM4T8B1N6R3W5Y0C2V7L9D4S6H",
    "CQS_OIDC_CLIENT_SECRET": "a8f3c1e9b7d5f2a4c6e8b0d2f4a6c8e0",
    "CQS_LOCAL_IDP": "0",
    "CQS_OIDC_ISSUER": "https://sso.dichvucong.example.gov.vn",
    "VNPAY_TMN_CODE": "HPDVC001",
    "VNPAY_PAYMENT_URL": "https://pay.vnpay.vn/vpcpay.html",
    "VNPAY_API_URL": "https://pay.vnpay.vn/merchant_webapi/api/transaction",
}
DEFAULT_SECRETS = ("SECRET_KEY", "VNPAY_HASH_SECRET", "CQS_OIDC_CLIENT_SECRET")


def platform_env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in MODE_VARS}
    env.update(
        {
            "CQS_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'cqs.sqlite3'}",
            "PYTHONUNBUFFERED": "1",
        },
        **extra,
    )
    if extra.get("SECRET_KEY") == PRODUCTION["SECRET_KEY"]:  # production: the province's keys
        env = {**_keys(tmp_path), **env}
    return env


def _keys(tmp_path) -> dict:
    """The province's own keys, as files outside the database: the audit checkpoints'
    Ed25519 key, and a key and certificate for receipts (self-signed here; the Government
    CA's in production)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.x509.oid import NameOID

    folder = tmp_path / "keys"
    folder.mkdir(exist_ok=True)
    pem = serialization.Encoding.PEM
    pkcs8, none = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    (folder / "audit.pem").write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(pem, pkcs8, none)
    )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Sở Tài chính Hải Phòng (thử)")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    (folder / "sign-key.pem").write_bytes(key.private_bytes(pem, pkcs8, none))
    (folder / "sign-cert.pem").write_bytes(cert.public_bytes(pem))
    return {
        "CQS_AUDIT_SIGNING_KEY_FILE": str(folder / "audit.pem"),
        "CQS_SIGNING_KEY": str(folder / "sign-key.pem"),
        "CQS_SIGNING_CERT": str(folder / "sign-cert.pem"),
    }


def run(args, env, timeout=120):
    return subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_default_secrets_and_local_provider_refused_naming_each_setting(tmp_path):
    result = run([*CQS, "check"], platform_env(tmp_path))
    assert result.returncode != 0
    out = result.stderr
    for name in DEFAULT_SECRETS:
        assert f"Đặt biến môi trường {name} bằng một giá trị bí mật riêng" in out
    assert "Đặt biến môi trường CQS_LOCAL_IDP=0" in out


def test_one_default_secret_is_enough_to_refuse(tmp_path):
    env = platform_env(
        tmp_path, **{**PRODUCTION, "VNPAY_HASH_SECRET": "SANDBOXSECRETCHINHQUYENSO2026XYZ"}
    )
    result = run([*CQS, "check"], env)
    assert result.returncode != 0
    assert "Đặt biến môi trường VNPAY_HASH_SECRET" in result.stderr
    assert "Đặt biến môi trường SECRET_KEY" not in result.stderr
    assert "CQS_LOCAL_IDP" not in result.stderr


def test_demo_keys_and_the_local_payment_sandbox_refused_naming_each_setting(tmp_path):
    """Outside demo mode the platform does not make its own audit or receipt keys, and does
    not send citizens' payments to the local sandbox."""
    env = platform_env(tmp_path, **PRODUCTION)
    for name in (
        "CQS_AUDIT_SIGNING_KEY_FILE",
        "CQS_SIGNING_CERT",
        "VNPAY_TMN_CODE",
        "VNPAY_PAYMENT_URL",
    ):
        del env[name]
    result = run([*CQS, "check"], env)
    assert result.returncode != 0
    out = result.stderr
    assert "Đặt biến môi trường CQS_AUDIT_SIGNING_KEY_FILE" in out
    assert "CQS_SIGNING_KEY và CQS_SIGNING_CERT" in out
    assert "cổng thử nghiệm cục bộ" in out
    assert "Đặt biến môi trường VNPAY_PAYMENT_URL, VNPAY_TMN_CODE" in out
    # A key file that is not there is named too.
    env = platform_env(tmp_path, **PRODUCTION)
    env["CQS_SIGNING_KEY"] = str(tmp_path / "khong-co.pem")
    result = run([*CQS, "check"], env)
    assert result.returncode != 0
    assert "CQS_SIGNING_KEY trỏ tới tệp không tồn tại" in result.stderr


def test_switched_off_local_provider_needs_the_real_issuer(tmp_path):
    env = platform_env(tmp_path, **PRODUCTION)
    del env["CQS_OIDC_ISSUER"]
    result = run([*CQS, "check"], env)
    assert result.returncode != 0
    assert "Đặt biến môi trường CQS_OIDC_ISSUER" in result.stderr


def test_serve_refuses_to_start_with_the_defaults(tmp_path):
    """`cqs serve` stops at its checks: no server, the reasons on stderr."""
    result = run([*CQS, "serve", "--port", str(_free_port())], platform_env(tmp_path), timeout=60)
    assert result.returncode != 0
    assert "Đặt biến môi trường SECRET_KEY" in result.stderr
    assert "Đặt biến môi trường CQS_LOCAL_IDP=0" in result.stderr


def test_wsgi_server_cannot_load_the_application_with_the_defaults(tmp_path):
    result = run([sys.executable, "-c", "import chinhquyenso.wsgi"], platform_env(tmp_path))
    assert result.returncode != 0
    assert "Nền tảng không khởi động" in result.stderr
    assert "Đặt biến môi trường VNPAY_HASH_SECRET" in result.stderr


def test_demo_mode_is_explicit_and_accepts_the_defaults(tmp_path):
    assert run([*CQS, "check"], platform_env(tmp_path, CQS_DEMO="1")).returncode == 0


def test_starts_with_real_values(tmp_path):
    """With its own secrets and the local provider off, `cqs serve` starts and answers."""
    env = platform_env(tmp_path, **PRODUCTION)
    assert run([*CQS, "check"], env).returncode == 0
    assert run([sys.executable, "-c", "import chinhquyenso.wsgi"], env).returncode == 0
    port = _free_port()
    server = subprocess.Popen(
        [*CQS, "serve", "--port", str(port), "--workers", "1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=5
                ) as response:
                    assert response.status == 200
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"cqs serve did not start: {server.stderr.read()}")
                time.sleep(0.3)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


HTTPS = {
    **PRODUCTION,
    "CQS_PUBLIC_URL": "https://dichvucong.example.gov.vn",
    "ALLOWED_HOSTS": "dichvucong.example.gov.vn",
}


def test_check_deploy_passes_in_production_mode(tmp_path):
    result = run([*CQS, "check", "--deploy"], platform_env(tmp_path, **HTTPS))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert not result.stderr.strip()


def test_check_deploy_in_demo_mode_lists_what_production_needs(tmp_path):
    result = run([*CQS, "check", "--deploy"], platform_env(tmp_path, CQS_DEMO="1"))
    assert result.returncode == 0
    found = set(re.findall(r"\(([\w.]+\.W\d+)\)", result.stderr))
    assert found == {
        "cqs.W001",
        "security.W004",
        "security.W008",
        "security.W009",
        "security.W012",
        "security.W016",
        "oauth2_provider.W008",
    }


def test_https_behind_the_proxy_redirects_and_sends_hsts(tmp_path):
    """Production over https: plain HTTP is redirected, the proxy's X-Forwarded-Proto is
    believed, HSTS is sent, the CSRF cookie is Secure."""
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client(SERVER_NAME='dichvucong.example.gov.vn')\n"
        "r = c.get('/tra-cuu')\n"
        "print(r.status_code, r.headers.get('Location'))\n"
        "r = c.get('/dang-nhap', headers={'X-Forwarded-Proto': 'https'})\n"
        "print(r.status_code, r.headers.get('Strict-Transport-Security'))\n"
        "print(all(m['secure'] for m in r.cookies.values()), len(r.cookies))\n"
    )
    env = platform_env(tmp_path, DJANGO_SETTINGS_MODULE="chinhquyenso.settings", **HTTPS)
    run([*CQS, "migrate", "-v0"], env)
    result = run([sys.executable, "-c", script], env)
    assert result.returncode == 0, result.stderr
    redirect, hsts, cookies = result.stdout.splitlines()
    assert redirect == "301 https://dichvucong.example.gov.vn/tra-cuu"
    assert hsts == "200 max-age=31536000; includeSubDomains"
    assert cookies.startswith("True")


def test_importing_the_settings_writes_nothing(tmp_path):
    """No folder, no key file: not at import, not when the apps load."""
    var = tmp_path / "var"
    env = platform_env(tmp_path, CQS_DEMO="1", DJANGO_SETTINGS_MODULE="chinhquyenso.settings")
    result = run(
        [
            sys.executable,
            "-c",
            "import django; django.setup()\n"
            "from django.conf import settings\n"
            "print(settings.VAR_DIR, settings.CQS_LOCAL_IDP)",
        ],
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(var), "True"]
    assert not var.exists()
    assert list(tmp_path.iterdir()) == []


def test_local_provider_key_made_by_init_and_read_when_signing(tmp_path, settings):
    from chinhquyenso.portal import idpkey

    settings.VAR_DIR = tmp_path
    idpkey.private_key.cache_clear()
    try:
        pem = str(settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"])  # evaluated now, not before
        assert "BEGIN PRIVATE KEY" in pem
        assert (tmp_path / "idp-rsa.pem").read_text() == pem
    finally:
        idpkey.private_key.cache_clear()


def test_settings_load_where_the_var_folder_cannot_be_made(tmp_path):
    """A read-only deployment (here CQS_VAR_DIR under a file, which no one can create)."""
    (tmp_path / "file").write_text("")
    env = platform_env(
        tmp_path,
        CQS_DEMO="1",
        DJANGO_SETTINGS_MODULE="chinhquyenso.settings",
        CQS_VAR_DIR=str(tmp_path / "file" / "var"),
    )
    result = run([sys.executable, "-c", "import django; django.setup()"], env)
    assert result.returncode == 0, result.stderr
