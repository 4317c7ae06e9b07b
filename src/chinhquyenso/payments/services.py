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

from chinhquyenso.core import audit, fixedsql, outbox
from chinhquyenso.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.core.text import fold
from chinhquyenso.dossiers import services as dossier_services
from chinhquyenso.dossiers.models import ENDED_STATUSES, ENDED_WITHOUT_RESULT, Dossier, Status
from chinhquyenso.dossiers.queries import can_see

from . import queries, receipts, vnpay
from .gateways import GatewayError, VnpayGateway, gateway_for
from .models import (
    CallbackLog,
    EntryKind,
    LedgerEntry,
    OrderStatus,
    PaymentOrder,
    Receipt,
    RefundRequest,
    RefundStatus,
)

log = logging.getLogger(__name__)
VN = ZoneInfo("Asia/Ho_Chi_Minh")



def return_url() -> str:
    return f"{settings.CQS_PUBLIC_URL}/thanh-toan/ket-qua"


def create_payment(*, actor, dossier, ip_addr: str) -> tuple[PaymentOrder, str]:
    """The applicant starts paying the dossier's fee: a new order and the gateway's URL."""
    if not can_see(actor, dossier):
        raise NotFound("Không tìm thấy hồ sơ.")
    if dossier.applicant_user_id != actor.pk:
        raise PermissionDenied("Chỉ người nộp hồ sơ mới thanh toán phí, lệ phí của hồ sơ.")
    if (why_not := dossier_services.fee_unpayable(dossier)) is not None:
        raise Conflict(why_not)
    gateway = gateway_for(dossier.agency)
    at = timezone.now()
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
    fixedsql.insert_later(CallbackLog, gateway="vnpay", received_at=timezone.now(),
                          txn_ref=txn_ref[:40], params=params, answer=code, reason=reason)
    if code not in {vnpay.IPN_CONFIRMED}:
        log.warning("IPN %s refused with %s: %s", txn_ref, code, reason)
    return vnpay.ipn_response(code)


# The fields only the gateway puts in an IPN [PAY] (the IPN's parameter list): the signed
# payment link the platform gives the citizen is signed with the same secret but carries
# none of them, so without them a correctly signed request is not a notice from the gateway.
GATEWAY_ONLY = ("vnp_ResponseCode", "vnp_TransactionStatus", "vnp_TransactionNo", "vnp_PayDate")


def handle_vnpay_ipn(*, params: dict) -> dict:
    """VNPAY's IPN: verify, then record the gateway's verdict once (RspCode per the guide:
    00 confirmed, 01 order not found, 02 already confirmed, 04 invalid amount, 97 invalid
    signature, 99 other).

    A request whose signature is right but which lacks a field only the gateway sends (the
    platform's own payment link, replayed here) is answered 99 and changes nothing: 97 would
    tell an operator the secret is wrong, which it is not; 99 is the guide's answer for a
    request the merchant cannot process (the PHP demo's catch-all), and the gateway never
    sends such a request, so no retry is lost. No notice moves an order backwards (see
    _settle); a success after a failure or an expiry is money received, never dropped."""
    params = {k: v for k, v in params.items() if isinstance(v, str)}
    txn_ref = params.get("vnp_TxnRef", "")
    at = timezone.now()
    gateway_notice = all(params.get(f) for f in GATEWAY_ONLY)
    success = gateway_notice and vnpay.is_success(params)
    with transaction.atomic():
        # One read of the order and its dossier, both locked: the same IPN delivered ten
        # times at once is serialised here, so it confirms once and answers 02 after.
        order = queries.order_to_settle(txn_ref)
        gateway = gateway_for(order.agency) if order else VnpayGateway()
        if not gateway.verify_callback(params):
            return _answer(params, vnpay.IPN_INVALID_SIGNATURE, "chữ ký không hợp lệ", txn_ref)
        if not gateway_notice:
            missing = ", ".join(f for f in GATEWAY_ONLY if not params.get(f))
            return _answer(params, vnpay.IPN_UNKNOWN,
                           f"không phải thông báo của cổng thanh toán (thiếu {missing})",
                           txn_ref)
        if order is None:
            return _answer(params, vnpay.IPN_ORDER_NOT_FOUND, "không có đơn thanh toán", txn_ref)
        try:
            amount = vnpay.parse_amount(params)
        except (KeyError, ValueError):
            return _answer(params, vnpay.IPN_INVALID_AMOUNT, "số tiền không đọc được", txn_ref)
        if amount != order.amount:
            return _answer(params, vnpay.IPN_INVALID_AMOUNT,
                           f"số tiền {amount} khác đơn {order.amount}", txn_ref)
        # The writes of settling (order, ledger, dossier, history, outbox, audit, receipt,
        # callback log) go to PostgreSQL in one round trip, not one each (issue 10 §2's floor).
        with fixedsql.pipelined():
            code, reason = _settle(order, params, success, at)
            return _answer(params, code, reason, txn_ref)


CONFIRMED = "đã xác nhận thanh toán"
DUPLICATE = "thanh toán trùng: hồ sơ đã được thanh toán trước đó, cần hoàn tiền đơn này"
SETTLED = {OrderStatus.PAID, OrderStatus.REFUNDED}


def _settle(order: PaymentOrder, params: dict, success: bool, at) -> tuple[str, str]:
    """Record the gateway's verdict on an order (caller holds the order's and its dossier's
    locks): the order's state, one ledger entry with the raw answer, the dossier's payment
    and the e-receipt of the fee. Returns the IPN answer and its reason.

    No verdict moves an order backwards: a paid (or refunded) order stays so, and a failure
    after a success is ignored (02). A success is money the gateway took, whatever came
    before it (a failure, the order's expiry): the order becomes paid; the dossier takes the
    payment if it still can, else the order is flagged for refund (refund_flag, listed on
    the reconciliation page) — it is never dropped."""
    before = order.status
    if before in SETTLED:
        return vnpay.IPN_ALREADY_CONFIRMED, f"đơn đã ở trạng thái {before}: thông báo bỏ qua"
    if not success:
        if before != OrderStatus.PENDING:
            return (vnpay.IPN_ALREADY_CONFIRMED,
                    f"đơn đã ở trạng thái {before}: thông báo không thành công bỏ qua")
        order.status = OrderStatus.FAILED
        order.gateway_txn_no = str(params.get("vnp_TransactionNo") or "")[:40]
        order.bank_code = str(params.get("vnp_BankCode") or "")[:20]
        fixedsql.save_fields(order, ["status", "gateway_txn_no", "bank_code"])
        fixedsql.insert_later(LedgerEntry, order_id=order.pk, kind=EntryKind.FAILED,
                              amount=order.amount, at=at, raw=params,
                              note=f"vnp_ResponseCode={params.get('vnp_ResponseCode')}")
        return vnpay.IPN_CONFIRMED, "giao dịch không thành công"
    dossier = order.dossier
    if dossier.paid_online:
        flag = DUPLICATE
    elif dossier.status in ENDED_STATUSES:
        flag = (f"hồ sơ đã ở trạng thái «{Status(dossier.status).label}» khi cổng báo đã "
                "thu tiền: cần hoàn tiền đơn này")
    else:
        flag = ""
    order.status, order.paid_at, order.refund_flag = OrderStatus.PAID, at, flag
    order.gateway_txn_no = str(params.get("vnp_TransactionNo") or "")[:40]
    order.bank_code = str(params.get("vnp_BankCode") or "")[:20]
    fixedsql.save_fields(order, ["status", "paid_at", "gateway_txn_no", "bank_code",
                                 "refund_flag"])
    note = f"vnp_ResponseCode={params.get('vnp_ResponseCode')}"
    if before != OrderStatus.PENDING or at > order.expires_at:
        note += f" (nhận sau khi đơn {'hết hạn' if at > order.expires_at else before})"
    fixedsql.insert_later(LedgerEntry, order_id=order.pk, kind=EntryKind.CONFIRMED,
                          amount=order.amount, at=at, raw=params, note=note[:255])
    if flag:
        log.warning("Payment %s received but not taken by dossier %s: %s", order.txn_ref,
                    dossier.code, flag)
        return vnpay.IPN_CONFIRMED, flag
    dossier_services.record_payment(dossier=dossier, amount=order.amount, at=at,
                                    reference=order.txn_ref, locked=True)
    issue_receipt(order=order, at=at)
    return vnpay.IPN_CONFIRMED, CONFIRMED


def issue_receipt(*, order: PaymentOrder, at) -> Receipt:
    """The e-receipt of the fee an order paid, in the confirming transaction (the caller
    holds the order's lock and loaded its dossier, procedure and agency). Issued without a
    number: the worker numbers receipts in batches right after (receipts.number_receipts),
    and a reader asking for it first numbers it (receipts.ensure_number)."""
    d, agency = order.dossier, order.agency
    issuer = receipts.issuer_settings(agency.code)
    return fixedsql.insert_later(
        Receipt, order_id=order.pk, dossier_id=order.dossier_id, agency_id=order.agency_id,
        form_symbol=receipts.FORM_SYMBOL, series=receipts.series_for(issuer["letters"], at),
        number=None, token=receipts.new_token(), issued_at=at, amount=order.amount,
        fee_name=d.procedure.name[:500], payer_name=d.applicant_name,
        payer_address=d.applicant_address, issuer_name=agency.name,
        issuer_tax_code=issuer["tax_code"], dossier_code=d.code, txn_ref=order.txn_ref)


# querydr answers: transaction not found at the gateway (the citizen never paid).
QUERYDR_NOT_FOUND = "91"


def query_pending_orders(*, older_than_minutes: int = 15, agency_id: int | None = None,
                         order_ids: list[int] | None = None) -> dict[str, int]:
    """Ask the gateway about orders still pending after `older_than_minutes` (a lost IPN):
    paid ones are confirmed, failed ones recorded, expired unpaid ones closed."""
    at = timezone.now()
    counts = {"paid": 0, "failed": 0, "expired": 0, "pending": 0, "error": 0}
    pending = PaymentOrder.objects.select_related("agency").filter(
        status=OrderStatus.PENDING, created_at__lt=at - timedelta(minutes=older_than_minutes))
    if agency_id is not None:
        pending = pending.filter(agency_id=agency_id)
    if order_ids is not None:
        pending = pending.filter(pk__in=order_ids)
    for order in pending.order_by("created_at")[:1000]:
        outcome = _query_one(order, at)
        if outcome:
            counts[outcome] += 1
    return counts


def _query_one(order: PaymentOrder, at) -> str:
    try:
        answer = gateway_for(order.agency).query(
            txn_ref=order.txn_ref, order_info=f"Truy van {order.txn_ref}",
            created_at=order.created_at, ip_addr="127.0.0.1")
    except (GatewayError, OSError, ValueError) as exc:
        log.warning("querydr %s failed: %s", order.txn_ref, exc)
        return "error"
    with transaction.atomic():
        order = queries.order_to_settle(order.txn_ref)
        if order.status != OrderStatus.PENDING:
            return ""  # settled meanwhile (the IPN arrived)
        status = answer.get("vnp_TransactionStatus")
        if answer.get("vnp_ResponseCode") == "00" and status == "00":
            try:
                if vnpay.parse_amount(answer) != order.amount:
                    return "error"
            except ValueError:
                return "error"
            _settle(order, answer, True, at)
            return "paid"
        if answer.get("vnp_ResponseCode") == "00" and status not in ("01", None):
            _settle(order, answer, False, at)
            return "failed"
        if at > order.expires_at and answer.get("vnp_ResponseCode") == QUERYDR_NOT_FOUND:
            order.status = OrderStatus.EXPIRED
            order.save(update_fields=["status"])
            return "expired"
        return "pending"


def query_order(*, actor, order: PaymentOrder) -> str:
    """An accountant asks the gateway (querydr) about one pending order of their agency."""
    check_can_reconcile(actor, order.agency_id)
    if order.status != OrderStatus.PENDING:
        raise Conflict("Đơn thanh toán không còn ở trạng thái chờ.")
    outcome = _query_one(PaymentOrder.objects.select_related("agency").get(pk=order.pk),
                         timezone.now()) or "paid"
    audit.record(actor=actor, verb="payment.querydr", target=order, data={"outcome": outcome})
    return outcome


# --- refunds (hoàn tiền) ------------------------------------------------------------------

REFUND_REQUESTERS = {"receiver", "specialist"}


def refund_ground(order: PaymentOrder) -> str | None:
    """Why a paid order may be refunded, or None: the payment was flagged when it arrived
    (the dossier was paid already, or had ended), or the dossier was refused, withdrawn or
    stopped after payment."""
    if order.status != OrderStatus.PAID:
        return None
    if order.refund_flag:
        return order.refund_flag[:1].upper() + order.refund_flag[1:]
    if not Receipt.objects.filter(order=order).exists():
        return "Thanh toán trùng: hồ sơ đã được thanh toán bằng giao dịch khác"
    status = Dossier.objects.filter(pk=order.dossier_id).values_list("status", flat=True).first()
    if status in ENDED_WITHOUT_RESULT:
        return f"Hồ sơ «{Status(status).label}» sau khi đã nộp phí"
    return None


def _check_officer_of(actor, agency_id: int, roles: set, what: str) -> None:
    if getattr(actor, "agency_id", None) != agency_id or actor.role not in (
            REFUND_REQUESTERS | {"leader", "accountant", "agency_admin"}):
        raise NotFound("Không tìm thấy giao dịch thanh toán.")
    if actor.role not in roles:
        raise PermissionDenied(f"Vai trò của bạn không được {what}.")


def request_refund(*, actor, order: PaymentOrder, reason: str) -> RefundRequest:
    """A receiver or specialist of the dossier's agency asks to refund a paid order."""
    _check_officer_of(actor, order.agency_id, REFUND_REQUESTERS, "đề nghị hoàn tiền")
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationFailed("Vui lòng ghi lý do hoàn tiền (ít nhất 5 ký tự).")
    with transaction.atomic():
        order = PaymentOrder.objects.select_for_update().get(pk=order.pk)
        ground = refund_ground(order)
        if ground is None:
            raise Conflict("Đơn thanh toán này không thuộc trường hợp được hoàn tiền (chỉ hoàn "
                           "khi hồ sơ bị từ chối, dừng, rút sau khi nộp phí hoặc nộp trùng).")
        if order.refunds.filter(status__in=[RefundStatus.REQUESTED,
                                            RefundStatus.APPROVED]).exists():
            raise Conflict("Đơn thanh toán này đã có đề nghị hoàn tiền.")
        refund = RefundRequest.objects.create(
            order=order, agency_id=order.agency_id, amount=order.amount,
            reason=f"{reason[:400]} ({ground})"[:500], requested_by=actor,
            requested_at=timezone.now())
        outbox.publish("payment.refund_requested", refund, {"txn_ref": order.txn_ref,
                                                            "amount": order.amount})
        audit.record(actor=actor, verb="payment.refund_request", target=refund,
                     data={"txn_ref": order.txn_ref, "amount": order.amount, "reason": reason})
    return refund


def _lock_refund(actor, refund: RefundRequest) -> RefundRequest:
    _check_officer_of(actor, refund.agency_id, {"leader"}, "duyệt hoàn tiền")
    refund = RefundRequest.objects.select_for_update().get(pk=refund.pk)
    if refund.status != RefundStatus.REQUESTED:
        raise Conflict(f"Đề nghị hoàn tiền đã ở trạng thái «{refund.get_status_display()}».")
    return refund


def approve_refund(*, actor, refund: RefundRequest, note: str = "") -> RefundRequest:
    """A leader of the agency approves: the gateway refunds (VNPAY refund API), a `refunded`
    ledger entry keeps its raw answer. Locked, so two clicks refund once."""
    failure = None
    with transaction.atomic():
        refund = _lock_refund(actor, refund)
        order = PaymentOrder.objects.select_for_update().select_related("agency").get(
            pk=refund.order_id)
        if order.status != OrderStatus.PAID:
            raise Conflict("Đơn thanh toán không còn ở trạng thái đã thanh toán.")
        at = timezone.now()
        try:
            answer = gateway_for(order.agency).refund(
                txn_ref=order.txn_ref, amount=refund.amount,
                order_info=f"Hoan tien {order.txn_ref}", transaction_date=order.created_at,
                transaction_no=order.gateway_txn_no, create_by=actor.get_username(),
                ip_addr="127.0.0.1")
        except (GatewayError, OSError, ValueError) as exc:
            answer = {"error": str(exc)[:300]}
        refund.gateway_answer = answer
        if answer.get("vnp_ResponseCode") == "00":
            refund.status, refund.decided_by, refund.decided_at = (
                RefundStatus.APPROVED, actor, at)
            refund.decision_note = note[:500]
            refund.save()
            order.status = OrderStatus.REFUNDED
            order.save(update_fields=["status"])
            LedgerEntry.objects.create(order=order, kind=EntryKind.REFUNDED,
                                       amount=refund.amount, at=at, raw=answer,
                                       note=f"Hoàn tiền theo đề nghị #{refund.pk}")
            outbox.publish("payment.refunded", order, {"txn_ref": order.txn_ref,
                                                       "amount": refund.amount,
                                                       "dossier_id": order.dossier_id})
            audit.record(actor=actor, verb="payment.refund_approve", target=refund,
                         data={"txn_ref": order.txn_ref, "amount": refund.amount})
        else:
            refund.save(update_fields=["gateway_answer"])
            failure = answer.get("vnp_Message") or answer.get("error") or "không rõ"
            code = answer.get("vnp_ResponseCode", "")
    if failure is not None:
        raise Conflict(f"Cổng thanh toán không hoàn tiền (mã {code or '—'}: {failure}). "
                       "Đề nghị vẫn chờ duyệt; vui lòng thử lại sau.")
    return refund


def reject_refund(*, actor, refund: RefundRequest, note: str) -> RefundRequest:
    note = (note or "").strip()
    if len(note) < 5:
        raise ValidationFailed("Vui lòng ghi lý do không duyệt (ít nhất 5 ký tự).")
    with transaction.atomic():
        refund = _lock_refund(actor, refund)
        refund.status, refund.decided_by, refund.decided_at = (
            RefundStatus.REJECTED, actor, timezone.now())
        refund.decision_note = note[:500]
        refund.save()
        audit.record(actor=actor, verb="payment.refund_reject", target=refund,
                     data={"note": note})
    return refund


# --- reconciliation (đối soát) -------------------------------------------------------------

RECONCILERS = {"accountant", "leader"}


def check_can_reconcile(actor, agency_id: int | None) -> None:
    """Accountants and leaders see their agency; a province admin sees every agency."""
    if actor.role == "province_admin":
        return
    if actor.role not in RECONCILERS:
        raise PermissionDenied("Chỉ kế toán hoặc lãnh đạo cơ quan được đối soát thanh toán.")
    if agency_id is not None and actor.agency_id != agency_id:
        raise NotFound("Không tìm thấy giao dịch thanh toán.")


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



def reconcile_for(*, agency_id: int | None, day: date, gateway=None) -> list[Mismatch]:
    """reconcile() narrowed to one agency's orders (None: every agency, and the gateway's
    rows that match no order at all)."""
    found = reconcile(day=day, gateway=gateway)
    if agency_id is None:
        return found
    mine = set(PaymentOrder.objects.filter(
        agency_id=agency_id, txn_ref__in=[m.txn_ref for m in found]).values_list(
        "txn_ref", flat=True))
    return [m for m in found if m.txn_ref in mine]
