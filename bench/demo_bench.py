"""Benchmark `cqs demo --dossiers N` on PostgreSQL against a raw COPY baseline.

    .venv/bin/python bench/demo_bench.py [--dossiers 1000000] [--db cqs_bench] [--keep]

1. Creates a fresh database (dropping it first if it exists), runs `cqs init` in it
   (`--catalog FILE` is passed on; `--no-init` uses a database you prepared yourself, which
   must hold no dossiers yet).
2. Times `cqs demo --dossiers N --seed 1 --no-progress` as a subprocess (wall clock,
   including the Django start-up, i.e. what `time cqs demo …` shows).
3. Baseline: the fastest way to put N rows of the same width into PostgreSQL: COPY of
   ready-made text lines (1,000 real demo rows, cycled) through psycopg into a scratch
   table with the dossier table's columns and no index, constraint or trigger.
4. Prints both times, rows per second and the ratio demo / baseline.

The server must be reachable with the admin URL (default postgres://postgres@127.0.0.1:5432/
postgres, trust auth as in the development setup).
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
CQS = ROOT / ".venv" / "bin" / "cqs"
SCRATCH = "bench_copy_baseline"


def _url(admin_url: str, db: str) -> str:
    base, _, _old = admin_url.rpartition("/")
    return f"{base}/{db}"


def _run(args: list[str], env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{' '.join(map(str, args))} failed ({done.returncode})")
    return seconds, done.stdout


def baseline(url: str, n: int) -> float:
    """Seconds to COPY n ready-made rows of the dossier table's width into a bare table."""
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
            cur.execute(f"CREATE TABLE {SCRATCH} (LIKE dossiers_dossier INCLUDING DEFAULTS)")
            sample = bytearray()
            with cur.copy(
                "COPY (SELECT * FROM dossiers_dossier ORDER BY id LIMIT 1000) TO STDOUT"
            ) as cp:
                for block in cp:
                    sample += block
        conn.commit()
        lines = bytes(sample).splitlines(keepends=True)
        if not lines:
            raise SystemExit("no dossiers to sample for the baseline")
        width = sum(map(len, lines)) / len(lines)
        block = b"".join(lines)
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            with cur.copy(f"COPY {SCRATCH} FROM STDIN") as cp:
                full, rest = divmod(n, len(lines))
                for _ in range(full):
                    cp.write(block)
                if rest:
                    cp.write(b"".join(lines[:rest]))
        conn.commit()
        seconds = time.perf_counter() - t0
        with conn.cursor() as cur:
            cur.execute(f"SELECT pg_size_pretty(pg_relation_size('{SCRATCH}'))")
            size = cur.fetchone()[0]
            cur.execute(f"DROP TABLE {SCRATCH}")
        conn.commit()
    print(f"Baseline rows: {width:.0f} bytes of COPY text on average; table {size}.")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dossiers", type=int, default=1_000_000)
    ap.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--db", default="cqs_bench")
    ap.add_argument("--catalog", default=None, help="passed to `cqs init --catalog`")
    ap.add_argument("--no-init", action="store_true", help="use a database prepared already")
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    o = ap.parse_args()

    url = _url(o.admin_url, o.db)
    env = {**os.environ, "DATABASE_URL": url, "CQS_DEMO": "1"}
    if not o.no_init:
        with psycopg.connect(o.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{o.db}"')
            admin.execute(f'CREATE DATABASE "{o.db}"')
        init = [str(CQS), "init"] + (["--catalog", o.catalog] if o.catalog else [])
        secs, out = _run(init, env)
        print(f"cqs init: {secs:.1f} s — {out.strip()}")
    with psycopg.connect(url) as conn:
        existing = conn.execute("SELECT count(*) FROM dossiers_dossier").fetchone()[0]
    if existing:
        raise SystemExit(f"{o.db} already holds {existing} dossiers; the benchmark needs none")

    n = o.dossiers
    demo_s, out = _run(
        [str(CQS), "demo", "--dossiers", str(n), "--seed", "1", "--no-progress", "-v", "2"], env
    )
    print(out.split("\n\nTài khoản mẫu")[0])
    base_s = baseline(url, n)

    print()
    print(f"{'':<38}{'seconds':>10}{'rows/s':>12}")
    print(f"{'cqs demo --dossiers ' + format(n, ','):<38}{demo_s:>10.1f}{n / demo_s:>12,.0f}")
    print(f"{'raw COPY, same width, no index':<38}{base_s:>10.1f}{n / base_s:>12,.0f}")
    print(f"ratio demo / baseline: {demo_s / base_s:.2f}")

    if not o.keep and not o.no_init:
        with psycopg.connect(o.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{o.db}"')


if __name__ == "__main__":
    main()
