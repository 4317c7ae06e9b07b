"""Fee payment: orders, their immutable ledger, and the gateway's callback.

Only a verified server-to-server callback (IPN) or a querydr answer changes an order; the
return URL only displays. The IPN is idempotent under concurrency: the order row is locked,
so the same IPN delivered ten times at once confirms once (00) and answers 02 after.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chinhquyenso.core import audit
from chinhquyenso.core.errors import Conflict, NotFound, PermissionDenied
from chinhquyenso.core.text import fold
from chinhquyenso.dossiers import services as dossier_services
from chinhquyenso.dossiers.models import Dossier, Status
from chinhquyenso.dossiers.queries import can_see

from . import vnpay
from .gateways import GatewayError, VnpayGateway, gateway_for
from .models import CallbackLog, EntryKind, LedgerEntry, OrderStatus, PaymentOrder

log = logging.getLogger(__name__)
VN = ZoneInfo("Asia/Ho_Chi_Minh")
ENDED = {Status.REFUSED, Status.WITHDRAWN, Status.STOPPED, Status.RETURNED}


def now():
    return timezone.now()


def return_url() -> str:
    return f"{settings.CQS_PUBLIC_URL}/thanh-toan/ket-qua"


def create_payment(*, actor, dossier, ip_addr: str) -> tuple[PaymentOrder, str]:
    """The applicant starts paying the dossier's fee: a new order and the gateway's URL."""
    if not can_see(actor, dossier):
        raise NotFound("Không tìm thấy hồ sơ.")
    if dossier.applicant_user_id != actor.pk:
        raise PermissionDenied("Chỉ người nộp hồ sơ mới thanh toán phí, lệ phí của hồ sơ.")
    if dossier.fee <= 0:
        raise Conflict("Thủ tục này không thu phí, lệ phí.")
    if dossier.paid_online:
        raise Conflict("Hồ sơ đã được thanh toán.")
    if dossier.status in ENDED:
        raise Conflict(f"Hồ sơ ở trạng thái «{Status(dossier.status).label}», không thanh toán.")
    gateway = gateway_for(dossier.agency)
    at = now()
    expires = at + timedelta(minutes=settings.CQS_PAYMENT_TTL_MINUTES)
    with transaction.atomic():
        order = PaymentOrder.objects.create(
            txn_ref=secrets.token_hex(10).upper(), dossier=dossier, agency=dossier.agency,
            gateway=gateway.name, amount=dossier.fee, created_by=actor, created_at=at,
            expires_at=expires,
        )
        LedgerEntry.objects.create(order=order, kind=EntryKind.INITIATED, amount=order.amount,
                                   at=at)
        audit.record(actor=actor, verb="payment.create", target=order,
                     data={"dossier": dossier.code, "amount": order.amount})
    # vnp_OrderInfo: Vietnamese without diacritics (VNPAY integration guide 2.1.0).
    info = fold(f"Thanh toan phi le phi ho so {dossier.code}")[:255]
    url = gateway.payment_url(txn_ref=order.txn_ref, amount=order.amount, order_info=info,
                              return_url=return_url(), ip_addr=ip_addr or "127.0.0.1",
                              created_at=at, expires_at=expires)
    return order, url


def _answer(params: dict, code: str, reason: str, txn_ref: str = "") -> dict:
    CallbackLog.objects.create(gateway="vnpay", received_at=now(), txn_ref=txn_ref[:40],
                               params=params, answer=code, reason=reason)
    if code not in {vnpay.IPN_CONFIRMED}:
        log.warning("IPN %s refused with %s: %s", txn_ref, code, reason)
    return vnpay.ipn_response(code)


def handle_vnpay_ipn(*, params: dict) -> dict:
    """VNPAY's IPN: verify, then confirm or record the failure, once (RspCode per the guide:
    00 confirmed, 01 order not found, 02 already confirmed, 04 invalid amount, 97 invalid
    signature, 99 other)."""
    params = {k: v for k, v in params.items() if isinstance(v, str)}
    txn_ref = params.get("vnp_TxnRef", "")
    at = now()
    with transaction.atomic():
        # One read of the order, locked: the same IPN delivered ten times at once is
        # serialised here, so it confirms once and answers 02 after.
        order = (PaymentOrder.objects.select_for_update(of=("self",)).select_related("agency")
                 .filter(txn_ref=txn_ref).first())
        gateway = gateway_for(order.agency) if order else VnpayGateway()
        if not gateway.verify_callback(params):
            return _answer(params, vnpay.IPN_INVALID_SIGNATURE, "chữ ký không hợp lệ", txn_ref)
        if order is None:
            return _answer(params, vnpay.IPN_ORDER_NOT_FOUND, "không có đơn thanh toán", txn_ref)
        try:
            amount = vnpay.parse_amount(params)
        except (KeyError, ValueError):
            return _answer(params, vnpay.IPN_INVALID_AMOUNT, "số tiền không đọc được", txn_ref)
        if amount != order.amount:
            return _answer(params, vnpay.IPN_INVALID_AMOUNT,
                           f"số tiền {amount} khác đơn {order.amount}", txn_ref)
        if order.status != OrderStatus.PENDING:
            return _answer(params, vnpay.IPN_ALREADY_CONFIRMED,
                           f"đơn đã ở trạng thái {order.status}", txn_ref)
        success = (params.get("vnp_ResponseCode") == "00"
                   and params.get("vnp_TransactionStatus", "00") == "00")
        if success and at > order.expires_at + timedelta(minutes=5):
            return _answer(params, vnpay.IPN_ALREADY_CONFIRMED, "đơn đã hết hạn", txn_ref)
        reason = _settle(order, params, success, at)
        return _answer(params, vnpay.IPN_CONFIRMED, reason, txn_ref)


def _settle(order: PaymentOrder, params: dict, success: bool, at) -> str:
    """Record the gateway's verdict on a pending order (caller holds the order's lock):
    the order's state, one ledger entry with the raw answer, and the dossier's payment."""
    order.gateway_txn_no = str(params.get("vnp_TransactionNo") or "")[:40]
    order.bank_code = str(params.get("vnp_BankCode") or "")[:20]
    if success:
        order.status, order.paid_at = OrderStatus.PAID, at
        kind = EntryKind.CONFIRMED
    else:
        order.status, kind = OrderStatus.FAILED, EntryKind.FAILED
    order.save(update_fields=["status", "paid_at", "gateway_txn_no", "bank_code"])
    LedgerEntry.objects.create(order=order, kind=kind, amount=order.amount, at=at, raw=params,
                               note=f"vnp_ResponseCode={params.get('vnp_ResponseCode')}")
    if not success:
        return "giao dịch không thành công"
    first = dossier_services.record_payment(dossier=Dossier(pk=order.dossier_id),
                                            amount=order.amount, at=at, reference=order.txn_ref)
    return ("đã xác nhận thanh toán" if first
            else "hồ sơ đã được thanh toán trước đó: cần hoàn tiền đơn này")


# querydr answers: transaction not found at the gateway (the citizen never paid).
QUERYDR_NOT_FOUND = "91"


def query_pending_orders(*, older_than_minutes: int = 15) -> dict[str, int]:
    """Ask the gateway about orders still pending after `older_than_minutes` (a lost IPN):
    paid ones are confirmed, failed ones recorded, expired unpaid ones closed."""
    at = now()
    counts = {"paid": 0, "failed": 0, "expired": 0, "pending": 0, "error": 0}
    pending = PaymentOrder.objects.select_related("agency").filter(
        status=OrderStatus.PENDING, created_at__lt=at - timedelta(minutes=older_than_minutes))
    for order in pending.order_by("created_at")[:1000]:
        try:
            answer = gateway_for(order.agency).query(
                txn_ref=order.txn_ref, order_info=f"Truy van {order.txn_ref}",
                created_at=order.created_at, ip_addr="127.0.0.1")
        except (GatewayError, OSError, ValueError) as exc:
            log.warning("querydr %s failed: %s", order.txn_ref, exc)
            counts["error"] += 1
            continue
        with transaction.atomic():
            order = PaymentOrder.objects.select_for_update().get(pk=order.pk)
            if order.status != OrderStatus.PENDING:
                continue
            status = answer.get("vnp_TransactionStatus")
            if answer.get("vnp_ResponseCode") == "00" and status == "00":
                if vnpay.parse_amount(answer) != order.amount:
                    counts["error"] += 1
                    continue
                _settle(order, answer, True, at)
                counts["paid"] += 1
            elif answer.get("vnp_ResponseCode") == "00" and status not in ("01", None):
                _settle(order, answer, False, at)
                counts["failed"] += 1
            elif at > order.expires_at and answer.get("vnp_ResponseCode") == QUERYDR_NOT_FOUND:
                order.status = OrderStatus.EXPIRED
                order.save(update_fields=["status"])
                counts["expired"] += 1
            else:
                counts["pending"] += 1
    return counts


@dataclass(frozen=True)
class Mismatch:
    kind: str  # "gateway_only", "platform_only", "amount"
    txn_ref: str
    gateway_amount: int | None
    platform_amount: int | None

    @property
    def label(self) -> str:
        return {"gateway_only": "Cổng đã thu nhưng hệ thống chưa ghi nhận",
                "platform_only": "Hệ thống ghi nhận nhưng cổng không có",
                "amount": "Số tiền khác nhau"}[self.kind]


def reconcile(*, day: date, gateway=None) -> list[Mismatch]:
    """Compare the ledger with the gateway's settlement file for one day (VN time)."""
    gateway = gateway or VnpayGateway()
    rows = [r for r in gateway.settlement(day) if r.get("status") in ("paid", "00", "success")]
    start = datetime.combine(day, time.min, tzinfo=VN)
    end = start + timedelta(days=1)
    ours = {o.txn_ref: o for o in PaymentOrder.objects.filter(
        paid_at__gte=start, paid_at__lt=end, status__in=[OrderStatus.PAID,
                                                         OrderStatus.REFUNDED])}
    found = {o.txn_ref: o for o in PaymentOrder.objects.filter(
        txn_ref__in=[r["txn_ref"] for r in rows])}
    out = []
    for r in rows:
        order = found.get(r["txn_ref"])
        if order is None or order.status not in (OrderStatus.PAID, OrderStatus.REFUNDED):
            out.append(Mismatch("gateway_only", r["txn_ref"], r["amount"],
                                order.amount if order else None))
        elif order.amount != r["amount"]:
            out.append(Mismatch("amount", r["txn_ref"], r["amount"], order.amount))
    settled = {r["txn_ref"] for r in rows}
    out += [Mismatch("platform_only", ref, None, o.amount) for ref, o in ours.items()
            if ref not in settled]
    return out

def order_for_return(params: dict) -> tuple[PaymentOrder | None, bool]:
    """The return page displays the order's state as the platform knows it; the parameters
    only name the order (and are checked, so a forged link shows nothing)."""
    txn_ref = params.get("vnp_TxnRef", "")
    order = PaymentOrder.objects.select_related("dossier", "agency").filter(
        txn_ref=txn_ref).first()
    if order is None:
        return None, False
    return order, gateway_for(order.agency).verify_callback(params)

