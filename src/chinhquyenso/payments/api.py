from django.http import JsonResponse
from ninja import Header, Router, Schema
from ninja import Status as Reply

from chinhquyenso.api import AUTH
from chinhquyenso.core.errors import NotFound
from chinhquyenso.core.idempotency import run_once
from chinhquyenso.core.schemas import ERRORS
from chinhquyenso.dossiers.queries import get_visible

from . import services

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
