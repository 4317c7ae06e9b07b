"""The VNPAY 2.1.0 protocol (chinhquyenso.payments.vnpay). Every expected signature is
computed here from the guide's algorithm written out by hand — never by the code under test:
https://sandbox.vnpayment.vn/apis/docs/thanh-toan-pay/pay.html and
https://sandbox.vnpayment.vn/apis/docs/truy-van-hoan-tien/querydr&refund.html"""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote_plus, urlsplit

import pytest

from chinhquyenso.payments import vnpay

SECRET = "SANDBOXSECRETCHINHQUYENSO2026XYZ"
CFG = vnpay.VnpayConfig(tmn_code="CQSDEMO1", hash_secret=SECRET,
                        payment_url="https://sandbox.vnpayment.vn/paymentv2/vpcpay.html",
                        api_url="https://sandbox.vnpayment.vn/merchant_webapi/api/transaction")

# The example payment URL printed in the guide (pay.html and changeTypeHash.html).
GUIDE_URL = (
    "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?vnp_Amount=1806000&vnp_Command=pay"
    "&vnp_CreateDate=20210801153333&vnp_CurrCode=VND&vnp_IpAddr=127.0.0.1&vnp_Locale=vn"
    "&vnp_OrderInfo=Thanh+toan+don+hang+%3A5&vnp_OrderType=other"
    "&vnp_ReturnUrl=https%3A%2F%2Fdomainmerchant.vn%2FReturnUrl&vnp_TmnCode=DEMOV210"
    "&vnp_TxnRef=5&vnp_Version=2.1.0&vnp_SecureHash=3e0d61a0c0534b2e36680b3f7277743e8784cc4e1d"
    "68fa7d276e79c23be7d6318d338b477910a27992f5057bb1582bd44bd82ae8009ffaf6d141219218625c42"
)


def by_hand(params: dict, secret: str = SECRET) -> str:
    """The guide's algorithm, spelled out: sorted by name, quote_plus(k)=quote_plus(v), '&',
    HMAC-SHA512, hex."""
    data = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in sorted(params.items()))
    return hmac.new(secret.encode(), data.encode(), hashlib.sha512).hexdigest()


def pipe_hash(data: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), data.encode(), hashlib.sha512).hexdigest()


def test_hmac_sha512_known_answer():
    # RFC 4231 test case 2 (key "Jefe").
    assert vnpay.hmac_sha512("Jefe", "what do ya want for nothing?") == (
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f"
        "65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
    )


def test_signing_data_reproduces_the_guide_url_encoding():
    query = urlsplit(GUIDE_URL).query
    params = dict(parse_qsl(query))
    unsigned = query.split("&vnp_SecureHash=")[0]
    # Spaces become '+', ':' and '/' are percent-encoded, names sorted: exactly the guide's.
    assert vnpay.signing_data(params) == unsigned


def test_guide_parameters_re_signed_round_trip():
    params = dict(parse_qsl(urlsplit(GUIDE_URL).query))
    del params["vnp_SecureHash"]
    expected = by_hand(params)
    assert vnpay.sign(params, SECRET) == expected
    url = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html?" + urlsplit(GUIDE_URL).query.split(
        "&vnp_SecureHash=")[0] + "&vnp_SecureHash=" + expected
    back = dict(parse_qsl(urlsplit(url).query))
    assert back["vnp_OrderInfo"] == "Thanh toan don hang :5"
    assert vnpay.verify_signature(back, SECRET)
    assert not vnpay.verify_signature(back, "ANOTHERSECRET")


def test_build_payment_url_vector():
    created = datetime(2026, 3, 2, 1, 30, 0, tzinfo=UTC)  # 08:30:00 in GMT+7
    url = vnpay.build_payment_url(
        CFG, txn_ref="HP-2026-000123", amount=150_000,
        order_info="Lệ phí hồ sơ H31.29-260302-0001 (đăng ký khai sinh)",
        return_url="http://127.0.0.1:8000/thanh-toan/ket-qua?x=1", ip_addr="203.113.1.7",
        create_date=created, expire_date=created + timedelta(minutes=15),
    )
    base, query = url.split("?", 1)
    assert base == CFG.payment_url
    params = dict(parse_qsl(query))
    expected_params = {
        "vnp_Version": "2.1.0", "vnp_Command": "pay", "vnp_TmnCode": "CQSDEMO1",
        "vnp_Amount": "15000000", "vnp_CreateDate": "20260302083000", "vnp_CurrCode": "VND",
        "vnp_IpAddr": "203.113.1.7", "vnp_Locale": "vn",
        "vnp_OrderInfo": "Lệ phí hồ sơ H31.29-260302-0001 (đăng ký khai sinh)",
        "vnp_OrderType": "other", "vnp_ReturnUrl": "http://127.0.0.1:8000/thanh-toan/ket-qua?x=1",
        "vnp_TxnRef": "HP-2026-000123", "vnp_ExpireDate": "20260302084500",
    }
    hash_ = params.pop("vnp_SecureHash")
    assert params == expected_params
    assert "vnp_SecureHashType" not in query  # 2.1.0 does not send it
    assert hash_ == by_hand(expected_params)
    # The query string is the signed string itself, sorted, spaces as '+'.
    assert query.startswith("vnp_Amount=15000000&vnp_Command=pay&vnp_CreateDate=")
    assert "vnp_OrderInfo=L%E1%BB%87+ph%C3%AD+h%E1%BB%93+s%C6%A1+" in query
    assert "vnp_ReturnUrl=http%3A%2F%2F127.0.0.1%3A8000%2Fthanh-toan%2Fket-qua%3Fx%3D1" in query
    assert vnpay.verify_signature(dict(parse_qsl(query)), SECRET)


def test_bank_code_is_optional_and_signed_when_given():
    t = datetime(2026, 1, 1, tzinfo=UTC)
    without = dict(parse_qsl(urlsplit(vnpay.build_payment_url(
        CFG, txn_ref="A1", amount=1000, order_info="x", return_url="http://r", ip_addr="1.1.1.1",
        create_date=t, expire_date=t + timedelta(minutes=5))).query))
    assert "vnp_BankCode" not in without
    with_bank = dict(parse_qsl(urlsplit(vnpay.build_payment_url(
        CFG, txn_ref="A1", amount=1000, order_info="x", return_url="http://r", ip_addr="1.1.1.1",
        create_date=t, expire_date=t + timedelta(minutes=5), bank_code="NCB")).query))
    h = with_bank.pop("vnp_SecureHash")
    assert with_bank["vnp_BankCode"] == "NCB" and h == by_hand(with_bank)


def ipn_params() -> dict:
    return {
        "vnp_Amount": "15000000", "vnp_BankCode": "NCB", "vnp_BankTranNo": "VNP14226112",
        "vnp_CardType": "ATM", "vnp_OrderInfo": "Le phi ho so 0001",
        "vnp_PayDate": "20260302083512",
        "vnp_ResponseCode": "00", "vnp_TmnCode": "CQSDEMO1", "vnp_TransactionNo": "14226112",
        "vnp_TransactionStatus": "00", "vnp_TxnRef": "HP-2026-000123",
    }


def test_verify_signature_ipn_and_tampering():
    params = ipn_params()
    params["vnp_SecureHash"] = by_hand(ipn_params())
    assert vnpay.verify_signature(params, SECRET)
    assert vnpay.verify_signature({**params, "vnp_SecureHash": params["vnp_SecureHash"].upper()},
                                  SECRET)
    for key, value in [("vnp_Amount", "150000000"), ("vnp_ResponseCode", "24"),
                       ("vnp_TxnRef", "HP-2026-000124")]:
        assert not vnpay.verify_signature({**params, key: value}, SECRET), key
    assert not vnpay.verify_signature({**params, "vnp_Extra": "1"}, SECRET)
    assert not vnpay.verify_signature(ipn_params(), SECRET)  # no hash at all
    assert not vnpay.verify_signature({**params, "vnp_SecureHash": "zz\u00e9"}, SECRET)


def test_secure_hash_type_is_ignored():
    params = ipn_params()
    params["vnp_SecureHash"] = by_hand(ipn_params())
    params["vnp_SecureHashType"] = "HmacSHA512"
    assert vnpay.verify_signature(params, SECRET)
    assert "vnp_SecureHashType" not in vnpay.signing_data(params)


def test_non_vnp_parameters_are_not_signed():
    # The demos sign vnp_* only: a merchant's own query parameters on the IPN URL don't count.
    params = ipn_params()
    params["vnp_SecureHash"] = by_hand(ipn_params())
    assert vnpay.verify_signature({**params, "gateway": "vnpay"}, SECRET)


def test_amount_times_100_and_parse_amount():
    t = datetime(2026, 1, 1, tzinfo=UTC)
    url = vnpay.build_payment_url(CFG, txn_ref="A", amount=150_000, order_info="x",
                                  return_url="http://r", ip_addr="1.1.1.1", create_date=t,
                                  expire_date=t + timedelta(minutes=15))
    assert dict(parse_qsl(urlsplit(url).query))["vnp_Amount"] == "15000000"
    assert vnpay.parse_amount({"vnp_Amount": "15000000"}) == 150_000
    for bad in ["15000050", "", "abc", "-100", "1.5e8", "١٠٠"]:
        with pytest.raises(ValueError):
            vnpay.parse_amount({"vnp_Amount": bad})
    with pytest.raises(ValueError):
        vnpay.parse_amount({})
    for bad_amount in [0, -5, 1.5, True]:
        with pytest.raises(ValueError):
            vnpay.build_payment_url(CFG, txn_ref="A", amount=bad_amount, order_info="x",
                                    return_url="http://r", ip_addr="1.1.1.1", create_date=t,
                                    expire_date=t + timedelta(minutes=15))


def test_dates_are_gmt7():
    assert vnpay.format_date(datetime(2021, 8, 1, 8, 33, 33, tzinfo=UTC)) == "20210801153333"
    assert vnpay.format_date(datetime(2021, 8, 1, 23, 0, 0, tzinfo=UTC)) == "20210802060000"
    tokyo = timezone(timedelta(hours=9))
    assert vnpay.format_date(datetime(2021, 8, 1, 17, 33, 33, tzinfo=tokyo)) == "20210801153333"
    with pytest.raises(ValueError):
        vnpay.format_date(datetime(2021, 8, 1, 8, 33, 33))  # naive
    parsed = vnpay.parse_date("20210801153333")
    assert parsed == datetime(2021, 8, 1, 8, 33, 33, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(hours=7)
    for bad in ["2021080115333", "2021-08-01 15:33", "20211301153333"]:
        with pytest.raises(ValueError):
            vnpay.parse_date(bad)


def test_ipn_responses_use_the_guide_messages():
    assert vnpay.ipn_response(vnpay.IPN_CONFIRMED) == {"RspCode": "00",
                                                       "Message": "Confirm Success"}
    assert vnpay.ipn_response("01") == {"RspCode": "01", "Message": "Order not found"}
    assert vnpay.ipn_response("02") == {"RspCode": "02", "Message": "Order already confirmed"}
    assert vnpay.ipn_response("04") == {"RspCode": "04", "Message": "Invalid amount"}
    assert vnpay.ipn_response("97") == {"RspCode": "97", "Message": "Invalid signature"}
    assert vnpay.ipn_response("99") == {"RspCode": "99", "Message": "Unknow error"}
    assert (vnpay.IPN_CONFIRMED, vnpay.IPN_ORDER_NOT_FOUND, vnpay.IPN_ALREADY_CONFIRMED,
            vnpay.IPN_INVALID_AMOUNT, vnpay.IPN_INVALID_SIGNATURE, vnpay.IPN_UNKNOWN) == (
        "00", "01", "02", "04", "97", "99")
    with pytest.raises(ValueError):
        vnpay.ipn_response("03")


def test_querydr_request_vector():
    body = vnpay.querydr_request(
        CFG, request_id="REQ0001", txn_ref="HP-2026-000123", order_info="Truy van GD",
        transaction_date=datetime(2026, 3, 2, 1, 30, tzinfo=UTC),
        create_date=datetime(2026, 3, 2, 3, 0, 5, tzinfo=UTC), ip_addr="10.0.0.5",
    )
    data = ("REQ0001|2.1.0|querydr|CQSDEMO1|HP-2026-000123|20260302083000|20260302100005|"
            "10.0.0.5|Truy van GD")
    assert body == {
        "vnp_RequestId": "REQ0001", "vnp_Version": "2.1.0", "vnp_Command": "querydr",
        "vnp_TmnCode": "CQSDEMO1", "vnp_TxnRef": "HP-2026-000123",
        "vnp_OrderInfo": "Truy van GD", "vnp_TransactionDate": "20260302083000",
        "vnp_CreateDate": "20260302100005", "vnp_IpAddr": "10.0.0.5",
        "vnp_SecureHash": pipe_hash(data),
    }
    assert vnpay.verify_api_request(body, SECRET)
    assert not vnpay.verify_api_request({**body, "vnp_TxnRef": "X"}, SECRET)


def test_refund_request_vectors():
    full = vnpay.refund_request(
        CFG, request_id="RF0001", txn_ref="HP-2026-000123", amount=150_000,
        order_info="Hoan tien ho so", transaction_date=datetime(2026, 3, 2, 1, 30, tzinfo=UTC),
        create_date=datetime(2026, 3, 3, 2, 0, tzinfo=UTC), ip_addr="10.0.0.5",
        create_by="ketoan.hp", transaction_no="14226112",
    )
    data = ("RF0001|2.1.0|refund|CQSDEMO1|02|HP-2026-000123|15000000|14226112|20260302083000|"
            "ketoan.hp|20260303090000|10.0.0.5|Hoan tien ho so")
    assert full["vnp_SecureHash"] == pipe_hash(data)
    assert full["vnp_TransactionType"] == "02" and full["vnp_Amount"] == "15000000"
    assert full["vnp_CreateBy"] == "ketoan.hp"

    partial = vnpay.refund_request(
        CFG, request_id="RF0002", txn_ref="HP-2026-000123", amount=50_000,
        order_info="Hoan mot phan", transaction_date=datetime(2026, 3, 2, 1, 30, tzinfo=UTC),
        create_date=datetime(2026, 3, 3, 2, 0, tzinfo=UTC), ip_addr="10.0.0.5",
        create_by="ketoan.hp", full=False,
    )
    data = ("RF0002|2.1.0|refund|CQSDEMO1|03|HP-2026-000123|5000000|0|20260302083000|"
            "ketoan.hp|20260303090000|10.0.0.5|Hoan mot phan")
    assert partial["vnp_SecureHash"] == pipe_hash(data)
    assert partial["vnp_TransactionNo"] == "0"
    assert vnpay.verify_api_request(partial, SECRET)


def test_verify_api_response_querydr_and_refund():
    q = {
        "vnp_ResponseId": "R1", "vnp_Command": "querydr", "vnp_ResponseCode": "00",
        "vnp_Message": "QueryDR Success", "vnp_TmnCode": "CQSDEMO1",
        "vnp_TxnRef": "HP-2026-000123", "vnp_Amount": "15000000", "vnp_OrderInfo": "Le phi",
        "vnp_BankCode": "NCB", "vnp_PayDate": "20260302083512", "vnp_TransactionNo": "14226112",
        "vnp_TransactionType": "01", "vnp_TransactionStatus": "00",
    }
    # Promotion fields absent: still signed, as two empty strings at the end.
    q["vnp_SecureHash"] = pipe_hash(
        "R1|querydr|00|QueryDR Success|CQSDEMO1|HP-2026-000123|15000000|NCB|20260302083512|"
        "14226112|01|00|Le phi||")
    assert vnpay.verify_api_response(q, SECRET)
    assert not vnpay.verify_api_response({**q, "vnp_TransactionStatus": "02"}, SECRET)
    assert not vnpay.verify_api_response({k: v for k, v in q.items() if k != "vnp_SecureHash"},
                                         SECRET)

    r = {**{k: v for k, v in q.items() if k != "vnp_SecureHash"}, "vnp_Command": "refund",
         "vnp_Message": "Refund success", "vnp_TransactionType": "02",
         "vnp_TransactionStatus": "05"}
    r["vnp_SecureHash"] = pipe_hash(
        "R1|refund|00|Refund success|CQSDEMO1|HP-2026-000123|15000000|NCB|20260302083512|"
        "14226112|02|05|Le phi")
    assert vnpay.verify_api_response(r, SECRET)
    assert vnpay.sign_api_response(r, SECRET) == r["vnp_SecureHash"]
    assert not vnpay.verify_api_response({**r, "vnp_Command": "querydr"}, SECRET)
