"""Benchmark of the live service-quality index (issue 5) on PostgreSQL.

    .venv/bin/python bench/monitoring_bench.py [--dossiers 10000000] [--db cqs_bench_mon]
        [--requests 60] [--skip-rebuild]

1. Builds the database when it is missing or smaller than asked (`cqs init`,
   `cqs demo --dossiers N --seed 766`; check `df -h` first: 10M dossiers take ~9 GB), else
   reuses it; applies migrations.
2. Times the full recomputation (`services.rebuild`: every received dossier's fact from
   the raw rows, the cells, one transaction) and `services.verify` (recompute in memory,
   compare with the maintained cells; the differences must be 0).
3. Times the pinned API answer, `GET /api/v1/monitoring/index?unit=&period=`, in process
   through the Django test client with a monitor's bearer token (routing, auth, the query,
   the rules, JSON), for the province, the busiest agency and the busiest commune, for a
   month, a quarter and the year to date: p50 / p99 over --requests requests each.
4. Baseline in the same run: the raw SQL that computes the same dossier counts straight
   from `dossiers_dossier` (what a per-request recomputation would cost), run 3 times for
   the same units and periods; its received / on-time counts must equal the API's 2.1
   denominator / numerator (an independent check of the maintained figures).
5. Times the incremental path: `refresh()` consuming outbox events for 2,000 dossiers.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CQS = ROOT / ".venv" / "bin" / "cqs"
PERIODS = ("2026-10", "2026-Q3", "2026")


def ensure_db(db: str, n: int) -> None:
    import psycopg

    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{db}"')
    env = {**os.environ, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}",
           "CQS_DEMO": "1"}
    subprocess.run([CQS, "migrate", "--skip-checks", "-v", "0"], env=env, check=True, cwd=ROOT)
    with psycopg.connect(env["DATABASE_URL"]) as conn:
        have = conn.execute("SELECT count(*) FROM dossiers_dossier").fetchone()[0]
    if have >= n:
        print(f"reusing {db}: {have:,} dossiers")
        return
    subprocess.run([CQS, "init"], env=env, check=True, cwd=ROOT)
    t0 = time.perf_counter()
    subprocess.run([CQS, "demo", "--dossiers", str(n - have), "--seed", "766"], env=env,
                   check=True, cwd=ROOT)
    print(f"demo: {n - have:,} dossiers in {time.perf_counter() - t0:.0f} s")


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


BASELINE_SQL = """
SELECT count(*) AS received,
  count(*) FILTER (WHERE d.supplement_count <= 1 AND (
      CASE WHEN COALESCE(d.ended_at, LEAST(d.finished_at, d.returned_at),
                         CASE WHEN d.status = 5 THEN d.paused_at END) IS NULL
           THEN d.due_at IS NULL
                OR (d.due_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date >= %(as_of)s
           ELSE d.due_at IS NULL
                OR COALESCE(d.ended_at, LEAST(d.finished_at, d.returned_at), d.paused_at)
                   <= d.due_at END)) AS on_time,
  count(*) FILTER (WHERE d.fee > 0) AS fee,
  count(*) FILTER (WHERE d.fee > 0 AND d.paid_online) AS paid,
  count(*) FILTER (WHERE d.channel = 'online') AS online,
  count(*) FILTER (WHERE d.digitised) AS digitised,
  count(*) FILTER (WHERE d.electronic_result) AS eresult,
  count(*) FILTER (WHERE d.reused_data) AS reused,
  count(*) FILTER (WHERE d.rating = 'unsatisfied') AS unsatisfied
FROM dossiers_dossier d
WHERE d.received_at >= %(start)s AND d.received_at < %(end)s {agency}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dossiers", type=int, default=10_000_000)
    ap.add_argument("--db", default="cqs_bench_mon")
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--skip-rebuild", action="store_true")
    a = ap.parse_args()
    ensure_db(a.db, a.dossiers)

    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{a.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chinhquyenso.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from django.db import connection
    from django.test import Client

    from chinhquyenso.core import outbox
    from chinhquyenso.directory.models import Agency, AgencyKind, User
    from chinhquyenso.directory.services import add_user, create_token
    from chinhquyenso.dossiers.models import Dossier
    from chinhquyenso.monitoring import queries, services

    vn = ZoneInfo("Asia/Ho_Chi_Minh")
    rows = []
    total = Dossier.objects.count()
    print(f"dossiers: {total:,}")

    if not a.skip_rebuild:
        r = services.rebuild(progress=lambda n: print(f"  … {n:,}", flush=True))
        print(f"rebuild: {r}")
        rows.append(("full recomputation (`cqs monitoring rebuild`)", f"{r['seconds']} s",
                     f"{r['facts']:,} facts, {r['cells']:,} cells"))
    diffs, summary = services.verify()
    print(f"verify: {summary}")
    rows.append(("`cqs monitoring verify` (recompute in memory + compare)",
                 f"{summary['seconds']} s", f"{summary['differences']} differences"))

    with connection.cursor() as cur:
        cur.execute("SELECT agency_id, count(*) FROM dossiers_dossier GROUP BY 1 "
                    "ORDER BY 2 DESC")
        counts = cur.fetchall()
    kinds = dict(Agency.objects.values_list("id", "kind"))
    busiest_agency = next(i for i, _n in counts if kinds[i] != AgencyKind.COMMUNE)
    busiest_commune = next(i for i, _n in counts if kinds[i] == AgencyKind.COMMUNE)
    units = [("31", None, "province"),
             (Agency.objects.get(pk=busiest_agency).code, busiest_agency, "agency"),
             (Agency.objects.get(pk=busiest_commune).code, busiest_commune, "commune")]

    user = User.objects.filter(username="bench_monitor").first() or add_user(
        username="bench_monitor", role="monitor", full_name="Giám sát (bench)")
    client = Client()
    headers = {"Authorization": f"Bearer {create_token(user=user)}"}
    for unit, agency_id, label in units:
        for period in PERIODS:
            times = []
            body = None
            for _ in range(a.requests):
                t0 = time.perf_counter()
                resp = client.get("/api/v1/monitoring/index", {"unit": unit, "period": period},
                                  headers=headers)
                times.append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 200, resp.content
                body = resp.json()
            ind = {i["code"]: i for g in body["groups"] for i in g["indicators"]}
            p = queries.get_period(period)
            start = datetime(p.start.year, p.start.month, 1, tzinfo=vn)
            end = datetime.combine(p.end + timedelta(days=1), datetime.min.time(), tzinfo=vn)
            sql = BASELINE_SQL.format(agency="AND d.agency_id = %(agency)s" if agency_id else "")
            base = []
            with connection.cursor() as cur:
                for _ in range(3):
                    t0 = time.perf_counter()
                    cur.execute(sql, {"as_of": p.as_of, "start": start, "end": end,
                                      "agency": agency_id})
                    got = cur.fetchone()
                    base.append((time.perf_counter() - t0) * 1000)
            same = (got[0], got[1]) == (ind["2.1"]["denominator"], ind["2.1"]["numerator"])
            line = (f"{label} {unit} {period}: API p50 {pct(times, 50):.1f} ms, p99 "
                    f"{pct(times, 99):.1f} ms; raw SQL p50 {statistics.median(base):.0f} ms; "
                    f"2.1 {ind['2.1']['numerator']}/{ind['2.1']['denominator']} "
                    f"(SQL {got[1]}/{got[0]}: {'same' if same else 'DIFFERENT'}); "
                    f"total {body['total']}")
            print(line, flush=True)
            rows.append((f"index {label} {period}", f"p50 {pct(times, 50):.1f} ms, p99 "
                         f"{pct(times, 99):.1f} ms",
                         f"raw SQL {statistics.median(base):.0f} ms; counts "
                         f"{'equal' if same else 'DIFFERENT'}"))

    # incremental: 2,000 dossiers touched (one outbox event each), then one refresh
    ids = list(Dossier.objects.filter(received_at__isnull=False).order_by("-id")
               .values_list("id", flat=True)[:2000])
    from django.db import transaction

    with transaction.atomic():
        for d in Dossier.objects.filter(pk__in=ids).only("id", "code"):
            outbox.publish("dossier.bench", d, {"status": None})
    t0 = time.perf_counter()
    n = services.refresh()
    sec = time.perf_counter() - t0
    print(f"refresh: {n} events in {sec:.2f} s")
    rows.append(("`refresh()` after 2,000 dossier events", f"{sec:.2f} s",
                 f"{n / sec:,.0f} events/s"))
    diffs, summary = services.verify()
    rows.append(("verify after the refresh", f"{summary['seconds']} s",
                 f"{summary['differences']} differences"))

    print("\n| what | measured | baseline / check |\n| --- | --- | --- |")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")


if __name__ == "__main__":
    main()
