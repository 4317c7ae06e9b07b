"""A real platform for black-box tests: a throwaway database set up with `cqs init`, users
and tokens made with `cqs user add` / `cqs token create`, and `cqs serve` (granian) started
and killed as an operator would. PostgreSQL when DATABASE_URL names it, else SQLite."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from chinhquyenso.catalog.formschema import example_form_data

ROOT = Path(__file__).resolve().parents[2]
CQS = [sys.executable, "-m", "chinhquyenso.cli"]
BASE_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = BASE_URL.startswith("postgres")


@pytest.fixture(autouse=True)
def clock():
    """These tests drive real servers in other processes: they run on the wall clock (the
    suite's frozen clock would not reach those processes). Check them on other days with
    Debian's faketime, which every child process inherits."""
    yield None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Platform:
    def __init__(self, env: dict):
        self.env = env
        self.port = free_port()
        # The local VNPAY sandbox this platform pays through (started by the `sandbox`
        # fixture when a test needs it).
        self.sandbox_port = free_port()
        sandbox = f"http://127.0.0.1:{self.sandbox_port}"
        env.update(VNPAY_PAYMENT_URL=f"{sandbox}/paymentv2/vpcpay.html",
                   VNPAY_API_URL=f"{sandbox}/merchant_webapi/api/transaction",
                   VNPAY_SETTLEMENT_URL=f"{sandbox}/settlement",
                   CQS_PUBLIC_URL=f"http://127.0.0.1:{self.port}")
        self.proc: subprocess.Popen | None = None
        self.tokens: dict[str, str] = {}

    def cqs(self, *args: str) -> str:
        out = subprocess.run([*CQS, *args], env=self.env, cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout

    def start(self):
        self.proc = subprocess.Popen(
            [*CQS, "serve", "--port", str(self.port), "--workers", "2"], env=self.env,
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _ = self.request("GET", "/api/v1/procedures?q=khai+sinh")
                if status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("cqs serve did not start")

    def kill(self):
        """SIGKILL the server and its workers: no clean shutdown."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            self.proc = None

    def stop(self):
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method, path, body=None, user=None, headers=None, conn=None):
        own = conn is None
        conn = conn or self.connection()
        h = {"Content-Type": "application/json", **(headers or {})}
        if user:
            h["Authorization"] = f"Bearer {self.tokens[user]}"
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers=h)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, (json.loads(data) if data else None)
        finally:
            if own:
                conn.close()

    def procedure_and_agency(self, code="1.001193"):
        status, p = self.request("GET", f"/api/v1/procedures/{code}")
        assert status == 200, p
        return p, p["agencies"][0]


def submission(procedure: dict, agency: str, n: int = 0) -> dict:
    return {
        "procedure": procedure["code"], "agency": agency,
        "applicant": {"full_name": f"Nguyễn Văn Thử {n}", "id_number": "001099012345",
                      "phone": "0912345678", "email": "thu@example.vn",
                      "address": "Phường Hồng Bàng, Hải Phòng"},
        "form": example_form_data(procedure["form_schema"]),
    }


@contextmanager
def platform_env(tmp: Path, prefix: str, **extra):
    """The environment of a throwaway platform: its own var/ folder and, on PostgreSQL, its
    own database (dropped afterwards)."""
    env = {**os.environ, "CQS_VAR_DIR": str(tmp), "DJANGO_SETTINGS_MODULE":
           "chinhquyenso.settings", "PYTHONPATH": str(ROOT / "src"), **extra}
    dbname = admin = None
    if ON_POSTGRES:
        dbname = f"{prefix}_{uuid.uuid4().hex[:8]}"
        admin = BASE_URL.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f"CREATE DATABASE {dbname}")
        env["DATABASE_URL"] = BASE_URL.rsplit("/", 1)[0] + "/" + dbname
    else:
        env.pop("DATABASE_URL", None)
    try:
        yield env
    finally:
        if dbname:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


@pytest.fixture(scope="session")
def platform(tmp_path_factory):
    with platform_env(tmp_path_factory.mktemp("live"), "cqs_live") as env:
        p = Platform(env)
        p.cqs("init", "--province", "31")
        _, agency = _first_agency(p)
        for name, role, ag in [("citizen", "citizen", None), ("receiver", "receiver", agency),
                               ("receiver2", "receiver", agency)]:
            args = ["user", "add", "--username", name, "--role", role]
            if role == "citizen":  # the applicant of an online dossier is the account's person
                args += ["--full-name", "Nguyễn Văn Thử", "--id-number", "001099012345"]
            p.cqs(*(args + (["--agency", ag] if ag else [])))
            p.tokens[name] = p.cqs("token", "create", "--user", name).strip()
        p.start()
        yield p
        p.stop()


def _first_agency(p: Platform):
    script = ("from chinhquyenso.catalog.models import Procedure as P;"
              "p=P.objects.get(code='1.001193');print(p.agencies.order_by('code')[0].code)")
    return None, p.cqs("shell", "--no-imports", "-c", script).strip()


def start_sandbox(platform: Platform, db: Path) -> subprocess.Popen:
    """`cqs payments sandbox`, calling this platform's IPN endpoint; returns once it listens."""
    proc = subprocess.Popen(
        [*CQS, "payments", "sandbox", "--port", str(platform.sandbox_port), "--db", str(db),
         "--ipn-url", f"http://127.0.0.1:{platform.port}/api/v1/payments/vnpay/ipn"],
        env=platform.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", platform.sandbox_port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    return proc


@pytest.fixture(scope="session")
def sandbox(platform, tmp_path_factory):
    proc = start_sandbox(platform, tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3")
    yield f"http://127.0.0.1:{platform.sandbox_port}"
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)
