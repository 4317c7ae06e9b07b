"""The background work of a payment runs in the worker process (`cqs worker`), not in the
web process: here the real worker, as a separate process on the database backend of
django-tasks, delivers the citizen's "payment received" notification (an enqueued task) and
numbers the e-receipt (a periodic job)."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from chinhquyenso.core.models import Notification
from chinhquyenso.payments.models import Receipt
from tests.payments.test_payments import ipn, ipn_params, pay

ROOT = Path(__file__).resolve().parents[2]
DB_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def worker_database(tmp_path) -> tuple[str, callable]:
    """The URL the worker process uses for the test's database, and a way to read it back:
    PostgreSQL's test database itself; SQLite's in-memory one copied to a file."""
    s = connection.settings_dict
    if connection.vendor == "postgresql":
        url = f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"

        def read(sql):
            with connection.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()

        return url, read
    path = tmp_path / "worker.sqlite3"
    with sqlite3.connect(path) as copy:
        connection.ensure_connection()
        connection.connection.backup(copy)

    def read(sql):
        with sqlite3.connect(path) as db:
            return db.execute(sql).fetchall()

    return f"sqlite:///{path}", read


@pytest.mark.django_db(transaction=True)
def test_the_worker_process_delivers_the_notice_and_numbers_the_receipt(
    api, people, dossier_code, settings, tmp_path
):
    settings.TASKS = DB_BACKEND  # what a web process does: enqueue, not run
    order = pay(api, dossier_code)
    assert ipn(ipn_params(order))["RspCode"] == "00"
    notice = Notification.objects.get(user=people["citizen"], title__startswith="Đã nhận thanh")
    assert notice.email_to and notice.emailed_at is None  # enqueued, not sent by the request
    assert Receipt.objects.get(order=order).number is None
    url, read = worker_database(tmp_path)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CQS_DEMO": "1",
        "PYTHONUNBUFFERED": "1",
        "CQS_VAR_DIR": str(tmp_path / "var"),
        "CQS_WORKER_INTERVAL": "0.2",
        "CQS_TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "chinhquyenso.cli", "worker", "--max-seconds", "90"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and worker.poll() is None:
            sent = read(f"SELECT emailed_at FROM core_notification WHERE id = {notice.pk}")
            numbered = read(f"SELECT number FROM payments_receipt WHERE order_id = {order.pk}")
            if sent[0][0] is not None and numbered[0][0] is not None:
                break
            time.sleep(0.5)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        out = worker.communicate(timeout=30)[0]
    assert sent[0][0] is not None, out
    assert numbered[0][0] == 1, out
    assert f"To: {notice.email_to}" in out  # the console mail backend, in the worker
    tasks = read("SELECT status FROM django_tasks_database_dbtaskresult")
    assert tasks and all(status == "SUCCESSFUL" for (status,) in tasks), (tasks, out)
    assert "Tiến trình nền dừng." in out  # SIGTERM: stopped cleanly
