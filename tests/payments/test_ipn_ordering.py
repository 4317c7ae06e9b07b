"""Payments never lose money (issue 10, section 2): only the gateway's own notices change an
order, no notice moves an order backwards, and a success that arrives after a failure or
after the order expired is money received: recorded as paid, or flagged for refund and
listed on the reconciliation page, never answered 02 and dropped."""

from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.test import Client

from chinhquyenso.directory.services import add_user
from chinhquyenso.dossiers.models import Dossier, Status
from chinhquyenso.payments import services
from chinhquyenso.payments.models import CallbackLog, LedgerEntry, PaymentOrder, Receipt
from tests.conftest import birth_body
from tests.payments.test_payments import guide_sign, ipn, ipn_params, pay


def order_state(order) -> tuple:
    order.refresh_from_db()
    return order.status, list(order.entries.values_list("kind", flat=True))


def test_the_signed_payment_link_sent_as_an_ipn_changes_nothing(api, dossier_code):
    """The platform's own payment link is signed with the gateway's secret: replayed to the
    IPN endpoint it used to fail the order, and the citizen's real payment was refused."""
    r = api("citizen").post(f"/dossiers/{dossier_code}/payments")
    order = PaymentOrder.objects.get(txn_ref=r.json()["txn_ref"])
    link_query = urlsplit(r.json()["payment_url"]).query
    answer = Client().get(f"/api/v1/payments/vnpay/ipn?{link_query}").json()
    assert answer == {"RspCode": "99", "Message": "Unknow error"}
    assert order_state(order) == ("pending", ["initiated"])
    log = CallbackLog.objects.get(txn_ref=order.txn_ref)
    assert "không phải thông báo của cổng" in log.reason and "vnp_ResponseCode" in log.reason
    # The citizen's real payment then goes through.
    assert ipn(ipn_params(order))["RspCode"] == "00"
    assert order_state(order) == ("paid", ["initiated", "confirmed"])
    assert Dossier.objects.get(code=dossier_code).paid_online


def test_each_gateway_only_field_is_required(api, dossier_code):
    order = pay(api, dossier_code)
    for field in services.GATEWAY_ONLY:
        params = {k: v for k, v in ipn_params(order).items() if k != "vnp_SecureHash"}
        del params[field]
        params["vnp_SecureHash"] = guide_sign(params, settings.VNPAY_HASH_SECRET)
        assert ipn(params)["RspCode"] == "99", field
    assert order_state(order) == ("pending", ["initiated"])


def test_a_failure_after_a_success_is_ignored(api, dossier_code):
    order = pay(api, dossier_code)
    assert ipn(ipn_params(order))["RspCode"] == "00"
    assert ipn(ipn_params(order, code="24"))["RspCode"] == "02"
    assert order_state(order) == ("paid", ["initiated", "confirmed"])
    assert Dossier.objects.get(code=dossier_code).paid_online


def test_a_success_after_a_failure_is_money_received(api, dossier_code):
    order = pay(api, dossier_code)
    assert ipn(ipn_params(order, code="24"))["RspCode"] == "00"
    assert order_state(order) == ("failed", ["initiated", "failed"])
    assert ipn(ipn_params(order, vnp_TransactionNo="99887766"))["RspCode"] == "00"
    assert order_state(order) == ("paid", ["initiated", "failed", "confirmed"])
    assert order.gateway_txn_no == "99887766" and order.refund_flag == ""
    assert Dossier.objects.get(code=dossier_code).paid_online
    assert Receipt.objects.filter(order=order).exists()
    # ... and a late failure of it changes nothing.
    assert ipn(ipn_params(order, code="24"))["RspCode"] == "02"
    assert order_state(order)[0] == "paid"


def test_a_success_after_expiry_is_money_received(api, dossier_code, clock):
    order = pay(api, dossier_code)
    clock.move_to(order.expires_at + timedelta(hours=3))
    assert ipn(ipn_params(order))["RspCode"] == "00"
    assert order_state(order) == ("paid", ["initiated", "confirmed"])
    assert "hết hạn" in order.entries.get(kind="confirmed").note
    assert Dossier.objects.get(code=dossier_code).paid_online


def test_a_success_after_querydr_closed_the_order_as_expired(api, dossier_code, clock, monkeypatch):
    order = pay(api, dossier_code)
    clock.move_to(order.created_at + timedelta(hours=1))

    class NotFoundAtGateway:
        def query(self, **kw):
            return {"vnp_ResponseCode": services.QUERYDR_NOT_FOUND}

    monkeypatch.setattr(services, "gateway_for", lambda agency: NotFoundAtGateway())
    assert services.query_pending_orders()["expired"] == 1
    monkeypatch.undo()
    assert order_state(order)[0] == "expired"
    assert ipn(ipn_params(order))["RspCode"] == "00"
    assert order_state(order)[0] == "paid"
    assert Dossier.objects.get(code=dossier_code).paid_online
    # An expiry never comes after: querydr only looks at pending orders.
    assert services.query_pending_orders()["expired"] == 0
    assert order_state(order)[0] == "paid"


def test_late_money_the_dossier_cannot_take_is_flagged_and_shown(
    api, people, agency, dossier_code, clock
):
    """The order expired, the citizen paid again with a second order, then the first
    order's success arrives: the money is recorded, flagged for refund, and listed on the
    accountant's reconciliation page; the same for a dossier withdrawn meanwhile."""
    first = pay(api, dossier_code)
    clock.move_to(first.expires_at + timedelta(minutes=30))
    second = pay(api, dossier_code)
    assert ipn(ipn_params(second))["RspCode"] == "00"
    assert ipn(ipn_params(first))["RspCode"] == "00"  # never 02: the money was taken
    assert order_state(first)[0] == "paid"
    assert "cần hoàn tiền" in first.refund_flag
    assert not Receipt.objects.filter(order=first).exists()
    assert "trùng" in services.refund_ground(first)

    ended = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    third = pay(api, ended)
    Dossier.objects.filter(code=ended).update(status=Status.WITHDRAWN)
    assert ipn(ipn_params(third))["RspCode"] == "00"
    assert order_state(third)[0] == "paid"
    assert "rút hồ sơ" in third.refund_flag and "cần hoàn tiền" in third.refund_flag
    assert not Dossier.objects.get(code=ended).paid_online

    accountant = add_user(username="ketoan", role="accountant", agency=agency.code)
    c = Client()
    c.force_login(accountant)
    html = c.get("/thanh-toan/doi-soat").content.decode()
    section = html.split("Tiền đã thu cần hoàn trả")[1].split("<h2>")[0]
    assert first.txn_ref in section and third.txn_ref in section
    assert second.txn_ref not in section
    assert LedgerEntry.objects.filter(kind="confirmed").count() == 3
