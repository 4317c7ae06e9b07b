#!/usr/bin/env python3
"""Benchmarks of issue 3 §7 on PostgreSQL, with a baseline in the same run.

    python bench/api_bench.py [--dossiers 1000000] [--queue-dossiers 5000000] [--duration 20]

Creates (or with --reuse keeps) the database `cqs_bench` on 127.0.0.1:5432, runs `cqs init`
and `cqs demo`, starts `cqs serve` (granian, 2 workers) and drives it with wrk (Debian
package `wrk`; `make bench` installs it), 16 connections, on this same machine:
- status look-up GET /api/v1/lookup/{code} of random codes, beside pgbench running the same
  SELECT on the same rows, and the ratio;
- submission POST /api/v1/dossiers, spread over the agencies that accept the procedure
  (a province's load) and, as the worst case, all to one agency;
- officer queue first page GET /api/v1/queue with --queue-dossiers in the database.
Prints one line per figure. Nothing here runs in `make test`.
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

from chinhquyenso.catalog.formschema import example_form_data

ROOT = Path(__file__).resolve().parents[1]
PG = "postgres://postgres@127.0.0.1:5432"
CQS = [sys.executable, "-m", "chinhquyenso.cli"]
CONNECTIONS = 16


def sh(*args, env, capture=True) -> str:
    out = subprocess.run(args, env=env, cwd=ROOT, capture_output=capture, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{out.stderr}")
    return out.stdout if capture else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url: str, duration: int, script: Path | None = None) -> tuple[float, float]:
    """(requests per second, p99 in ms) from `wrk --latency`."""
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency"]
    if script:
        args += ["-s", str(script)]
    out = subprocess.run([*args, url], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        print(f"  warning: {non2xx.group(1)} non-2xx responses", file=sys.stderr)
    return rps, float(p99.group(1)) * scale


def pgbench(db_url: str, sql: str, duration: int) -> tuple[float, float]:
    """(transactions per second, p99 in ms) of pgbench running `sql`, 16 clients."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "q.sql"
        script.write_text(sql)
        out = subprocess.run(["pgbench", "-n", "-c", str(CONNECTIONS), "-j", "2", "-T",
                              str(duration), "-f", str(script), "-l", "--log-prefix",
                              f"{tmp}/log", db_url],
                             capture_output=True, text=True, cwd=tmp, check=True).stdout
        tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
        lat = []
        for f in Path(tmp).glob("log*"):
            lat += [int(line.split()[2]) for line in f.read_text().splitlines()]
        lat.sort()
        return tps, lat[int(len(lat) * 0.99)] / 1000 if lat else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dossiers", type=int, default=1_000_000)
    ap.add_argument("--queue-dossiers", type=int, default=5_000_000)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2, help="granian worker processes")
    ap.add_argument("--threads", type=int, default=2, help="blocking threads per worker")
    ap.add_argument("--reuse", action="store_true", help="keep an existing cqs_bench database")
    ap.add_argument("--db", default="cqs_bench",
                    help="database name (another name keeps parallel runs apart)")
    ap.add_argument("--only", choices=["lookup", "submission", "queue"], action="append",
                    help="measure only these figures (repeatable); default: all")
    args = ap.parse_args()
    if not shutil.which("wrk") or not shutil.which("pgbench"):
        raise SystemExit("needs wrk and pgbench: apt-get install -y wrk postgresql-client")
    db = f"{PG}/{args.db}"
    only = set(args.only or ["lookup", "submission", "queue"])
    env = {**os.environ, "DATABASE_URL": db, "CQS_VAR_DIR": tempfile.mkdtemp(), "CQS_DEMO": "1"}
    if not args.reuse:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
            c.execute(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
            c.execute(f"CREATE DATABASE {args.db}")
        sh(*CQS, "init", env=env)
        t = time.perf_counter()
        sh(*CQS, "demo", "--dossiers", str(args.dossiers), env=env)
        print(f"demo --dossiers {args.dossiers}: {time.perf_counter() - t:.1f} s")
    with psycopg.connect(db) as c:
        n = c.execute("select count(*) from dossiers_dossier").fetchone()[0]
        codes = [r[0] for r in c.execute(
            "select code from dossiers_dossier tablesample system (1) limit 20000")]
        lo, hi = c.execute("select min(id), max(id) from dossiers_dossier").fetchone()
        busiest = c.execute(
            "select a.code from dossiers_dossier d join directory_agency a"
            " on a.id = d.current_agency_id where d.status in (1,2,4,5,6,9)"
            " group by a.code order by count(*) desc limit 1").fetchone()[0]
        proc_code, agency_code = c.execute(
            "select p.code, a.code from catalog_procedure p join catalog_procedure_agencies pa"
            " on pa.procedure_id = p.id join directory_agency a on a.id = pa.agency_id"
            " where p.code = '1.001193' limit 1").fetchone()
    print(f"dossiers in the database: {n:,}")
    # The applicant of an online dossier is the signed-in citizen (issue 10 §5): the bench
    # citizen carries the identity number the submissions name.
    sh(*CQS, "user", "add", "--username", "bench_citizen", "--role", "citizen",
       "--full-name", "Nguyễn Văn Đo Tải", "--id-number", "000000000001", env=env)
    sh(*CQS, "user", "add", "--username", "bench_receiver", "--role", "receiver",
       "--agency", busiest, env=env)
    citizen = sh(*CQS, "token", "create", "--user", "bench_citizen", env=env).strip()
    receiver = sh(*CQS, "token", "create", "--user", "bench_receiver", env=env).strip()
    port = free_port()
    server = subprocess.Popen([*CQS, "serve", "--port", str(port), "--workers", str(args.workers),
                               "--threads", str(args.threads)], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a loaded machine starts the server slowly
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(1)
        with tempfile.TemporaryDirectory() as tmp:
            random.shuffle(codes)
            lua = Path(tmp) / "lookup.lua"
            lua.write_text("codes = {" + ",".join(json.dumps(c) for c in codes) + "}\n"
                           "request = function()\n"
                           "  return wrk.format('GET', '/api/v1/lookup/' .."
                           " codes[math.random(#codes)])\nend\n")
            wrk(f"{base}/api/v1/procedures", 2)  # warm up
            select = (
                "\\set id random(" + f"{lo}, {hi})\n"
                "SELECT d.code, d.status, d.received_at, d.due_at, d.submitted_at,"
                " d.returned_at, d.finished_at, p.code, p.name, a.code, a.name"
                " FROM dossiers_dossier d JOIN catalog_procedure p ON p.id = d.procedure_id"
                " JOIN directory_agency a ON a.id = d.agency_id WHERE d.id = :id;\n")
            if "lookup" in only:
                rps, p99 = wrk(base, args.duration, lua)
                tps, pg99 = pgbench(db, select, args.duration)
                print(f"lookup: {rps:,.0f} req/s, p99 {p99:.1f} ms | pgbench same SELECT: "
                      f"{tps:,.0f} tps, p99 {pg99:.2f} ms | ratio API/pgbench {rps / tps:.2f}")
            schema = json.loads(subprocess.run(
                ["curl", "-s", f"{base}/api/v1/procedures/{proc_code}"], capture_output=True,
                text=True).stdout)["form_schema"]
            body = json.dumps({
                "procedure": proc_code, "agency": agency_code,
                "applicant": {"full_name": "Nguyễn Văn Đo Tải", "id_number": "000000000001"},
                "form": example_form_data(schema)})
            probe = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                    "-X", "POST", "-H", "Content-Type: application/json",
                                    "-H", f"Authorization: Bearer {citizen}", "-d", body,
                                    f"{base}/api/v1/dossiers"], capture_output=True, text=True)
            if probe.stdout != "201":
                raise SystemExit(f"submission probe answered {probe.stdout}, not 201")
            agencies = json.loads(subprocess.run(
                ["curl", "-s", f"{base}/api/v1/procedures/{proc_code}"], capture_output=True,
                text=True).stdout)["agencies"]
            template = body.replace(agency_code, "AGENCY_CODE")
            for label, pool in [(f"spread over the {len(agencies)} agencies that accept it",
                                 agencies), ("all to one agency (worst case)", [agency_code])]:
                if "submission" not in only:
                    break
                sub = Path(tmp) / "submit.lua"
                sub.write_text(
                    "agencies = {" + ",".join(json.dumps(a) for a in pool) + "}\n"
                    f"template = {json.dumps(template)}\n"
                    "headers = {['Content-Type'] = 'application/json',"
                    f" ['Authorization'] = 'Bearer {citizen}'}}\n"
                    "request = function()\n"
                    "  local a = agencies[math.random(#agencies)]\n"
                    "  local b = template:gsub('AGENCY_CODE', a)\n"
                    "  return wrk.format('POST', '/api/v1/dossiers', headers, b)\nend\n")
                rps, p99 = wrk(f"{base}/api/v1/dossiers", args.duration, sub)
                print(f"submission, {label}: {rps:,.0f} dossiers/s, p99 {p99:.1f} ms")
            if "queue" not in only:
                return
            if args.queue_dossiers > n:
                more = args.queue_dossiers - n
                t = time.perf_counter()
                sh(*CQS, "demo", "--dossiers", str(more), env=env)
                print(f"demo --dossiers {more} (to reach {args.queue_dossiers:,}): "
                      f"{time.perf_counter() - t:.1f} s")
            q = Path(tmp) / "queue.lua"
            q.write_text(f"wrk.headers['Authorization'] = 'Bearer {receiver}'\n")
            rps, p99 = wrk(f"{base}/api/v1/queue", args.duration, q)
            with psycopg.connect(db) as c:
                n = c.execute("select count(*) from dossiers_dossier").fetchone()[0]
            print(f"queue first page ({n:,} dossiers): {rps:,.0f} req/s, p99 {p99:.1f} ms")
    finally:
        os.killpg(server.pid, 15)


if __name__ == "__main__":
    main()
