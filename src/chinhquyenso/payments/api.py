from datetime import datetime

from django.http import JsonResponse
from ninja import Header, Router, Schema
from ninja import Status as Reply

from chinhquyenso.api import AUTH
from chinhquyenso.core.downloads import serve_file
from chinhquyenso.core.errors import NotFound, ValidationFailed
from chinhquyenso.core.idempotency import run_once
from chinhquyenso.core.schemas import ERRORS
from chinhquyenso.dossiers.queries import get_visible

from . import queries, receipts, services
from .models import PaymentOrder, RefundRequest

router = Router(tags=["Thanh toán"])


class PaymentCreated(Schema):
    payment_url: str
    txn_ref: str
    amount: int


class IpnAnswer(Schema):
    RspCode: str
    Message: str


def _client_ip(request) -> str:
    return (request.META.get("REMOTE_ADDR") or "127.0.0.1")[:45]


@router.post("/dossiers/{code}/payments", response={201: PaymentCreated, **ERRORS}, auth=AUTH)
def create_payment(request, code: str,
                   idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """Người nộp thanh toán phí, lệ phí của hồ sơ: trả về đường dẫn tới cổng thanh toán."""
    d = get_visible(request.auth, code)
    if d is None:
        raise NotFound("Không tìm thấy hồ sơ.")

    def create():
        order, url = services.create_payment(actor=request.auth, dossier=d,
                                             ip_addr=_client_ip(request))
        return 201, {"payment_url": url, "txn_ref": order.txn_ref, "amount": order.amount}

    status, body = run_once(user=request.auth, scope=f"payments.create:{code}",
                            key=idempotency_key, payload={"dossier": code}, create=create)
    return Reply(status, body)


@router.get("/payments/vnpay/ipn", response={200: IpnAnswer}, auth=None)
def vnpay_ipn(request):
    """IPN của VNPAY (máy chủ gọi máy chủ): trả lời RspCode/Message theo tài liệu tích hợp."""
    return JsonResponse(services.handle_vnpay_ipn(params=request.GET.dict()))


class ReceiptOut(Schema):
    id: int
    form_symbol: str
    series: str
    number: str
    amount: int
    fee_name: str
    issued_at: datetime
    pdf_url: str
    verify_url: str


def _receipt_out(r) -> dict:
    return {"id": r.pk, "form_symbol": r.form_symbol, "series": r.series,
            "number": r.number_label, "amount": r.amount, "fee_name": r.fee_name,
            "issued_at": r.issued_at, "pdf_url": f"/api/v1/receipts/{r.pk}/pdf",
            "verify_url": receipts.verify_url(r.token)}


@router.get("/dossiers/{code}/receipts", response={200: list[ReceiptOut], **ERRORS}, auth=AUTH)
def dossier_receipts(request, code: str):
    """Biên lai điện tử thu phí, lệ phí của hồ sơ (người nộp, cán bộ cơ quan thu)."""
    d = get_visible(request.auth, code)
    if d is None:
        raise NotFound("Không tìm thấy hồ sơ.")
    found = [receipts.ensure_number(r) for r in
             d.receipts.select_related("dossier").order_by("issued_at", "id")
             if queries.may_see_receipt(request.auth, r)]
    return Reply(200, [_receipt_out(r) for r in found])


@router.get("/receipts/{receipt_id}/pdf", response={200: None, **ERRORS}, auth=AUTH)
def receipt_pdf(request, receipt_id: int):
    """Tải biên lai điện tử (PDF): người nộp hồ sơ hoặc cán bộ cơ quan thu."""
    r = queries.receipt_visible_to(request.auth, receipt_id)
    if r is None:
        raise NotFound("Không tìm thấy biên lai.")
    return serve_file(receipts.render_pdf(receipts.view_of(r)), content_type="application/pdf",
                      filename=f"bien-lai-{r.series}-{r.number_label}.pdf", inline=False)


class RefundIn(Schema):
    reason: str


class DecisionIn(Schema):
    note: str = ""


class RefundOut(Schema):
    id: int
    txn_ref: str
    dossier_code: str
    amount: int
    reason: str
    status: str
    requested_at: datetime
    decided_at: datetime | None = None
    decision_note: str = ""


def _refund_out(r) -> dict:
    order = PaymentOrder.objects.select_related("dossier").get(pk=r.order_id)
    return {"id": r.pk, "txn_ref": order.txn_ref, "dossier_code": order.dossier.code,
            "amount": r.amount, "reason": r.reason, "status": r.status,
            "requested_at": r.requested_at.isoformat(),
            "decided_at": r.decided_at.isoformat() if r.decided_at else None,
            "decision_note": r.decision_note}


def _order_for_officer(user, txn_ref: str) -> PaymentOrder:
    order = PaymentOrder.objects.filter(txn_ref=txn_ref).first()
    if order is None or getattr(user, "agency_id", None) != order.agency_id:
        raise NotFound("Không tìm thấy giao dịch thanh toán.")
    return order


def _refund_for_officer(user, refund_id: int) -> RefundRequest:
    refund = RefundRequest.objects.filter(pk=refund_id).first()
    if refund is None or getattr(user, "agency_id", None) != refund.agency_id:
        raise NotFound("Không tìm thấy đề nghị hoàn tiền.")
    return refund


@router.post("/payments/{txn_ref}/refunds", response={201: RefundOut, **ERRORS}, auth=AUTH)
def request_refund(request, txn_ref: str, body: RefundIn,
                   idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    """Cán bộ tiếp nhận/chuyên viên đề nghị hoàn tiền một giao dịch đã thanh toán (hồ sơ bị
    từ chối, dừng, rút sau khi nộp phí, hoặc nộp trùng); lãnh đạo cơ quan duyệt."""
    order = _order_for_officer(request.auth, txn_ref)

    def create():
        refund = services.request_refund(actor=request.auth, order=order, reason=body.reason)
        return 201, _refund_out(refund)

    status, out = run_once(user=request.auth, scope=f"payments.refund:{txn_ref}",
                           key=idempotency_key, payload=body.dict(), create=create)
    return Reply(status, out)


@router.get("/refunds", response={200: list[RefundOut], **ERRORS}, auth=AUTH)
def list_refunds(request, status: str = "requested"):
    """Đề nghị hoàn tiền của cơ quan (mới nhất trước; tối đa 200)."""
    if status not in ("requested", "approved", "rejected", "all"):
        raise ValidationFailed("Trạng thái phải là requested, approved, rejected hoặc all.")
    if getattr(request.auth, "agency_id", None) is None:
        raise NotFound("Không có cơ quan.")
    rows = queries.refunds_for(request.auth, None if status == "all" else status)
    return Reply(200, [_refund_out(r) for r in rows])


@router.post("/refunds/{refund_id}/approve", response={200: RefundOut, **ERRORS}, auth=AUTH)
def approve_refund(request, refund_id: int, body: DecisionIn):
    """Lãnh đạo cơ quan duyệt: cổng thanh toán hoàn tiền (một lần, có khóa)."""
    refund = _refund_for_officer(request.auth, refund_id)
    return Reply(200, _refund_out(services.approve_refund(actor=request.auth, refund=refund,
                                                          note=body.note)))


@router.post("/refunds/{refund_id}/reject", response={200: RefundOut, **ERRORS}, auth=AUTH)
def reject_refund(request, refund_id: int, body: DecisionIn):
    """Lãnh đạo cơ quan không duyệt đề nghị hoàn tiền (ghi lý do)."""
    refund = _refund_for_officer(request.auth, refund_id)
    return Reply(200, _refund_out(services.reject_refund(actor=request.auth, refund=refund,
                                                         note=body.note)))
