"""Reads of the payments app, already narrowed to what the caller may see."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils import timezone

from chinhquyenso.catalog.models import Procedure
from chinhquyenso.core import fixedsql
from chinhquyenso.directory.models import Agency
from chinhquyenso.dossiers.models import Dossier
from chinhquyenso.dossiers.queries import can_see

from . import receipts
from .models import OrderStatus, PaymentOrder, Receipt, RefundRequest, RefundStatus

VN = ZoneInfo("Asia/Ho_Chi_Minh")
PENDING_AFTER = timedelta(minutes=15)


# The order a gateway's notice names, with what settling it reads: its dossier (without the
# form, the only large column), the dossier's procedure (its name, for the receipt) and the
# agency (code and name). One fixed statement, the order and the dossier locked (issue 10 §7:
# the ORM compiled this four-table read in about 2 ms on every IPN, ten times its run time).
_SETTLING = (
    fixedsql.part(PaymentOrder, "o"),
    fixedsql.part(Dossier, "d", exclude={"form"}),
    fixedsql.part(Procedure, "p", only={"code", "name"}),
    fixedsql.part(Agency, "a", only={"code", "name"}),
)


@cache
def _settling_sql(vendor: str) -> str:
    return (
        f"SELECT {fixedsql.select_list(*_SETTLING)} FROM payments_paymentorder o"
        " JOIN dossiers_dossier d ON d.id = o.dossier_id"
        " JOIN catalog_procedure p ON p.id = d.procedure_id"
        " JOIN directory_agency a ON a.id = o.agency_id"
        " WHERE o.txn_ref = %s" + fixedsql.lock_clause("o", "d")
    )


def order_to_settle(txn_ref: str) -> PaymentOrder | None:
    """The order with this reference, locked with its dossier until the end of the caller's
    transaction, its dossier (with the procedure) and agency loaded; None if there is none."""
    if not txn_ref or len(txn_ref) > 40:
        return None
    sql = _settling_sql(connection.vendor)
    with connection.cursor() as cur:
        cur.execute(sql, [txn_ref])
        row = cur.fetchone()
    if row is None:
        return None
    order, dossier, procedure, agency = fixedsql.instances(row, *_SETTLING)
    dossier.procedure = procedure
    order.dossier, order.agency = dossier, agency
    return order


def receipt_url(receipt: Receipt) -> str:
    return f"/thanh-toan/bien-lai/{receipt.pk}.pdf"


def receipts_for(dossier) -> list[dict]:
    """The e-receipts of a dossier, for the citizen portal to link:
    [{"number", "label", "amount", "issued_at", "url"}]. The caller has checked that the
    user may see the dossier. A receipt issued milliseconds ago gets its number first."""
    if Receipt.objects.filter(dossier_id=dossier.pk, number__isnull=True).exists():
        receipts.number_receipts(agency_id=dossier.agency_id)
    return [
        {"number": r.number_label, "label": f"Biên lai {r.series} số {r.number_label}",
         "amount": r.amount, "issued_at": r.issued_at, "url": receipt_url(r)}
        for r in Receipt.objects.filter(dossier_id=dossier.pk).order_by("issued_at", "id")
    ]


def may_see_receipt(user, receipt: Receipt) -> bool:
    """The applicant of the dossier, or an officer of the agency that issued the receipt."""
    if not getattr(user, "is_authenticated", False):
        return False
    if receipt.dossier.applicant_user_id == user.pk:
        return True
    return (getattr(user, "agency_id", None) == receipt.agency_id
            and not getattr(user, "is_applicant", False) and can_see(user, receipt.dossier))


def _numbered(r: Receipt | None) -> Receipt | None:
    return receipts.ensure_number(r) if r is not None else None


def receipt_visible_to(user, receipt_id) -> Receipt | None:
    r = Receipt.objects.select_related("dossier").filter(pk=receipt_id).first()
    return _numbered(r) if r is not None and may_see_receipt(user, r) else None


def receipt_by_token(token: str) -> Receipt | None:
    if not token or len(token) > 64:
        return None
    return _numbered(Receipt.objects.filter(token=token).first())


def receipt_of_order(order: PaymentOrder) -> Receipt | None:
    return _numbered(Receipt.objects.filter(order=order).first())


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=VN)
    return start, start + timedelta(days=1)


def _scope(qs, agency_id: int | None):
    return qs if agency_id is None else qs.filter(agency_id=agency_id)


def payments_of_day(agency_id: int | None, day: date):
    """Orders paid (or paid then refunded) on a day, Vietnam time, with the totals."""
    start, end = day_bounds(day)
    qs = _scope(PaymentOrder.objects.filter(
        paid_at__gte=start, paid_at__lt=end,
        status__in=[OrderStatus.PAID, OrderStatus.REFUNDED]), agency_id)
    totals = qs.aggregate(count=Count("id"), total=Sum("amount"))
    rows = qs.select_related("dossier", "agency").order_by("paid_at", "id")
    return rows, totals["count"] or 0, totals["total"] or 0


def stale_pending_orders(agency_id: int | None, at: datetime | None = None, limit: int = 200):
    """Orders still pending 15 minutes after they were created (a lost IPN?)."""
    at = at or timezone.now()
    qs = PaymentOrder.objects.filter(status=OrderStatus.PENDING,
                                     created_at__lt=at - PENDING_AFTER)
    return _scope(qs, agency_id).select_related("dossier").order_by("created_at")[:limit]


def orders_to_refund(agency_id: int | None, limit: int = 200):
    """Money the gateway took that no dossier took (refund_flag), still to be refunded."""
    qs = PaymentOrder.objects.filter(status=OrderStatus.PAID).exclude(refund_flag="")
    return _scope(qs, agency_id).select_related("dossier").order_by("paid_at", "id")[:limit]


def refunds_for(user, status: str | None = RefundStatus.REQUESTED, limit: int = 200):
    """Refund requests of the user's agency (leader's list); newest first."""
    qs = RefundRequest.objects.filter(agency_id=user.agency_id).select_related(
        "order", "order__dossier", "requested_by", "decided_by")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-requested_at", "-id")[:limit]


def paid_orders_of_dossier(dossier):
    return (PaymentOrder.objects.filter(dossier_id=dossier.pk)
            .filter(Q(status=OrderStatus.PAID) | Q(status=OrderStatus.REFUNDED))
            .order_by("paid_at", "id"))
