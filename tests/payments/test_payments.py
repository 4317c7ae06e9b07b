"""Fee payment through the VNPAY protocol: the order, the IPN and its rejections, the ledger,
and the dossier waiting for payment. Signatures here are computed by the test from the
algorithm of VNPAY's integration guide 2.1.0 (parameters sorted by name, each key=value
URL-encoded with quote_plus, joined with &, HMAC-SHA512, hex), not by the code under test."""

import hashlib
import hmac
import threading
from datetime import timedelta
from urllib.parse import parse_qsl, quote_plus, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from chinhquyenso.catalog.queries import forget_procedure_references
from chinhquyenso.dossiers import services as dossier_services
from chinhquyenso.dossiers.models import Dossier, Status
from chinhquyenso.payments import services
from chinhquyenso.payments.models import CallbackLog, LedgerEntry, PaymentOrder
from tests.conftest import ON_POSTGRES, birth_body

FEE = 50_000


def guide_sign(params: dict, secret: str) -> str:
    data = "&".join(f"{quote_plus(k)}={quote_plus(str(v))}" for k, v in sorted(params.items())
                    if k not in ("vnp_SecureHash", "vnp_SecureHashType"))
    return hmac.new(secret.encode(), data.encode(), hashlib.sha512).hexdigest()


def ipn_params(order, *, amount=None, code="00", secret=None, **extra) -> dict:
    params = {
        "vnp_Amount": str((amount if amount is not None else order.amount) * 100),
        "vnp_BankCode": "NCB", "vnp_BankTranNo": "VNP14422574", "vnp_CardType": "ATM",
        "vnp_OrderInfo": "Thanh toan phi le phi ho so", "vnp_PayDate": "20261123103000",
        "vnp_ResponseCode": code, "vnp_TmnCode": settings.VNPAY_TMN_CODE,
        "vnp_TransactionNo": "14422574", "vnp_TransactionStatus": code,
        "vnp_TxnRef": order.txn_ref, **extra,
    }
    params["vnp_SecureHash"] = guide_sign(params, secret or settings.VNPAY_HASH_SECRET)
    return params


def pay(api, code) -> PaymentOrder:
    r = api("citizen").post(f"/dossiers/{code}/payments")
    assert r.status_code == 201, r.content
    return PaymentOrder.objects.get(txn_ref=r.json()["txn_ref"])


def ipn(params) -> dict:
    r = Client().get("/api/v1/payments/vnpay/ipn", params)
    assert r.status_code == 200
    return r.json()


def test_payment_url_is_signed_as_the_guide_says(api, dossier_code):
    r = api("citizen").post(f"/dossiers/{dossier_code}/payments")
    assert r.status_code == 201
    body = r.json()
    assert body["amount"] == FEE
    url = urlsplit(body["payment_url"])
    assert body["payment_url"].startswith(settings.VNPAY_PAYMENT_URL)
    params = dict(parse_qsl(url.query))
    assert params["vnp_Amount"] == str(FEE * 100) and params["vnp_Version"] == "2.1.0"
    assert params["vnp_Command"] == "pay" and params["vnp_CurrCode"] == "VND"
    assert params["vnp_TxnRef"] == body["txn_ref"]
    assert params["vnp_SecureHash"] == guide_sign(params, settings.VNPAY_HASH_SECRET)


def test_confirmed_ipn_pays_once_and_keeps_the_ledger(api, dossier_code):
    order = pay(api, dossier_code)
    params = ipn_params(order)
    assert ipn(params) == {"RspCode": "00", "Message": "Confirm Success"}
    assert ipn(params)["RspCode"] == "02"
    order.refresh_from_db()
    assert order.status == "paid"
    assert list(order.entries.values_list("kind", flat=True)) == ["initiated", "confirmed"]
    assert Dossier.objects.get(code=dossier_code).paid_online
    assert api("citizen").post(f"/dossiers/{dossier_code}/payments").status_code == 409


def test_forged_tampered_unknown_and_replayed_ipns_change_nothing(api, dossier_code):
    order = pay(api, dossier_code)
    forged = ipn_params(order, secret="not-the-secret")
    assert ipn(forged)["RspCode"] == "97"
    assert ipn(ipn_params(order, amount=FEE - 1))["RspCode"] == "04"
    ghost = PaymentOrder(txn_ref="KHONGCO123", amount=FEE)
    assert ipn(ipn_params(ghost))["RspCode"] == "01"
    # An old success of this order replayed for another order: the signature breaks.
    other_dossier = api("citizen").post("/dossiers", birth_body(order.agency)).json()["code"]
    other = pay(api, other_dossier)
    replay = {**ipn_params(order), "vnp_TxnRef": other.txn_ref}
    assert ipn(replay)["RspCode"] == "97"
    for o in (order, other):
        o.refresh_from_db()
        assert o.status == "pending"
    assert LedgerEntry.objects.filter(kind="confirmed").count() == 0
    assert not Dossier.objects.filter(paid_online=True).exists()
    reasons = list(CallbackLog.objects.values_list("answer", "reason"))
    assert ("97", "chữ ký không hợp lệ") in reasons and len(reasons) == 4


def test_ipn_for_an_expired_order_is_money_received(api, dossier_code):
    """The gateway took the money after the order's time ran out: recorded, not refused
    (answering 02 used to drop it)."""
    order = pay(api, dossier_code)
    PaymentOrder.objects.filter(pk=order.pk).update(
        expires_at=timezone.now() - timedelta(hours=1))
    assert ipn(ipn_params(order))["RspCode"] == "00"
    order.refresh_from_db()
    assert order.status == "paid"
    assert Dossier.objects.get(code=dossier_code).paid_online


def test_a_cancelled_payment_is_recorded_as_failed(api, dossier_code):
    order = pay(api, dossier_code)
    assert ipn(ipn_params(order, code="24"))["RspCode"] == "00"
    order.refresh_from_db()
    assert order.status == "failed"
    assert not Dossier.objects.get(code=dossier_code).paid_online


def test_only_the_applicant_pays_and_only_a_fee(api, agency, dossier_code, procedure):
    assert api("citizen2").post(f"/dossiers/{dossier_code}/payments").status_code == 404
    assert api("receiver").post(f"/dossiers/{dossier_code}/payments").status_code == 403
    procedure.fee = 0
    procedure.save()
    forget_procedure_references()  # as an admin's change of the catalogue does
    free = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    assert api("citizen").post(f"/dossiers/{free}/payments").status_code == 409


def test_return_page_shows_what_the_ipn_confirmed(api, dossier_code):
    order = pay(api, dossier_code)
    params = ipn_params(order)
    page = Client().get("/thanh-toan/ket-qua", params)
    assert "Đang chờ cổng thanh toán xác nhận" in page.content.decode()
    order.refresh_from_db()
    assert order.status == "pending"  # the return URL changes nothing
    ipn(params)
    page = Client().get("/thanh-toan/ket-qua", params).content.decode()
    assert "Đã thanh toán" in page and dossier_code in page
    forged = Client().get("/thanh-toan/ket-qua", {**params, "vnp_Amount": "1"})
    assert forged.status_code == 400 and "sai chữ ký" in forged.content.decode()


def test_payment_before_processing_pauses_the_dossier_until_confirmed(api, people,
                                                                      dossier_code,
                                                                      fee_procedure):
    """Yêu cầu thực hiện nghĩa vụ tài chính (status 6): processing waits for the fee and the
    clock does not run meanwhile."""
    fee_procedure.payment_before_processing = True
    fee_procedure.save()
    d = Dossier.objects.get(code=dossier_code)
    d = dossier_services.receive_dossier(actor=people["receiver"], dossier=d)
    assert d.status == Status.WAITING_PAYMENT
    due = d.due_at
    order = pay(api, dossier_code)
    assert ipn(ipn_params(order))["RspCode"] == "00"
    d.refresh_from_db()
    assert d.status == Status.RECEIVED and d.paid_online and d.due_at >= due


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrency: PostgreSQL only")
def test_the_same_ipn_ten_times_at_once_confirms_once(api, dossier_code):
    order = pay(api, dossier_code)
    params = ipn_params(order)
    barrier = threading.Barrier(10)
    answers = []

    def deliver():
        barrier.wait()
        try:
            answers.append(ipn(params)["RspCode"])
        finally:
            connection.close()  # each thread's own connection

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == ["00"] + ["02"] * 9
    assert LedgerEntry.objects.filter(order=order, kind="confirmed").count() == 1


class FakeGateway:
    """Stands in for the gateway's settlement file and querydr answers."""

    name = "vnpay"

    def __init__(self, rows=(), answers=None):
        self.rows, self.answers = list(rows), answers or {}

    def settlement(self, day):
        return self.rows

    def query(self, *, txn_ref, **kw):
        return self.answers[txn_ref]


def test_reconcile_lists_every_kind_of_mismatch(api, agency, dossier_code):
    paid = pay(api, dossier_code)
    ipn(ipn_params(paid))
    second = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    only_here = pay(api, second)
    ipn(ipn_params(only_here))
    third = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    only_there = pay(api, third)  # the IPN never arrived
    day = timezone.now().astimezone(services.VN).date()
    rows = [{"txn_ref": paid.txn_ref, "amount": FEE + 1000, "status": "paid"},
            {"txn_ref": only_there.txn_ref, "amount": FEE, "status": "paid"},
            {"txn_ref": "LA-0001", "amount": 20_000, "status": "paid"}]
    found = {(m.kind, m.txn_ref) for m in services.reconcile(day=day,
                                                              gateway=FakeGateway(rows))}
    assert found == {("amount", paid.txn_ref), ("gateway_only", only_there.txn_ref),
                     ("gateway_only", "LA-0001"), ("platform_only", only_here.txn_ref)}


def test_pending_orders_are_settled_by_querydr(api, agency, dossier_code, monkeypatch):
    lost = pay(api, dossier_code)
    other = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    never = pay(api, other)
    old = timezone.now() - timedelta(minutes=30)
    PaymentOrder.objects.update(created_at=old, expires_at=old + timedelta(minutes=15))
    answers = {
        lost.txn_ref: {"vnp_ResponseCode": "00", "vnp_TransactionStatus": "00",
                       "vnp_Amount": str(FEE * 100), "vnp_TransactionNo": "99",
                       "vnp_TxnRef": lost.txn_ref},
        never.txn_ref: {"vnp_ResponseCode": "91", "vnp_TxnRef": never.txn_ref},
    }
    monkeypatch.setattr(services, "gateway_for", lambda agency: FakeGateway(answers=answers))
    assert services.query_pending_orders() == {"paid": 1, "failed": 0, "expired": 1,
                                               "pending": 0, "error": 0}
    assert PaymentOrder.objects.get(pk=lost.pk).status == "paid"
    assert Dossier.objects.get(code=dossier_code).paid_online
    assert PaymentOrder.objects.get(pk=never.pk).status == "expired"


def test_a_second_paid_order_of_a_paid_dossier_is_flagged_for_refund(api, dossier_code):
    """Two tabs, two orders, both paid at the gateway: the second is recorded (the money was
    taken) and its callback log says it must be refunded."""
    first, second = pay(api, dossier_code), pay(api, dossier_code)
    assert ipn(ipn_params(first))["RspCode"] == "00"
    assert ipn(ipn_params(second))["RspCode"] == "00"
    assert CallbackLog.objects.get(txn_ref=second.txn_ref).reason.endswith("cần hoàn tiền đơn này")
    assert CallbackLog.objects.get(txn_ref=first.txn_ref).reason == "đã xác nhận thanh toán"
