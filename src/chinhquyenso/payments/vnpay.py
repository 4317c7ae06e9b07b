"""The VNPAY payment gateway protocol, version 2.1.0, as pure functions (no Django, no I/O).

Sources (VNPAY's public integration guide and its sample code, read for this module):

[PAY]   https://sandbox.vnpayment.vn/apis/docs/thanh-toan-pay/pay.html
        Payment URL, return URL and IPN URL: parameter list, vnp_Amount = VND x 100, dates
        yyyyMMddHHmmss in GMT+7, IPN answer {"RspCode", "Message"}.
[API]   https://sandbox.vnpayment.vn/apis/docs/truy-van-hoan-tien/querydr&refund.html
        querydr and refund: POST application/json to .../merchant_webapi/api/transaction,
        checksum = HMAC-SHA512 over the values joined with '|' in a fixed order.
[HASH]  https://sandbox.vnpayment.vn/apis/docs/chuyen-doi-thuat-toan/changeTypeHash.html
        Version 2.1.0 signs with HMAC-SHA512; vnp_SecureHashType is no longer sent.
[DEMO]  VNPAY's downloadable demos for that guide (vnpay_php, vnpay_python, vnpay_nodejs),
        which fix what the prose leaves open: the exact string that is signed.

Payment URL / return URL / IPN signature [PAY][HASH][DEMO]:
    take every vnp_* parameter except vnp_SecureHash and vnp_SecureHashType, sort by name,
    write each as quote_plus(name) + "=" + quote_plus(value) (UTF-8, space -> '+', '/' and
    ':' percent-encoded: the guide's own sample URL has vnp_OrderInfo=Thanh+toan+don+hang+%3A5
    and vnp_ReturnUrl=https%3A%2F%2F...), join with '&', and HMAC-SHA512 that string with
    the hash secret; the hex digest is vnp_SecureHash. The query string of the payment URL is
    that same string followed by &vnp_SecureHash=<hex>.
    (PHP's urlencode, used by the PHP demo, differs from quote_plus only on '~', which it
    writes %7E; the Python demo uses quote_plus. Avoid '~' in order information.)

querydr / refund checksum [API][DEMO]: see QUERYDR_REQUEST_FIELDS and the other *_FIELDS
tuples below (request and response orders differ and are not the JSON key order).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote_plus

VERSION = "2.1.0"

# [PAY] "Thời gian ... định dạng yyyyMMddHHmmss (Time zone GMT+7)".
GMT7 = timezone(timedelta(hours=7), "GMT+7")
DATE_FORMAT = "%Y%m%d%H%M%S"

SECURE_HASH = "vnp_SecureHash"
SECURE_HASH_TYPE = "vnp_SecureHashType"  # sent by 2.0.x only [HASH]; never signed
PREFIX = "vnp_"

# vnp_ResponseCode / vnp_TransactionStatus of a payment [PAY]: "00" = success.
SUCCESS = "00"
# Response codes the gateway itself uses on the return/IPN URL [PAY] (subset).
RESPONSE_CANCELLED = "24"  # "Khách hàng hủy giao dịch"
RESPONSE_INSUFFICIENT_FUNDS = "51"  # "Tài khoản của quý khách không đủ số dư"

# IPN answer codes and the guide's exact messages [PAY] (IPN section, and vnpay_ipn.php of
# the PHP demo: 'Confirm Success', 'Order not found', 'Order already confirmed',
# 'Invalid amount', 'Invalid signature', 'Unknow error' — sic, the guide's spelling).
IPN_CONFIRMED = "00"
IPN_ORDER_NOT_FOUND = "01"
IPN_ALREADY_CONFIRMED = "02"
IPN_INVALID_AMOUNT = "04"
IPN_INVALID_SIGNATURE = "97"
IPN_UNKNOWN = "99"
IPN_MESSAGES = {
    IPN_CONFIRMED: "Confirm Success",
    IPN_ORDER_NOT_FOUND: "Order not found",
    IPN_ALREADY_CONFIRMED: "Order already confirmed",
    IPN_INVALID_AMOUNT: "Invalid amount",
    IPN_INVALID_SIGNATURE: "Invalid signature",
    IPN_UNKNOWN: "Unknow error",
}

# querydr / refund [API].
COMMAND_QUERYDR = "querydr"
COMMAND_REFUND = "refund"
TRANSACTION_PAYMENT = "01"  # vnp_TransactionType in answers: payment
REFUND_FULL = "02"  # "Giao dịch hoàn trả toàn phần"
REFUND_PARTIAL = "03"  # "Giao dịch hoàn trả một phần"
# The official demos send "0" when the merchant has not recorded VNPAY's transaction number
# (vnp_TransactionNo is optional in a refund request).
UNKNOWN_TRANSACTION_NO = "0"

# Checksum orders: data = v1 + "|" + v2 + ... [API]; confirmed against vnpay_nodejs
# (routes/order.js) and vnpay_php (vnpay_refund.php, vnpay_querydr.php).
QUERYDR_REQUEST_FIELDS = (
    "vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TxnRef",
    "vnp_TransactionDate", "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo",
)
REFUND_REQUEST_FIELDS = (
    "vnp_RequestId", "vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_TransactionType",
    "vnp_TxnRef", "vnp_Amount", "vnp_TransactionNo", "vnp_TransactionDate", "vnp_CreateBy",
    "vnp_CreateDate", "vnp_IpAddr", "vnp_OrderInfo",
)
# Answers [API]: the refund answer is signed over the first 13 fields; the querydr answer
# adds the two promotion fields, signed as empty strings when absent.
REFUND_RESPONSE_FIELDS = (
    "vnp_ResponseId", "vnp_Command", "vnp_ResponseCode", "vnp_Message", "vnp_TmnCode",
    "vnp_TxnRef", "vnp_Amount", "vnp_BankCode", "vnp_PayDate", "vnp_TransactionNo",
    "vnp_TransactionType", "vnp_TransactionStatus", "vnp_OrderInfo",
)
QUERYDR_RESPONSE_FIELDS = REFUND_RESPONSE_FIELDS + ("vnp_PromotionCode", "vnp_PromotionAmount")


@dataclass(frozen=True)
class VnpayConfig:
    tmn_code: str  # vnp_TmnCode, 8 characters
    hash_secret: str  # vnp_HashSecret
    payment_url: str  # e.g. https://sandbox.vnpayment.vn/paymentv2/vpcpay.html
    api_url: str  # e.g. https://sandbox.vnpayment.vn/merchant_webapi/api/transaction


# --- primitives ------------------------------------------------------------------------


def hmac_sha512(secret: str, data: str) -> str:
    """HMAC-SHA512 of the UTF-8 bytes of data keyed with the UTF-8 secret, lower-case hex."""
    return hmac.new(secret.encode("utf-8"), data.encode("utf-8"), hashlib.sha512).hexdigest()


def _signed_items(params: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted(
        (str(k), "" if v is None else str(v)) for k, v in params.items()
        if str(k).startswith(PREFIX) and k not in (SECURE_HASH, SECURE_HASH_TYPE)
    )


def signing_data(params: Mapping[str, str]) -> str:
    """The canonical string signed on the payment URL and verified on the return/IPN URLs:
    vnp_* parameters other than vnp_SecureHash/vnp_SecureHashType, sorted by name, each
    quote_plus(name)=quote_plus(value), joined with '&' [PAY][DEMO]."""
    return "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in _signed_items(params))


def sign(params: Mapping[str, str], secret: str) -> str:
    return hmac_sha512(secret, signing_data(params))


def verify_signature(params: Mapping[str, str], secret: str) -> bool:
    """True when vnp_SecureHash is the signature of the other vnp_* parameters (return URL
    and IPN). vnp_SecureHashType, if a 2.0.x-style sender adds it, is ignored."""
    given = params.get(SECURE_HASH)
    if not given or not isinstance(given, str):
        return False
    return _same(given, sign(params, secret))


def _same(given: str, expected: str) -> bool:
    """Constant-time comparison; hex case is not significant."""
    return hmac.compare_digest(given.strip().lower().encode("utf-8"), expected.encode("ascii"))


def signed_query(params: Mapping[str, str], secret: str) -> str:
    """The query string VNPAY (and the sandbox) send: canonical string + &vnp_SecureHash."""
    data = signing_data(params)
    return f"{data}&{SECURE_HASH}={hmac_sha512(secret, data)}"


def format_date(dt: datetime) -> str:
    """yyyyMMddHHmmss in GMT+7 [PAY]. dt must be timezone-aware."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("VNPAY dates need an aware datetime (the guide uses GMT+7).")
    return dt.astimezone(GMT7).strftime(DATE_FORMAT)


def parse_date(s: str) -> datetime:
    """yyyyMMddHHmmss (GMT+7) -> aware datetime in GMT+7."""
    if not isinstance(s, str) or len(s) != 14 or not s.isdigit():
        raise ValueError(f"Not a VNPAY date (yyyyMMddHHmmss): {s!r}")
    return datetime.strptime(s, DATE_FORMAT).replace(tzinfo=GMT7)


def _vnp_amount(amount: int) -> str:
    # [PAY] "nhân thêm 100 lần (khử phần thập phân)": 10,000 VND is sent as 1000000.
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"Amount must be a positive whole number of đồng: {amount!r}")
    return str(amount * 100)


def parse_amount(params: Mapping[str, str]) -> int:
    """vnp_Amount / 100, in đồng. ValueError unless a non-negative integer multiple of 100."""
    raw = params.get("vnp_Amount")
    s = "" if raw is None else str(raw).strip()
    if not s.isdigit() or not s.isascii():
        raise ValueError(f"vnp_Amount is not a whole number: {raw!r}")
    value = int(s)
    if value % 100:
        raise ValueError(f"vnp_Amount is not a multiple of 100: {raw!r}")
    return value // 100


def is_success(params: Mapping[str, str]) -> bool:
    """Both vnp_ResponseCode and vnp_TransactionStatus are "00" (the IPN demo's test)."""
    return (params.get("vnp_ResponseCode") == SUCCESS
            and params.get("vnp_TransactionStatus") == SUCCESS)


# --- payment URL (vnp_Command=pay) -----------------------------------------------------


def payment_params(cfg: VnpayConfig, *, txn_ref: str, amount: int, order_info: str,
                   return_url: str, ip_addr: str, create_date: datetime,
                   expire_date: datetime, order_type: str = "other", locale: str = "vn",
                   bank_code: str | None = None) -> dict[str, str]:
    """The unsigned parameters of a payment request [PAY]."""
    if not txn_ref:
        raise ValueError("vnp_TxnRef is required.")
    if not order_info:
        raise ValueError("vnp_OrderInfo is required.")
    if expire_date <= create_date:
        raise ValueError("vnp_ExpireDate must be after vnp_CreateDate.")
    params = {
        "vnp_Version": VERSION,
        "vnp_Command": "pay",
        "vnp_TmnCode": cfg.tmn_code,
        "vnp_Amount": _vnp_amount(amount),
        "vnp_CreateDate": format_date(create_date),
        "vnp_CurrCode": "VND",
        "vnp_IpAddr": ip_addr,
        "vnp_Locale": locale,
        "vnp_OrderInfo": order_info,
        "vnp_OrderType": order_type,
        "vnp_ReturnUrl": return_url,
        "vnp_TxnRef": txn_ref,
        "vnp_ExpireDate": format_date(expire_date),
    }
    if bank_code:  # optional: without it the customer picks the method at VNPAY [PAY]
        params["vnp_BankCode"] = bank_code
    return params


def build_payment_url(cfg: VnpayConfig, *, txn_ref: str, amount: int, order_info: str,
                      return_url: str, ip_addr: str, create_date: datetime,
                      expire_date: datetime, order_type: str = "other", locale: str = "vn",
                      bank_code: str | None = None) -> str:
    """The URL to redirect the citizen to. amount in đồng; dates aware (sent in GMT+7)."""
    params = payment_params(
        cfg, txn_ref=txn_ref, amount=amount, order_info=order_info, return_url=return_url,
        ip_addr=ip_addr, create_date=create_date, expire_date=expire_date,
        order_type=order_type, locale=locale, bank_code=bank_code,
    )
    return f"{cfg.payment_url}?{signed_query(params, cfg.hash_secret)}"


# --- IPN answer ------------------------------------------------------------------------


def ipn_response(code: str) -> dict:
    """The JSON body the merchant answers an IPN call with [PAY]."""
    if code not in IPN_MESSAGES:
        raise ValueError(f"Not an IPN answer code: {code!r}")
    return {"RspCode": code, "Message": IPN_MESSAGES[code]}


# --- querydr / refund ------------------------------------------------------------------


def pipe_data(values: Mapping[str, object], fields: tuple[str, ...]) -> str:
    """values of fields joined with '|'; a missing (or null) field is an empty string."""
    return "|".join("" if values.get(f) is None else str(values.get(f)) for f in fields)


def querydr_request(cfg: VnpayConfig, *, request_id: str, txn_ref: str, order_info: str,
                    transaction_date: datetime, create_date: datetime, ip_addr: str,
                    transaction_no: str | None = None) -> dict:
    """The JSON body of a querydr call [API]. transaction_date is the payment's
    vnp_CreateDate; create_date is now. vnp_TransactionNo is optional and not signed."""
    body = {
        "vnp_RequestId": str(request_id),
        "vnp_Version": VERSION,
        "vnp_Command": COMMAND_QUERYDR,
        "vnp_TmnCode": cfg.tmn_code,
        "vnp_TxnRef": txn_ref,
        "vnp_OrderInfo": order_info,
        "vnp_TransactionDate": format_date(transaction_date),
        "vnp_CreateDate": format_date(create_date),
        "vnp_IpAddr": ip_addr,
    }
    if transaction_no:
        body["vnp_TransactionNo"] = str(transaction_no)
    body[SECURE_HASH] = hmac_sha512(cfg.hash_secret, pipe_data(body, QUERYDR_REQUEST_FIELDS))
    return body


def refund_request(cfg: VnpayConfig, *, request_id: str, txn_ref: str, amount: int,
                   order_info: str, transaction_date: datetime, create_date: datetime,
                   ip_addr: str, create_by: str, transaction_no: str = "",
                   full: bool = True) -> dict:
    """The JSON body of a refund call [API]. amount in đồng (sent x 100); full refund is
    vnp_TransactionType "02", partial "03"; an unknown transaction_no is sent as "0"."""
    if not create_by:
        raise ValueError("vnp_CreateBy (who asks for the refund) is required.")
    body = {
        "vnp_RequestId": str(request_id),
        "vnp_Version": VERSION,
        "vnp_Command": COMMAND_REFUND,
        "vnp_TmnCode": cfg.tmn_code,
        "vnp_TransactionType": REFUND_FULL if full else REFUND_PARTIAL,
        "vnp_TxnRef": txn_ref,
        "vnp_Amount": _vnp_amount(amount),
        "vnp_OrderInfo": order_info,
        "vnp_TransactionNo": str(transaction_no) if transaction_no else UNKNOWN_TRANSACTION_NO,
        "vnp_TransactionDate": format_date(transaction_date),
        "vnp_CreateBy": create_by,
        "vnp_CreateDate": format_date(create_date),
        "vnp_IpAddr": ip_addr,
    }
    body[SECURE_HASH] = hmac_sha512(cfg.hash_secret, pipe_data(body, REFUND_REQUEST_FIELDS))
    return body


def _fields_for(command: object, *, response: bool) -> tuple[str, ...] | None:
    if command == COMMAND_QUERYDR:
        return QUERYDR_RESPONSE_FIELDS if response else QUERYDR_REQUEST_FIELDS
    if command == COMMAND_REFUND:
        return REFUND_RESPONSE_FIELDS if response else REFUND_REQUEST_FIELDS
    return None


def _verify_pipe(values: Mapping[str, object], fields: tuple[str, ...] | None,
                 secret: str) -> bool:
    given = values.get(SECURE_HASH)
    if fields is None or not given or not isinstance(given, str):
        return False
    return _same(given, hmac_sha512(secret, pipe_data(values, fields)))


def verify_api_request(req: Mapping[str, object], secret: str) -> bool:
    """Checksum of a querydr/refund request (what the gateway — or the sandbox — checks)."""
    return _verify_pipe(req, _fields_for(req.get("vnp_Command"), response=False), secret)


def sign_api_response(resp: Mapping[str, object], secret: str) -> str:
    """vnp_SecureHash of a querydr/refund answer (the sandbox signs its answers with it)."""
    fields = _fields_for(resp.get("vnp_Command"), response=True)
    if fields is None:
        raise ValueError(f"Unknown vnp_Command: {resp.get('vnp_Command')!r}")
    return hmac_sha512(secret, pipe_data(resp, fields))


def verify_api_response(resp: Mapping[str, str], secret: str) -> bool:
    """Checksum of a querydr/refund answer, in the guide's response order for its
    vnp_Command. False when the answer carries no vnp_SecureHash (error answers may not)."""
    return _verify_pipe(resp, _fields_for(resp.get("vnp_Command"), response=True), secret)
