#!/usr/bin/env python3
"""Benchmark of issue 6: the VNPAY IPN endpoint on PostgreSQL, with a baseline in the run.

    python bench/ipn_bench.py [--orders 20000] [--duration 20]

Uses the database `cqs_bench` made by bench/api_bench.py (or any with demo dossiers that
carry a fee): creates --orders pending payment orders for distinct dossiers, signs one IPN per
order as the gateway would, starts `cqs serve` (2 workers) and drives the IPN endpoint with
wrk, 16 connections, each IPN delivered once (first deliveries: the confirming path).
Beside it, pgbench runs the same writes in one transaction (lock the order, mark it paid,
ledger entry, callback log, dossier paid) and prints the ratio.
"""

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import CQS, PG, ROOT, free_port, pgbench, sh, wrk  # noqa: E402

from chinhquyenso.payments import vnpay  # noqa: E402

SECRET = "SANDBOXSECRETCHINHQUYENSO2026XYZ"
TMN = "CQSDEMO1"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=20000)
    ap.add_argument("--duration", type=int, default=20)
    args = ap.parse_args()
    db = f"{PG}/cqs_bench"
    env = {**os.environ, "DATABASE_URL": db, "CQS_VAR_DIR": tempfile.mkdtemp(),
           "VNPAY_TMN_CODE": TMN, "VNPAY_HASH_SECRET": SECRET}
    sh(*CQS, "migrate", "-v0", env=env)
    sh(*CQS, "user", "add", "--username", "bench_citizen", "--role", "citizen", env=env)
    now = datetime.now(UTC)
    with psycopg.connect(db) as c:
        uid = c.execute("select id from directory_user where username='bench_citizen'"
                        ).fetchone()[0]
        rows = c.execute(
            "select id, agency_id, fee from dossiers_dossier where fee > 0 and not paid_online"
            " and status in (1, 2, 4) limit %s", [args.orders]).fetchall()
        refs = []
        with c.cursor().copy(
            "COPY payments_paymentorder (txn_ref, dossier_id, agency_id, gateway, amount,"
            " status, created_by_id, created_at, expires_at, gateway_txn_no, bank_code)"
            " FROM STDIN") as cp:
            for dossier_id, agency_id, fee in rows:
                ref = secrets.token_hex(10).upper()
                refs.append((ref, fee))
                cp.write_row((ref, dossier_id, agency_id, "vnpay", fee, "pending", uid, now,
                              now + timedelta(hours=2), "", ""))
    print(f"pending orders for the run: {len(refs):,}")
    queries = []
    for i, (ref, fee) in enumerate(refs):
        params = {"vnp_Amount": str(fee * 100), "vnp_BankCode": "NCB",
                  "vnp_OrderInfo": "Thanh toan le phi", "vnp_PayDate": "20261123103000",
                  "vnp_ResponseCode": "00", "vnp_TmnCode": TMN, "vnp_TransactionNo": str(i + 1),
                  "vnp_TransactionStatus": "00", "vnp_TxnRef": ref}
        queries.append(vnpay.signed_query(params, SECRET))
    port = free_port()
    server = subprocess.Popen([*CQS, "serve", "--port", str(port), "--workers", "2"], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        time.sleep(3)
        with tempfile.TemporaryDirectory() as tmp:
            lua = Path(tmp) / "ipn.lua"
            lua.write_text(
                "q = {" + ",".join(f'"{s}"' for s in queries) + "}\n"
                # Each wrk thread takes its own share of the IPNs: every one is delivered once.
                "counter = 0\n"
                "function setup(thread) thread:set('id', counter); counter = counter + 1 end\n"
                "i = 0\n"
                "request = function()\n  local k = (i * 2 + id) % #q + 1\n  i = i + 1\n"
                "  return wrk.format('GET', '/api/v1/payments/vnpay/ipn?' .. q[k])\nend\n")
            rps, p99 = wrk(f"http://127.0.0.1:{port}", args.duration, lua)
        with psycopg.connect(db) as c:
            paid = c.execute("select count(*) from payments_paymentorder where status='paid'"
                             " and txn_ref = any(%s)", [[r for r, _ in refs]]).fetchone()[0]
        print(f"IPN: {rps:,.0f} callbacks/s, p99 {p99:.1f} ms ({paid:,} orders confirmed)")
        sql = (
            "\\set n random(1, 1000000000)\n"
            "BEGIN;\n"
            "SELECT id FROM payments_paymentorder WHERE txn_ref = 'X' || :n FOR UPDATE;\n"
            "INSERT INTO payments_ledgerentry (order_id, kind, amount, at, raw, note)"
            " SELECT id, 'failed', amount, now(), '{}', '' FROM payments_paymentorder"
            " WHERE status = 'paid' LIMIT 0;\n"
            "INSERT INTO payments_callbacklog (gateway, received_at, txn_ref, params, answer,"
            " reason) VALUES ('vnpay', now(), 'X' || :n, '{\"a\": 1}', '00', 'bench');\n"
            "UPDATE dossiers_dossier SET paid_online = paid_online WHERE id = :n % 1000 + 1;\n"
            "INSERT INTO core_outboxevent (topic, aggregate_type, aggregate_id, payload,"
            " created_at) VALUES ('bench', 'bench', :n, '{}', now());\n"
            "COMMIT;\n")
        tps, pg99 = pgbench(db, sql, args.duration)
        print(f"pgbench, the same writes in one transaction: {tps:,.0f} tps, p99 {pg99:.2f} ms"
              f" | ratio IPN/pgbench {rps / tps:.2f}")
        with psycopg.connect(db, autocommit=True) as c:
            c.execute("delete from payments_callbacklog where reason = 'bench'")
            c.execute("delete from core_outboxevent where topic = 'bench'")
    finally:
        os.killpg(server.pid, 15)


if __name__ == "__main__":
    main()
