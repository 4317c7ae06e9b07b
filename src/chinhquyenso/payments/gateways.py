"""Payment gateways behind one small interface. VNPAY (integration guide 2.1.0) is the
first; the local sandbox speaks the same protocol, so it is the same class pointed at
another URL. The national payment platform (PayGov) fits the same interface."""

from datetime import datetime
from typing import Protocol

from django.conf import settings

from chinhquyenso.core.errors import ValidationFailed

from . import vnpay


class PaymentGateway(Protocol):
    name: str

    def payment_url(self, *, txn_ref: str, amount: int, order_info: str, return_url: str,
                    ip_addr: str, created_at: datetime, expires_at: datetime) -> str: ...

    def verify_callback(self, params: dict) -> bool: ...


class VnpayGateway:
    name = "vnpay"

    def __init__(self, cfg: vnpay.VnpayConfig | None = None):
        self.cfg = cfg or vnpay.VnpayConfig(
            tmn_code=settings.VNPAY_TMN_CODE, hash_secret=settings.VNPAY_HASH_SECRET,
            payment_url=settings.VNPAY_PAYMENT_URL, api_url=settings.VNPAY_API_URL,
        )

    def payment_url(self, *, txn_ref, amount, order_info, return_url, ip_addr, created_at,
                    expires_at) -> str:
        return vnpay.build_payment_url(
            self.cfg, txn_ref=txn_ref, amount=amount, order_info=order_info,
            return_url=return_url, ip_addr=ip_addr, create_date=created_at,
            expire_date=expires_at,
        )

    def verify_callback(self, params: dict) -> bool:
        return vnpay.verify_signature(params, self.cfg.hash_secret)


GATEWAYS = {"vnpay": VnpayGateway}


def gateway_for(agency) -> PaymentGateway:
    """The gateway an agency has contracted (settings.CQS_PAYMENT_GATEWAY_BY_AGENCY)."""
    name = settings.CQS_PAYMENT_GATEWAY_BY_AGENCY.get(agency.code, settings.CQS_PAYMENT_GATEWAY)
    if name not in GATEWAYS:
        raise ValidationFailed(f"Cơ quan chưa cấu hình cổng thanh toán «{name}».")
    return GATEWAYS[name]()
