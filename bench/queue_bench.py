#!/usr/bin/env python3
"""The officer's queue and the public look-up over HTTP (issue 10 §7), each beside its raw
PostgreSQL baseline in the same run, and the SQL statements one request runs.

    python bench/queue_bench.py [--db cqs_bench_prod] [--dossiers 1000000] [--reuse]
                                [--runs 2] [--duration 20] [--throttle-lookup 0]

Without --reuse: (re)creates the database, `cqs init`, `cqs demo --dossiers N`, VACUUM
ANALYZE. Then `cqs serve` (granian, 2 workers × 4 threads) and, for each run:
- GET /api/v1/queue?page=1 as a receiver of the agency with the most open dossiers (wrk, 2
  threads, 16 connections), then pgbench (16 clients) running the page's own SELECT;
- GET /api/v1/lookup/{code} of random codes, then pgbench running the same SELECT by
  primary key, and the ratio of the two rates.
Before the runs, in this process on the same database: the SQL statements of one queue
request and of one look-up (CaptureQueriesContext) and their serial time per request. Those
counts are what tests/dossiers/test_request_cost.py holds in `make test`.
"""

import argparse
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
PG = "postgres://postgres@127.0.0.1:5432"
CQS = [sys.executable, "-m", "chinhquyenso.cli"]
CONNECTIONS = 16
OPEN = "1,2,4,5,6,9"  # dossiers.models.OPEN_STATUSES


def sh(*args, env) -> str:
    out = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{out.stderr}")
    return out.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url: str, duration: int, script: Path) -> tuple[float, float, int]:
    """(requests per second, p99 in ms, non-2xx responses) from `wrk --latency`."""
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", "-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, float(p99.group(1)) * scale, int(non2xx.group(1)) if non2xx else 0


def group_cpu(pgid: int) -> float:
    """Seconds of CPU used so far by the processes of a process group (the server and its
    granian workers): per request, the figure a shared machine's load does not change."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp; utime and stime follow at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backends_cpu(db_url: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the benchmark's database (same
    machine: /proc), but this connection's."""
    with psycopg.connect(db_url, autocommit=True) as c:
        pids = [
            r[0]
            for r in c.execute(
                "select pid from pg_stat_activity where datname = current_database()"
                " and pid <> pg_backend_pid()"
            )
        ]
    return {pid: _proc_cpu(pid) for pid in pids}


def pgbench(db_url: str, sql: str, duration: int) -> tuple[float, float]:
    """(transactions per second, p99 in ms) of pgbench running `sql`, 16 clients."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "q.sql"
        script.write_text(sql)
        out = subprocess.run(
            [
                "pgbench",
                "-n",
                "-c",
                str(CONNECTIONS),
                "-j",
                "2",
                "-T",
                str(duration),
                "-f",
                str(script),
                "-l",
                "--log-prefix",
                f"{tmp}/log",
                db_url,
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
            check=True,
        ).stdout
        tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
        lat = []
        for f in Path(tmp).glob("log*"):
            lat += [int(line.split()[2]) for line in f.read_text().splitlines()]
        lat.sort()
        return tps, lat[int(len(lat) * 0.99)] / 1000 if lat else float("nan")


def in_process(env: dict, token: str, code: str) -> None:
    """SQL statements and serial time of one request of each kind, in this process."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chinhquyenso.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    for label, url, headers in [
        ("queue", "/api/v1/queue?page=1", {"HTTP_AUTHORIZATION": f"Bearer {token}"}),
        ("lookup", f"/api/v1/lookup/{code}", {}),
    ]:
        for _ in range(20):  # warm: caches, the token's last_used_at
            client.get(url, **headers)
        with CaptureQueriesContext(connection) as queries:
            status = client.get(url, **headers).status_code
        statements = [q["sql"] for q in queries.captured_queries]  # before the next request
        n = 200
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(n):
            client.get(url, **headers)
        wall = (time.perf_counter() - wall) / n * 1000
        cpu = (time.process_time() - cpu) / n * 1000
        print(
            f"{label}: HTTP {status}, {len(statements)} SQL statement(s) per request; serial, "
            f"in-process: {wall:.2f} ms per request, {cpu:.2f} ms of it CPU (Python)"
        )
        for sql in statements:
            print(f"    {sql[:150]}")
    connection.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="cqs_bench_prod")
    ap.add_argument("--dossiers", type=int, default=1_000_000)
    ap.add_argument("--reuse", action="store_true", help="keep the existing database")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", choices=["queue", "lookup"], action="append")
    ap.add_argument(
        "--addresses",
        type=int,
        default=0,
        help="look-ups from this many client addresses (X-Forwarded-For through a "
        "trusted proxy, as behind a load balancer); 0: all from 127.0.0.1",
    )
    ap.add_argument("--token", help="a receiver's token of the busiest agency (else made here)")
    ap.add_argument(
        "--throttle-lookup",
        default="1000000000/1m",
        help="CQS_THROTTLE_LOOKUP for the server: the default counts every "
        "look-up (the throttle's cost) without ever refusing one; 0: off",
    )
    args = ap.parse_args()
    if not shutil.which("wrk") or not shutil.which("pgbench"):
        raise SystemExit("needs wrk and pgbench: apt-get install -y wrk postgresql-client")
    only = set(args.only or ["queue", "lookup"])
    db = f"{PG}/{args.db}"
    env = {
        **os.environ,
        "DATABASE_URL": db,
        "CQS_VAR_DIR": tempfile.mkdtemp(),
        "CQS_DEMO": "1",
        "CQS_THROTTLE_LOOKUP": args.throttle_lookup,
        "CQS_TRUSTED_PROXIES": "127.0.0.1" if args.addresses else "",
    }
    if not args.reuse:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
            c.execute(f"CREATE DATABASE {args.db}")
        sh(*CQS, "init", env=env)
        sh(*CQS, "demo", "--dossiers", str(args.dossiers), env=env)
        with psycopg.connect(db, autocommit=True) as c:
            c.execute("VACUUM ANALYZE")
    else:
        sh(*CQS, "migrate", "-v0", env=env)
    with psycopg.connect(db) as c:
        n = c.execute("select count(*) from dossiers_dossier").fetchone()[0]
        codes = [
            r[0]
            for r in c.execute(
                "select code from dossiers_dossier tablesample system (1) limit 20000"
            )
        ]
        lo, hi = c.execute("select min(id), max(id) from dossiers_dossier").fetchone()
        agency_id, agency, open_n = c.execute(
            "select a.id, a.code, count(*) from dossiers_dossier d join directory_agency a"
            f" on a.id = d.current_agency_id where d.status in ({OPEN})"
            " group by a.id, a.code order by count(*) desc limit 1"
        ).fetchone()
    token = args.token
    if not token:
        user = f"bench_q_{os.getpid()}"
        sh(
            *CQS,
            "user",
            "add",
            "--username",
            user,
            "--role",
            "receiver",
            "--agency",
            agency,
            env=env,
        )
        token = sh(*CQS, "token", "create", "--user", user, env=env).strip()
    print(
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, {n:,} dossiers; queue "
        f"of {agency} ({open_n:,} open dossiers); CQS_THROTTLE_LOOKUP={args.throttle_lookup},"
        f" look-ups from {args.addresses or 1} address(es)"
    )
    in_process(env, token, codes[0])
    page_sql = (
        "SELECT d.code, d.status, p.name, d.applicant_name, d.submitted_at, d.due_at"
        " FROM dossiers_dossier d JOIN catalog_procedure p ON p.id = d.procedure_id"
        f" WHERE d.current_agency_id = {agency_id} AND d.status IN ({OPEN})"
        " ORDER BY d.due_at ASC NULLS LAST, d.id ASC LIMIT 20;\n"
    )
    lookup_sql = (
        f"\\set id random({lo}, {hi})\n"
        "SELECT d.code, d.status, d.submitted_at, d.received_at, d.due_at, d.returned_at,"
        " p.code, p.name, a.code, a.name FROM dossiers_dossier d"
        " JOIN catalog_procedure p ON p.id = d.procedure_id"
        " JOIN directory_agency a ON a.id = d.agency_id WHERE d.id = :id;\n"
    )
    port = free_port()
    server = subprocess.Popen(
        [
            *CQS,
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:  # collectstatic, then granian's workers
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("cqs serve did not start") from None
                time.sleep(0.5)
        time.sleep(1)
        with tempfile.TemporaryDirectory() as tmp:
            queue_lua = Path(tmp) / "queue.lua"
            queue_lua.write_text(
                f"wrk.headers['Authorization'] = 'Bearer {token}'\n"
                "request = function()\n"
                "  return wrk.format('GET', '/api/v1/queue?page=1')\nend\n"
            )
            random.shuffle(codes)
            lookup_lua = Path(tmp) / "lookup.lua"
            lookup_lua.write_text(
                "codes = {" + ",".join(json.dumps(c) for c in codes) + "}\n"
                "request = function()\n  return wrk.format('GET', '/api/v1/lookup/' .."
                " codes[math.random(#codes)], headers)\nend\n"
            )
            headers = "headers = {}\n"
            if args.addresses:  # clients behind a trusted proxy: one throttle row each
                headers = (
                    "headers = {}\nfunction address()\n"
                    f"  local n = math.random({args.addresses})\n"
                    "  return '10.' .. math.floor(n / 65536) .. '.' .."
                    " (math.floor(n / 256) % 256) .. '.' .. (n % 256)\nend\n"
                )
                lua = lookup_lua.read_text().replace(
                    "request = function()\n",
                    "request = function()\n  headers['X-Forwarded-For'] = address()\n",
                )
            else:
                lua = lookup_lua.read_text()
            lookup_lua.write_text(headers + lua)
            wrk(base, 3, queue_lua)  # warm up both workers
            for run in range(1, args.runs + 1):
                if "queue" in only:
                    cpu, pg = group_cpu(server.pid), backends_cpu(db)
                    rps, p99, bad = wrk(base, args.duration, queue_lua)
                    cpu = (group_cpu(server.pid) - cpu) / (rps * args.duration) * 1000
                    pg = sum(v - pg.get(k, 0) for k, v in backends_cpu(db).items())
                    pg = pg / (rps * args.duration) * 1000
                    tps, pg99 = pgbench(db, page_sql, args.duration)
                    print(
                        f"run {run} queue: {rps:,.0f} req/s, p99 {p99:.1f} ms"
                        f"{f', {bad} non-2xx' if bad else ''}, CPU per request: server"
                        f" {cpu:.2f} ms,"
                        f" PostgreSQL {pg:.2f} ms"
                        " | pgbench page SELECT: "
                        f"{tps:,.0f} tps, p99 {pg99:.2f} ms | ratio {rps / tps:.3f}"
                    )
                if "lookup" in only:
                    cpu, pg = group_cpu(server.pid), backends_cpu(db)
                    rps, p99, bad = wrk(base, args.duration, lookup_lua)
                    cpu = (group_cpu(server.pid) - cpu) / (rps * args.duration) * 1000
                    pg = sum(v - pg.get(k, 0) for k, v in backends_cpu(db).items())
                    pg = pg / (rps * args.duration) * 1000
                    tps, pg99 = pgbench(db, lookup_sql, args.duration)
                    print(
                        f"run {run} lookup: {rps:,.0f} req/s, p99 {p99:.1f} ms"
                        f"{f', {bad} non-2xx' if bad else ''}, CPU per request: server"
                        f" {cpu:.2f} ms,"
                        f" PostgreSQL {pg:.2f} ms"
                        " | pgbench same SELECT: "
                        f"{tps:,.0f} tps, p99 {pg99:.2f} ms | ratio {rps / tps:.2f}"
                    )
                sys.stdout.flush()
    finally:
        os.killpg(server.pid, 15)


if __name__ == "__main__":
    main()
