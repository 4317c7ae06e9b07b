"""Pages of the payments app: the citizen's return page and e-receipts, the public receipt
verification, the officers' refunds and the accountant's reconciliation. Thin: parse, call one
service or query, render."""

from datetime import date

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from chinhquyenso.core.downloads import serve_file
from chinhquyenso.core.errors import DomainError
from chinhquyenso.core.exports import table_response
from chinhquyenso.core.web import officer_required, staff_required
from chinhquyenso.core.workcalendar import in_horizon
from chinhquyenso.dossiers.queries import get_visible

from . import queries, receipts, services
from .gateways import GatewayError
from .models import PaymentOrder, RefundRequest


def payment_return(request):
    """/thanh-toan/ket-qua: where the gateway sends the citizen back. It only displays what
    the platform knows of the order (set by the verified IPN), never trusts the URL."""
    order, genuine = services.order_for_return(request.GET.dict())
    receipt = queries.receipt_of_order(order) if order is not None and genuine else None
    return render(request, "payments/return.html",
                  {"order": order if genuine else None, "forged": order is not None and
                   not genuine, "receipt": receipt,
                   "receipt_url": queries.receipt_url(receipt) if receipt else ""},
                  status=200 if genuine else 400)


def receipt_pdf(request, receipt_id: int):
    """/thanh-toan/bien-lai/<id>.pdf: the applicant, or an officer of the issuing agency."""
    receipt = queries.receipt_visible_to(request.user, receipt_id)
    if receipt is None:
        raise Http404("Không tìm thấy biên lai.")
    body = receipts.render_pdf(receipts.view_of(receipt))
    return serve_file(body, content_type="application/pdf",
                      filename=f"bien-lai-{receipt.series}-{receipt.number_label}.pdf")


def receipt_verify(request, token: str):
    """/thanh-toan/bien-lai/xac-minh/<token>: public, shows what the receipt prints."""
    receipt = queries.receipt_by_token(token)
    if receipt is None:
        return render(request, "payments/verify.html", {"receipt": None}, status=404)
    return render(request, "payments/verify.html",
                  {"receipt": receipt, "amount_words": receipts.amount_in_words(receipt.amount),
                   "amount_text": receipts.format_vnd(receipt.amount)})


# --- refunds ----------------------------------------------------------------------------


@officer_required("leader", "receiver", "specialist")
def refund_list(request):
    """/thanh-toan/hoan-tien: the agency's refund requests; the leader approves or rejects."""
    status = request.GET.get("trang_thai", "requested")
    if status not in ("requested", "approved", "rejected", "all"):
        status = "requested"
    rows = queries.refunds_for(request.user, None if status == "all" else status)
    return render(request, "payments/refunds.html", {"rows": rows, "status": status})


@officer_required("receiver", "specialist")
def refund_request(request):
    """/thanh-toan/hoan-tien/de-nghi?ho_so=<code>: request a refund of a paid order."""
    code = (request.GET.get("ho_so") or request.POST.get("ho_so") or "").strip()
    dossier = get_visible(request.user, code) if code else None
    if dossier is None or dossier.agency_id != request.user.agency_id:
        raise Http404("Không tìm thấy hồ sơ.")
    orders = [{"order": o, "ground": services.refund_ground(o)}
              for o in queries.paid_orders_of_dossier(dossier)]
    ctx = {"dossier": dossier, "orders": orders, "error": "", "reason": ""}
    if request.method == "POST":
        order = PaymentOrder.objects.filter(dossier=dossier,
                                            txn_ref=request.POST.get("txn_ref", "")).first()
        ctx["reason"] = request.POST.get("reason", "")
        if order is None:
            ctx["error"] = "Vui lòng chọn giao dịch cần hoàn tiền."
            return render(request, "payments/refund_request.html", ctx, status=422)
        try:
            services.request_refund(actor=request.user, order=order, reason=ctx["reason"])
        except DomainError as exc:
            ctx["error"] = exc.detail
            return render(request, "payments/refund_request.html", ctx, status=exc.status)
        messages.success(request, f"Đã gửi đề nghị hoàn tiền giao dịch {order.txn_ref} tới "
                                  "lãnh đạo cơ quan.")
        return redirect("payments:refunds")
    return render(request, "payments/refund_request.html", ctx)


@officer_required("leader")
@require_POST
def refund_decide(request, refund_id: int, decision: str):
    refund = RefundRequest.objects.filter(pk=refund_id,
                                          agency_id=request.user.agency_id).first()
    if refund is None or decision not in ("duyet", "tu-choi"):
        raise Http404("Không tìm thấy đề nghị hoàn tiền.")
    note = request.POST.get("note", "")
    try:
        if decision == "duyet":
            services.approve_refund(actor=request.user, refund=refund, note=note)
            messages.success(request, f"Đã hoàn {refund.amount:,} đồng cho giao dịch "
                                      f"{refund.order.txn_ref}.".replace(",", "."))
        else:
            services.reject_refund(actor=request.user, refund=refund, note=note)
            messages.success(request, "Đã không duyệt đề nghị hoàn tiền.")
    except DomainError as exc:
        messages.error(request, exc.detail)
    return redirect("payments:refunds")


# --- reconciliation ---------------------------------------------------------------------


def _reconcile_scope(request):
    user = request.user
    services.check_can_reconcile(user, None)
    return None if user.role == "province_admin" else user.agency_id


def _day(request) -> tuple[date, str]:
    raw = request.GET.get("ngay") or ""
    today = timezone.now().astimezone(queries.VN).date()
    if not raw:
        return today, ""
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not in_horizon(day):
        return today, "Ngày không hợp lệ (dạng NNNN-TT-NN, năm 2000–2100); đang hiển thị hôm nay."
    return day, ""


@staff_required("accountant", "leader", "province_admin")
def reconciliation(request):
    """/thanh-toan/doi-soat?ngay=YYYY-MM-DD: the day's payments, the mismatches with the
    gateway's settlement file, and pending orders to query."""
    agency_id = _reconcile_scope(request)
    day, error = _day(request)
    rows, count, total = queries.payments_of_day(agency_id, day)
    mismatches, settlement_error = [], ""
    try:
        mismatches = services.reconcile_for(agency_id=agency_id, day=day)
    except (GatewayError, OSError, ValueError, KeyError) as exc:
        settlement_error = f"Chưa lấy được tệp quyết toán của cổng thanh toán: {exc}"
    return render(request, "payments/reconciliation.html", {
        "day": day, "error": error, "rows": rows, "count": count, "total": total,
        "mismatches": mismatches, "settlement_error": settlement_error,
        "pending": queries.stale_pending_orders(agency_id),
        "to_refund": queries.orders_to_refund(agency_id),
    }, status=422 if error else 200)


@staff_required("accountant", "leader", "province_admin")
@require_POST
def reconciliation_query(request, txn_ref: str):
    agency_id = _reconcile_scope(request)
    order = PaymentOrder.objects.filter(txn_ref=txn_ref).first()
    if order is None or (agency_id is not None and order.agency_id != agency_id):
        raise Http404("Không tìm thấy giao dịch.")
    try:
        outcome = services.query_order(actor=request.user, order=order)
        messages.success(request, f"Giao dịch {txn_ref}: {QUERY_OUTCOMES[outcome]}.")
    except DomainError as exc:
        messages.error(request, exc.detail)
    return redirect(f"/thanh-toan/doi-soat?ngay={request.POST.get('ngay', '')}")


QUERY_OUTCOMES = {"paid": "cổng xác nhận đã thanh toán, đã ghi nhận",
                  "failed": "giao dịch không thành công", "expired": "đơn đã hết hạn",
                  "pending": "cổng chưa có kết quả", "error": "không truy vấn được cổng"}


@staff_required("accountant", "leader", "province_admin")
def reconciliation_csv(request):
    agency_id = _reconcile_scope(request)
    day, error = _day(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    rows, _, _ = queries.payments_of_day(agency_id, day)
    header = ["Mã giao dịch", "Mã hồ sơ", "Cơ quan", "Số tiền (đồng)", "Thời điểm thanh toán",
              "Mã giao dịch tại cổng", "Ngân hàng", "Trạng thái"]
    return table_response(f"thanh-toan-{day.isoformat()}", header, (
        [o.txn_ref, o.dossier.code, o.agency.code, o.amount,
         timezone.localtime(o.paid_at, queries.VN).strftime("%d/%m/%Y %H:%M:%S"),
         o.gateway_txn_no, o.bank_code, o.get_status_display()] for o in rows))
