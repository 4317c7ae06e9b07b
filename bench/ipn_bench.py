#!/usr/bin/env python3
"""Benchmark of issue 6: the VNPAY IPN endpoint on PostgreSQL, with a baseline in the run.

    python bench/ipn_bench.py [--orders 20000] [--duration 20]

Uses the database `cqs_bench` made by bench/api_bench.py (or --db, any with demo dossiers
that carry a fee): creates --orders pending payment orders for distinct dossiers, signs one
IPN per order as the gateway would, starts `cqs serve` (2 workers) and drives the IPN endpoint
with wrk, --connections callers, each IPN delivered once (first deliveries: the confirming
path, services.handle_vnpay_ipn, the same ORM path on every database).
Beside it, pgbench runs PostgreSQL's floor for the same writes: BASELINE, one statement
(the locked probe and every write — order, ledger, dossier, history, outbox, callback log,
receipt, notification, audit link) in autocommit, one order per transaction, and the script
prints the ratio. (BASELINE was the IPN's own PostgreSQL path until issue 10.)
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import api_bench  # noqa: E402
from api_bench import CQS, PG, ROOT, free_port, pgbench, sh, wrk  # noqa: E402

from chinhquyenso.payments import vnpay  # noqa: E402

SECRET = "SANDBOXSECRETCHINHQUYENSO2026XYZ"

# PostgreSQL alone doing what one confirming IPN writes, as one statement (data-modifying
# CTEs): the baseline of each run.
BASELINE = """
WITH probe AS (
    SELECT o.id AS order_id, o.dossier_id, o.agency_id, o.amount, o.status AS order_status,
           o.expires_at, d.status AS dossier_status, d.paid_online, d.code AS dossier_code,
           d.applicant_name, d.applicant_address, a.code AS agency_code,
           a.name AS agency_name, p.name AS fee_name
    FROM payments_paymentorder o
    JOIN directory_agency a ON a.id = o.agency_id
    JOIN dossiers_dossier d ON d.id = o.dossier_id
    JOIN catalog_procedure p ON p.id = d.procedure_id
    WHERE o.txn_ref = %(txn_ref)s
    FOR UPDATE OF o, d
), ok AS (
    SELECT probe.*,
           jsonb_build_object('amount', amount, 'online', true, 'reference', %(txn_ref)s)
               AS event,
           jsonb_build_object('status', dossier_status, 'from_status', dossier_status,
                              'amount', amount, 'online', true, 'reference', %(txn_ref)s)
               AS payload,
           coalesce(%(issuers)s::jsonb -> agency_code, '{}'::jsonb) AS issuer
    FROM probe
    WHERE order_status = 'pending' AND amount = %(amount)s
      AND expires_at >= %(at)s - interval '5 minutes'
      AND NOT paid_online AND dossier_status <> %(waiting)s
), ord AS (
    UPDATE payments_paymentorder o
    SET status = 'paid', paid_at = %(at)s, gateway_txn_no = %(txn_no)s, bank_code = %(bank)s
    FROM ok WHERE o.id = ok.order_id
    RETURNING o.id
), entry AS (
    INSERT INTO payments_ledgerentry (order_id, kind, amount, at, raw, note)
    SELECT order_id, 'confirmed', amount, %(at)s, %(raw)s::jsonb, %(note)s FROM ok
    RETURNING id
), dossier AS (
    UPDATE dossiers_dossier d SET paid_online = true, updated_at = %(at)s
    FROM ok WHERE d.id = ok.dossier_id
    RETURNING d.id
), history AS (
    INSERT INTO dossiers_dossierevent
        (dossier_id, at, action, from_status, to_status, actor_id, actor_label, note, data)
    SELECT dossier_id, %(at)s, 'pay', dossier_status, dossier_status, NULL, 'Hệ thống', '',
           event
    FROM ok
    RETURNING id
), event AS (
    INSERT INTO core_outboxevent (topic, aggregate_type, aggregate_id, payload, created_at)
    SELECT 'dossier.pay', 'dossiers.dossier', dossier_code, payload, %(at)s FROM ok
    RETURNING id
), callback AS (
    INSERT INTO payments_callbacklog (gateway, received_at, txn_ref, params, answer, reason)
    SELECT 'vnpay', %(at)s, %(txn_ref)s, %(raw)s::jsonb, '00', %(reason)s FROM ok
    RETURNING id
), receipt AS (
    INSERT INTO payments_receipt
        (order_id, dossier_id, agency_id, form_symbol, series, number, token, issued_at,
         amount, fee_name, payer_name, payer_address, issuer_name, issuer_tax_code,
         dossier_code, txn_ref)
    SELECT order_id, dossier_id, agency_id, %(form)s,
           coalesce(issuer ->> 'letters', %(letters)s) || %(series_tail)s, NULL, %(token)s,
           %(at)s, amount, left(fee_name, 500), applicant_name, applicant_address,
           agency_name, coalesce(issuer ->> 'tax_code', ''), dossier_code, %(txn_ref)s
    FROM ok
    RETURNING id
), notice AS (
    INSERT INTO core_notification
        (user_id, title, body, link, created_at, email_to, phone_to, attempts)
    SELECT d.applicant_user_id, 'Đã nhận thanh toán phí, lệ phí của hồ sơ ' || ok.dossier_code,
           '', '/ca-nhan/ho-so/' || ok.dossier_code, %(at)s, d.applicant_email,
           d.applicant_phone, 0
    FROM ok JOIN dossiers_dossier d ON d.id = ok.dossier_id
    WHERE d.applicant_user_id IS NOT NULL
    RETURNING id
), link AS (
    INSERT INTO payments_pendingauditlink
        (at, actor_label, verb, target_type, target_id, data)
    SELECT %(at)s, 'system', 'dossier.pay', 'dossiers.dossier', dossier_code,
           payload || jsonb_build_object('note', '')
    FROM ok
    RETURNING id
)
SELECT (SELECT count(*) FROM ord), (SELECT id FROM receipt),
       (SELECT count(*) FROM entry), (SELECT count(*) FROM dossier),
       (SELECT count(*) FROM history), (SELECT count(*) FROM event),
       (SELECT count(*) FROM callback), (SELECT count(*) FROM link)
"""

TMN = "CQSDEMO1"


LINK_CTE = """), link AS (
    INSERT INTO payments_pendingauditlink
        (at, actor_label, verb, target_type, target_id, data)
    SELECT now(), 'system', 'dossier.pay', 'dossiers.dossier', dossier_code,
           payload || jsonb_build_object('note', '')
    FROM ok
    RETURNING id
"""
# What the statement did before: core.audit's one-statement append, inside the transaction.
INLINE_AUDIT = """), head AS (
    SELECT last_hash FROM core_audithead WHERE id = 1 FOR UPDATE
), rec AS (
    INSERT INTO core_auditrecord
        (at, actor_id, actor_label, verb, target_type, target_id, data, prev_hash, hash)
    SELECT now(), NULL, 'system', 'dossier.pay', 'dossiers.dossier', 'bench',
           '{}'::jsonb, head.last_hash,
           encode(sha256(convert_to(head.last_hash || md5(random()::text), 'UTF8')), 'hex')
    FROM head WHERE EXISTS (SELECT 1 FROM ok)
    RETURNING id, hash
), link AS (
    UPDATE core_audithead h SET last_id = rec.id, last_hash = rec.hash, count = h.count + 1
    FROM rec WHERE h.id = 1
    RETURNING h.id
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=20000)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--inline-audit", action="store_true",
                    help="also run the baseline with the audit link appended inside the"
                         " statement (core.audit's head lock held to commit), for comparison; its"
                         " records carry dummy hashes: cqs_bench's chain no longer verifies")
    ap.add_argument("--db", default="cqs_bench", help="database name on 127.0.0.1:5432")
    ap.add_argument("--connections", type=int, default=16,
                    help="concurrent callers (wrk connections, pgbench clients)")
    ap.add_argument("--workers", type=int, default=2, help="granian worker processes")
    ap.add_argument("--threads", type=int, default=2, help="blocking threads per worker")
    args = ap.parse_args()
    api_bench.CONNECTIONS = args.connections
    print(f"{args.connections} concurrent connections")
    db = f"{PG}/{args.db}"
    env = {**os.environ, "DATABASE_URL": db, "CQS_VAR_DIR": tempfile.mkdtemp(),
           "VNPAY_TMN_CODE": TMN, "VNPAY_HASH_SECRET": SECRET, "CQS_DEMO": "1"}
    sh(*CQS, "migrate", "-v0", env=env)
    sh(*CQS, "user", "add", "--username", "bench_citizen", "--role", "citizen", env=env)
    now = datetime.now(UTC)
    with psycopg.connect(db) as c:
        uid = c.execute("select id from directory_user where username='bench_citizen'"
                        ).fetchone()[0]
        # Dossiers paid by an earlier run of this script are made unpaid again, so the
        # benchmark can be repeated on the same database (demo data only).
        c.execute("update dossiers_dossier set paid_online = false where is_demo and id in"
                  " (select dossier_id from payments_paymentorder where created_by_id = %s)",
                  [uid])
        # Open dossiers with a fee, not waiting for payment: the common confirming path.
        rows = c.execute(
            "select id, agency_id, fee from dossiers_dossier where fee > 0 and not paid_online"
            " and status in (1, 2, 4, 5, 9) limit %s", [args.orders]).fetchall()
        refs = []
        with c.cursor().copy(
            "COPY payments_paymentorder (txn_ref, dossier_id, agency_id, gateway, amount,"
            " status, created_by_id, created_at, expires_at, gateway_txn_no, bank_code,"
                " refund_flag)"
            " FROM STDIN") as cp:
            for dossier_id, agency_id, fee in rows:
                ref = secrets.token_hex(10).upper()
                refs.append((ref, fee))
                cp.write_row((ref, dossier_id, agency_id, "vnpay", fee, "pending", uid, now,
                              now + timedelta(hours=2), "", "", ""))
    print(f"pending orders for the run: {len(refs):,}")
    queries = []
    for i, (ref, fee) in enumerate(refs):
        params = {"vnp_Amount": str(fee * 100), "vnp_BankCode": "NCB",
                  "vnp_OrderInfo": "Thanh toan le phi", "vnp_PayDate": "20261123103000",
                  "vnp_ResponseCode": "00", "vnp_TmnCode": TMN, "vnp_TransactionNo": str(i + 1),
                  "vnp_TransactionStatus": "00", "vnp_TxnRef": ref}
        queries.append(vnpay.signed_query(params, SECRET))
    port = free_port()
    server = subprocess.Popen([*CQS, "serve", "--port", str(port), "--workers", str(args.workers),
                               "--threads", str(args.threads)], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # wait until the server answers
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/payments/vnpay/ipn",
                                       timeout=2)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                time.sleep(0.5)
        # Warm both workers up (imports, URL resolver, schemas) with IPNs of unknown orders.
        warm = vnpay.signed_query({"vnp_Amount": "100", "vnp_TmnCode": TMN,
                                   "vnp_TxnRef": "WARMUP", "vnp_ResponseCode": "00"}, SECRET)
        for _ in range(200):
            urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/v1/payments/vnpay/ipn?{warm}", timeout=10).read()
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
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chinhquyenso.settings")
        os.environ["DATABASE_URL"] = db
        import django

        django.setup()
        # The baseline: pgbench runs BASELINE (values inlined) on its own pending orders,
        # one per transaction
        # (a sequence hands them out): PostgreSQL's cost of the same work without Python or
        # HTTP (plus one look-up of the amount, which the IPN carries in its parameters).
        n_pg = max(args.duration * 6000, 1000)
        run = f"PGB{secrets.token_hex(3).upper()}-"
        with psycopg.connect(db) as c:
            c.execute("drop sequence if exists ipn_bench_seq")
            c.execute("create sequence ipn_bench_seq")
            with c.cursor().copy(
                "COPY payments_paymentorder (txn_ref, dossier_id, agency_id, gateway, amount,"
                " status, created_by_id, created_at, expires_at, gateway_txn_no, bank_code,"
                " refund_flag)"
                " FROM STDIN") as cp:
                for i in range(1, n_pg + 1):
                    dossier_id, agency_id, fee = rows[i % len(rows)]
                    cp.write_row((f"{run}{i}", dossier_id, agency_id, "vnpay", fee, "pending",
                                  uid, now, now + timedelta(hours=2), "", "", ""))
        raw = queries[0].split("&vnp_SecureHash")[0].replace("'", "")
        values = {
            "txn_ref": f"'{run}' || :n", "amount": ":amt", "at": "now()", "waiting": "6",
            "txn_no": "'1'", "bank": "'NCB'", "raw": "'" + json.dumps(dict(parse_qsl(raw))) + "'",
            "note": "'vnp_ResponseCode=00'", "reason": "'bench'", "issuers": "'{}'",
            "letters": "'AA'", "series_tail": "'-26E'", "form": "'01BLP0-001'",
            "token": "md5(random()::text) || :n",
        }
        confirm = BASELINE
        for k, v in values.items():
            confirm = confirm.replace(f"%({k})s", v)
        assert "%(" not in confirm
        # Each pgbench client takes the next order and its amount, then runs the statement
        # in autocommit, as the IPN does.
        sql = ("SELECT nextval('ipn_bench_seq') AS n \\gset\n"
               f"SELECT amount AS amt FROM payments_paymentorder WHERE txn_ref = '{run}' || :n"
               " \\gset\n"
               + " ".join(confirm.split()) + ";\n")
        if args.inline_audit:
            inline = sql.replace(" ".join(LINK_CTE.split()), " ".join(INLINE_AUDIT.split()))
            assert inline != sql
            itps, ip99 = pgbench(db, inline, args.duration)
            print(f"pgbench, audit link appended inside the statement: {itps:,.0f} tps,"
                  f" p99 {ip99:.2f} ms")
        tps, pg99 = pgbench(db, sql, args.duration)
        print(f"pgbench, the same writes in one transaction: {tps:,.0f} tps, p99 {pg99:.2f} ms"
              f" | ratio IPN/pgbench {rps / tps:.2f}")
        with psycopg.connect(db, autocommit=True) as c:
            used = c.execute("select last_value from ipn_bench_seq").fetchone()[0]
            print(f"orders confirmed by the pgbench runs: {used:,}")
        from chinhquyenso.payments import receipts

        t0 = time.perf_counter()
        numbered = receipts.number_receipts()
        print(f"receipts numbered after the run: {numbered:,} in"
              f" {time.perf_counter() - t0:.1f} s")
        with psycopg.connect(db) as c:
            gaps = c.execute(
                "select count(*) from (select agency_id, series from payments_receipt"
                " group by 1, 2 having count(*) <> max(number) or count(number) <> count(*))"
                " g").fetchone()[0]
        print(f"series with a gap or an unnumbered receipt: {gaps}")
        t0 = time.perf_counter()
        from chinhquyenso.payments.tasks import drain_pending_audit_links

        moved = drain_pending_audit_links()  # pgbench's links, into the audit trail
        print(f"pgbench's audit links moved to the trail after the run: {moved:,} in"
              f" {time.perf_counter() - t0:.1f} s")
    finally:
        os.killpg(server.pid, 15)


if __name__ == "__main__":
    main()
