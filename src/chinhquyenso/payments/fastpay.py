"""The IPN's confirming path on PostgreSQL as one fixed statement (issue 6: ≥ 500 IPN/s).

CONFIRM, run in autocommit (the statement is its own transaction), data-modifying CTEs:
  probe   the order by txn_ref and its dossier, locked (FOR UPDATE OF both rows: a second
          delivery of the same IPN waits here and then sees the order paid);
  ok      the probe only if the order is pending, the amount is the order's, the order has
          not expired (5 minutes' grace) and the dossier is neither paid nor waiting for
          payment — otherwise nothing below is written;
  then    the order marked paid, the `confirmed` ledger entry with the raw callback, the
          dossier's payment (paid_online), its history and outbox events (as
          dossiers.services.record_payment writes them), the callback log, the e-receipt,
          and the audit record as a
          PendingAuditLink, chained into the audit trail right after commit in batches
          (flush_audit_links, below). The receipt's number is given right after commit too
          (receipts.number_receipts, in the same background pass): a per-agency counter
          held to commit would serialise each agency's payments.

services.handle_vnpay_ipn verifies the signature, the response codes and the amount's format
first. When the statement writes nothing — an unknown or settled order, a wrong amount, an
expired order, a dossier already paid (a duplicate to refund) or waiting for payment (its
clock resumes, which needs the working-day calendar) — the ORM path decides and answers,
under the same row locks, exactly as on SQLite.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from chinhquyenso.core import audit
from chinhquyenso.core.models import AuditHead, AuditRecord
from chinhquyenso.dossiers.models import Status

from . import receipts
from .models import PendingAuditLink

log = logging.getLogger(__name__)

CONFIRM = """
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
      AND dossier_status <> ALL(%(ended)s)
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


def applies() -> bool:
    """The statement verifies nothing itself: it runs only when every agency uses the
    default VNPAY gateway, whose signature the caller has already checked."""
    return (connection.vendor == "postgresql" and not settings.CQS_PAYMENT_GATEWAY_BY_AGENCY
            and settings.CQS_PAYMENT_GATEWAY == "vnpay")


def _issuers() -> str:
    configured = getattr(settings, "CQS_RECEIPT_ISSUERS", {})
    return json.dumps({code: receipts.issuer_settings(code) for code in configured})


def confirm(*, txn_ref: str, amount: int, params: dict, at: datetime,
            reason: str) -> int | None:
    """Confirm a verified, successful IPN in one statement; the receipt's id, or None when
    the statement wrote nothing (the caller then takes the ORM path)."""
    args = {
        "txn_ref": txn_ref, "amount": amount, "at": at,
        "waiting": int(Status.WAITING_PAYMENT),
        "ended": [int(Status.REFUSED), int(Status.WITHDRAWN), int(Status.STOPPED),
                  int(Status.RETURNED)],
        "txn_no": str(params.get("vnp_TransactionNo") or "")[:40],
        "bank": str(params.get("vnp_BankCode") or "")[:20],
        "raw": json.dumps(params, ensure_ascii=False),
        "note": f"vnp_ResponseCode={params.get('vnp_ResponseCode')}", "reason": reason,
        "issuers": _issuers(), "letters": receipts.DEFAULT_LETTERS,
        "series_tail": receipts.series_for("", at), "form": receipts.FORM_SYMBOL,
        "token": receipts.new_token(),
    }
    with connection.cursor() as cur:
        cur.execute(CONFIRM, args)
        ordered, receipt_id, *written = cur.fetchone()
    if ordered == 0:
        return None
    if receipt_id is None or any(n != 1 for n in written):
        # Cannot happen: every write hangs on the same locked, checked row.
        raise RuntimeError(f"IPN confirmation of {txn_ref} wrote {ordered, written}")
    transaction.on_commit(kick_audit_flusher)
    return receipt_id


# The chain's head is one row: appending takes its lock until commit, so links made inside
# each IPN transaction would serialise every payment on one commit (fsync) after another
# (measured with pgbench on this statement: about 2.4 times fewer confirmations per second
# with the link appended inside it; docs/performance.md). The link is written as a
# PendingAuditLink row in the payment's transaction (it exists if and only if the payment
# does) and chained here, right after commit, many per head lock, by a background thread of
# the process (the IPN answers without waiting for it). After a crash, the next flush (any
# process, or `cqs payments flush-audit`) chains what was left: the pending rows are durable.
FLUSH_LOCK = 0x63717370  # pg advisory lock key ("cqsp")
FLUSH_BATCH = 1000


def flush_audit_links() -> int:
    """Chain the pending links into the audit trail, oldest first, a batch per transaction.
    One flusher at a time (advisory lock, skipped when busy); the holder checks again after
    releasing it, so a link committed while it worked is never left behind. Returns how many
    links it chained. Safe to call any time (also `cqs payments flush-audit`)."""
    if connection.vendor != "postgresql":
        return 0
    done = 0
    while PendingAuditLink.objects.exists():
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [FLUSH_LOCK])
                if not cur.fetchone()[0]:
                    return done  # the holder will look again after releasing the lock
            head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
            links = list(PendingAuditLink.objects.order_by("id")[:FLUSH_BATCH])
            if not links:
                continue
            prev, records = head.last_hash, []
            for p in links:
                content = audit.content_digest(
                    at=p.at, actor_id=None, actor_label=p.actor_label, verb=p.verb,
                    target_type=p.target_type, target_id=p.target_id, data=p.data)
                h = audit.link(prev, content)
                records.append(AuditRecord(at=p.at, actor=None, actor_label=p.actor_label,
                                           verb=p.verb, target_type=p.target_type,
                                           target_id=p.target_id, data=p.data,
                                           prev_hash=prev, hash=h))
                prev = h
            AuditRecord.objects.bulk_create(records)
            AuditHead.objects.filter(pk=1).update(last_id=records[-1].pk, last_hash=prev,
                                                  count=head.count + len(records))
            PendingAuditLink.objects.filter(pk__in=[p.pk for p in links]).delete()
            done += len(records)
    return done


_wake = threading.Event()
_started = threading.Lock()
_thread: threading.Thread | None = None
FLUSH_PAUSE = 0.05  # seconds: lets a batch gather before the locks are taken


def kick_audit_flusher() -> None:
    """After a payment commits: number its receipt and chain its audit link soon. In the
    background thread unless settings.CQS_PAYMENTS_AUDIT_FLUSH_ASYNC is False (then right
    now, in this thread)."""
    if not getattr(settings, "CQS_PAYMENTS_AUDIT_FLUSH_ASYNC", True):
        receipts.number_receipts()
        flush_audit_links()
        return
    global _thread
    if _thread is None or not _thread.is_alive():
        with _started:
            if _thread is None or not _thread.is_alive():
                _thread = threading.Thread(target=_flusher, name="cqs-audit-flush",
                                           daemon=True)
                _thread.start()
    _wake.set()


def _flusher() -> None:
    while True:
        _wake.wait()
        time.sleep(FLUSH_PAUSE)
        _wake.clear()
        try:
            receipts.number_receipts()
            flush_audit_links()
        except Exception:  # a flusher must survive a failed batch; the rows stay pending
            log.exception("chaining pending audit links failed")
            connection.close()
