#!/usr/bin/env python3
"""Issue 4: the officer queue page /can-bo/ with the 20,000-dossier demo database, on
PostgreSQL, with a baseline in the same run.

    python bench/backoffice_bench.py [--dossiers 20000] [--requests 300] [--reuse]

Creates (or with --reuse keeps) the database `cqs_bo_bench` on 127.0.0.1:5432, runs
`cqs init` and `cqs demo --dossiers N --seed 4`, then, in this process, requests the queue
page as the demo officers through the whole Django stack (sessions, authentication, CSP
middleware, template) with the test client, cycling through the page variants an officer
uses (first page, a status, page 3, overdue, due soon, search by name, by code). The baseline
is the same reads as raw SQL through psycopg (the page's rows, the bounded count, the counts
by status), timed the same way. Prints p50/p95 of each. Nothing here runs in `make test`.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG = "postgres://postgres@127.0.0.1:5432"
DB = "cqs_bo_bench"
CQS = [sys.executable, "-m", "chinhquyenso.cli"]


def sh(*args, env) -> str:
    out = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{out.stderr}")
    return out.stdout


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def demo_database():
    """Parse the common options; make (or with --reuse keep) the 20,000-dossier demo database
    and set Django up on it. Shared by the portal's benchmark."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--dossiers", type=int, default=20_000)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--reuse", action="store_true")
    a = ap.parse_args()
    env = {**os.environ, "DATABASE_URL": f"{PG}/{DB}", "DJANGO_SETTINGS_MODULE":
           "chinhquyenso.settings", "CQS_VAR_DIR": "/tmp/cqs_bo_bench_var", "CQS_DEMO": "1"}
    import psycopg

    if not a.reuse:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {DB}")
            c.execute(f"CREATE DATABASE {DB}")
        sh(*CQS, "init", env=env)
        sh(*CQS, "demo", "--dossiers", str(a.dossiers), "--seed", "4", "--no-progress", env=env)
    os.environ.update(env)
    import django

    django.setup()
    return a


def main() -> None:
    a = demo_database()
    import psycopg
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.utils import timezone

    from chinhquyenso.directory.models import User
    from chinhquyenso.dossiers.models import OPEN_STATUSES, Dossier

    setup_test_environment()
    print(f"PostgreSQL {connection.cursor().connection.info.server_version}, "
          f"{Dossier.objects.count()} dossiers, {os.cpu_count()} cores")
    now = timezone.now()
    # The worst case: a receiver of the agency holding the most open dossiers.
    from django.db.models import Count

    from chinhquyenso.directory.models import Agency
    from chinhquyenso.directory.services import add_user

    busiest = (Dossier.objects.filter(status__in=OPEN_STATUSES).values("current_agency")
               .annotate(n=Count("id")).order_by("-n").first())
    add_user(username="bench_tiepnhan", role="receiver",
             agency=Agency.objects.get(pk=busiest["current_agency"]).code,
             full_name="Cán bộ đo hiệu năng (dữ liệu mẫu)")
    for username in ("tiepnhan", "tiepnhan_stp", "bench_tiepnhan"):
        user = User.objects.get(username=username)
        open_n = Dossier.objects.filter(current_agency=user.agency,
                                        status__in=OPEN_STATUSES).count()
        some = Dossier.objects.filter(current_agency=user.agency,
                                      status__in=OPEN_STATUSES).order_by("id").first()
        name = (some.applicant_name.split()[-1] if some else "An")
        code = some.code if some else "x"
        variants = ["/can-bo/", "/can-bo/?status=2", "/can-bo/?page=3", "/can-bo/?overdue=1",
                    "/can-bo/?due_soon=1", f"/can-bo/?q={name}", f"/can-bo/?q={code}"]
        c = Client()
        c.force_login(user)
        for v in variants:  # warm up
            assert c.get(v).status_code == 200, v
        page_ms = []
        for i in range(a.requests):
            t = time.perf_counter()
            r = c.get(variants[i % len(variants)])
            page_ms.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200
        # Baseline: the same reads, raw SQL (first page, bounded count, counts by status).
        statuses = tuple(OPEN_STATUSES)
        sql_ms = []
        with psycopg.connect(f"{PG}/{DB}") as pc:
            for i in range(a.requests):
                t = time.perf_counter()
                offset = 40 if i % len(variants) == 2 else 0
                pc.execute(
                    "SELECT d.id, d.code, d.status, p.name, d.applicant_name, d.submitted_at,"
                    " d.due_at, d.channel FROM dossiers_dossier d JOIN catalog_procedure p"
                    " ON p.id = d.procedure_id WHERE d.current_agency_id = %s AND d.status ="
                    " ANY(%s) ORDER BY d.due_at ASC NULLS LAST, d.id LIMIT 20 OFFSET %s",
                    [user.agency_id, list(statuses), offset]).fetchall()
                pc.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM dossiers_dossier WHERE"
                    " current_agency_id = %s AND status = ANY(%s) LIMIT 1001) s",
                    [user.agency_id, list(statuses)]).fetchone()
                pc.execute(
                    "SELECT status, count(*) FROM dossiers_dossier WHERE current_agency_id = %s"
                    " AND status = ANY(%s) GROUP BY status", [user.agency_id, list(statuses)]
                ).fetchall()
                sql_ms.append((time.perf_counter() - t) * 1000)
        print(f"{username} ({user.agency.name}, {open_n} open dossiers in its queue, at "
              f"{now:%Y-%m-%d}):")
        print(f"  queue page /can-bo/ (7 variants, {a.requests} requests): "
              f"p50 {statistics.median(page_ms):.1f} ms, p95 {pct(page_ms, 95):.1f} ms, "
              f"max {max(page_ms):.1f} ms")
        print(f"  baseline raw SQL, same reads: p50 {statistics.median(sql_ms):.2f} ms, "
              f"p95 {pct(sql_ms, 95):.2f} ms")


if __name__ == "__main__":
    main()
