"""Background work of the payments app, run by the worker process (`cqs worker`), never in a
web process. The worker runs these as periodic jobs (settings.CQS_PERIODIC_JOBS):

- receipts.number_receipts: numbers the e-receipts the IPN issued without a number, per
  agency and series, in batches (a per-agency counter held to commit inside every IPN would
  serialise each agency's payments; a reader asking for an unnumbered receipt numbers it
  first, queries.receipt_of_order);
- services.query_pending_orders: asks the gateway (querydr) about orders whose IPN is lost;
- drain_pending_audit_links (below): audit links left by the former one-statement IPN.
"""

from __future__ import annotations

from django.db import transaction

from chinhquyenso.core.models import AuditRecord

from .models import PendingAuditLink

BATCH = 1000


def drain_pending_audit_links() -> int:
    """Move the audit links the former PostgreSQL IPN left pending (a crash between its
    commit and its flush) into the audit trail as unlinked records; the audit chain's own
    periodic linking gives them their place. Returns how many it moved."""
    done = 0
    while True:
        with transaction.atomic():
            links = list(PendingAuditLink.objects.select_for_update().order_by("id")[:BATCH])
            if not links:
                return done
            AuditRecord.objects.bulk_create(
                [
                    AuditRecord(
                        at=p.at,
                        actor=None,
                        actor_label=p.actor_label,
                        verb=p.verb,
                        target_type=p.target_type,
                        target_id=p.target_id,
                        data=p.data,
                    )
                    for p in links
                ]
            )
            PendingAuditLink.objects.filter(pk__in=[p.pk for p in links]).delete()
            done += len(links)
