"""Payment gateways behind one small interface. VNPAY (integration guide 2.1.0) is the
first; the local sandbox speaks the same protocol, so it is the same class pointed at
another URL. The national payment platform (PayGov) fits the same interface."""

import csv
import io
import json
import secrets
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone

from chinhquyenso.core.errors import ValidationFailed

from . import vnpay


class PaymentGateway(Protocol):
    name: str

    def payment_url(self, *, txn_ref: str, amount: int, order_info: str, return_url: str,
                    ip_addr: str, created_at: datetime, expires_at: datetime) -> str: ...

    def verify_callback(self, params: dict) -> bool: ...

    def query(self, *, txn_ref: str, order_info: str, created_at: datetime,
              ip_addr: str) -> dict: ...

    def refund(self, *, txn_ref: str, amount: int, order_info: str,
               transaction_date: datetime, transaction_no: str, create_by: str,
               ip_addr: str) -> dict: ...

    def settlement(self, day) -> list[dict]: ...


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

    def _post(self, body: dict) -> dict:
        req = urllib.request.Request(self.cfg.api_url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=15) as resp:  # noqa: S310 (configured URL)
            answer = json.loads(resp.read().decode())
        if not vnpay.verify_api_response(answer, self.cfg.hash_secret):
            raise GatewayError("Câu trả lời của cổng thanh toán sai chữ ký.")
        return answer

    def query(self, *, txn_ref, order_info, created_at, ip_addr) -> dict:
        """querydr: what the gateway knows of one payment."""
        return self._post(vnpay.querydr_request(
            self.cfg, request_id=secrets.token_hex(8), txn_ref=txn_ref, order_info=order_info,
            transaction_date=created_at, create_date=timezone.now(), ip_addr=ip_addr))

    def refund(self, *, txn_ref, amount, order_info, transaction_date, transaction_no,
               create_by, ip_addr) -> dict:
        """refund: a full refund of one payment (vnp_TransactionType 02) [API]."""
        return self._post(vnpay.refund_request(
            self.cfg, request_id=secrets.token_hex(8), txn_ref=txn_ref, amount=amount,
            order_info=order_info, transaction_date=transaction_date,
            create_date=timezone.now(), ip_addr=ip_addr, create_by=create_by,
            transaction_no=transaction_no, full=True))

    def settlement(self, day) -> list[dict]:
        """The day's settlement file: rows with txn_ref, transaction_no, amount (đồng),
        status. VNPAY hands merchants this file outside the payment API; the platform reads
        it from VNPAY_SETTLEMENT_URL (the sandbox serves it) or VNPAY_SETTLEMENT_DIR."""
        if settings.VNPAY_SETTLEMENT_URL:
            url = f"{settings.VNPAY_SETTLEMENT_URL}?date={day.isoformat()}"
            with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310
                text = resp.read().decode("utf-8-sig")
        else:
            path = Path(settings.VNPAY_SETTLEMENT_DIR) / f"{day.isoformat()}.csv"
            if not path.exists():
                raise GatewayError(f"Chưa có tệp đối soát {path}.")
            text = path.read_text(encoding="utf-8-sig")
        rows = []
        for row in csv.DictReader(io.StringIO(text)):
            rows.append({**row, "amount": int(row["amount"])})
        return rows


class GatewayError(Exception):
    """The gateway did not answer, or answered something the platform cannot trust."""


GATEWAYS = {"vnpay": VnpayGateway}


def gateway_for(agency) -> PaymentGateway:
    """The gateway an agency has contracted (settings.CQS_PAYMENT_GATEWAY_BY_AGENCY)."""
    name = settings.CQS_PAYMENT_GATEWAY_BY_AGENCY.get(agency.code, settings.CQS_PAYMENT_GATEWAY)
    if name not in GATEWAYS:
        raise ValidationFailed(f"Cơ quan chưa cấu hình cổng thanh toán «{name}».")
    return GATEWAYS[name]()
