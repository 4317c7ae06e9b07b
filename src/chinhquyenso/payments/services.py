"""Fee payment: orders, their immutable ledger, and the gateway's callback.

Only a verified server-to-server callback (IPN) or a querydr answer changes an order; the
return URL only displays. The IPN is idempotent under concurrency: the order row is locked,
so the same IPN delivered ten times at once confirms once (00) and answers 02 after.
"""

import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from chinhquyenso.core import audit
from chinhquyenso.core.errors import Conflict, NotFound, PermissionDenied
from chinhquyenso.core.text import fold
from chinhquyenso.dossiers import services as dossier_services
from chinhquyenso.dossiers.models import Status
from chinhquyenso.dossiers.queries import can_see

from . import vnpay
from .gateways import VnpayGateway, gateway_for
from .models import CallbackLog, EntryKind, LedgerEntry, OrderStatus, PaymentOrder

log = logging.getLogger(__name__)
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
    order = PaymentOrder.objects.select_related("agency").filter(txn_ref=txn_ref).first()
    gateway = gateway_for(order.agency) if order else VnpayGateway()
    if not gateway.verify_callback(params):
        return _answer(params, vnpay.IPN_INVALID_SIGNATURE, "chữ ký không hợp lệ", txn_ref)
    if order is None:
        return _answer(params, vnpay.IPN_ORDER_NOT_FOUND, "không có đơn thanh toán", txn_ref)
    try:
        amount = vnpay.parse_amount(params)
    except (KeyError, ValueError):
        return _answer(params, vnpay.IPN_INVALID_AMOUNT, "số tiền không đọc được", txn_ref)
    at = now()
    with transaction.atomic():
        order = PaymentOrder.objects.select_for_update().get(pk=order.pk)
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
        order.gateway_txn_no = params.get("vnp_TransactionNo", "")[:40]
        order.bank_code = params.get("vnp_BankCode", "")[:20]
        if success:
            order.status, order.paid_at = OrderStatus.PAID, at
            kind = EntryKind.CONFIRMED
        else:
            order.status, kind = OrderStatus.FAILED, EntryKind.FAILED
        order.save(update_fields=["status", "paid_at", "gateway_txn_no", "bank_code"])
        LedgerEntry.objects.create(order=order, kind=kind, amount=order.amount, at=at,
                                   raw=params,
                                   note=f"vnp_ResponseCode={params.get('vnp_ResponseCode')}")
        reason = "đã xác nhận thanh toán" if success else "giao dịch không thành công"
        if success:
            dossier = order.dossier
            if dossier.paid_online:
                reason = "hồ sơ đã được thanh toán trước đó: cần hoàn tiền đơn này"
            dossier_services.record_payment(dossier=dossier, amount=order.amount, at=at,
                                            reference=order.txn_ref)
        return _answer(params, vnpay.IPN_CONFIRMED, reason, txn_ref)


def order_for_return(params: dict) -> tuple[PaymentOrder | None, bool]:
    """The return page displays the order's state as the platform knows it; the parameters
    only name the order (and are checked, so a forged link shows nothing)."""
    txn_ref = params.get("vnp_TxnRef", "")
    order = PaymentOrder.objects.select_related("dossier", "agency").filter(
        txn_ref=txn_ref).first()
    if order is None:
        return None, False
    return order, gateway_for(order.agency).verify_callback(params)

