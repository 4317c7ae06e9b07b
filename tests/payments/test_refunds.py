"""Refunds with a leader's approval: an officer of the dossier's agency asks (dossier refused,
stopped or withdrawn after payment, or a duplicate payment), a leader of the same agency
approves (the gateway refunds once, a `refunded` ledger entry keeps its answer) or rejects."""

import threading

import pytest
from django.db import connection
from django.test import Client

from chinhquyenso.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from chinhquyenso.dossiers import services as dossier_services
from chinhquyenso.dossiers.models import Dossier
from chinhquyenso.payments import services
from chinhquyenso.payments.gateways import VnpayGateway
from chinhquyenso.payments.models import LedgerEntry, PaymentOrder, RefundRequest
from tests.conftest import ON_POSTGRES
from tests.payments.conftest import FEE
from tests.payments.test_payments import ipn, ipn_params, pay


class FakeRefundGateway(VnpayGateway):
    """The sandbox's VNPAY for payments; answers refund calls itself, as VNPAY does
    (vnp_ResponseCode 00 unless told otherwise), and counts them."""

    def __init__(self, code="00"):
        super().__init__()
        self.code, self.calls = code, []

    def refund(self, **kw):
        self.calls.append(kw)
        return {"vnp_ResponseCode": self.code, "vnp_Message": "Refund success" if
                self.code == "00" else "Transaction not successful",
                "vnp_TxnRef": kw["txn_ref"], "vnp_Amount": str(kw["amount"] * 100),
                "vnp_TransactionStatus": "05"}


@pytest.fixture
def gateway(monkeypatch):
    fake = FakeRefundGateway()
    monkeypatch.setattr(services, "gateway_for", lambda agency: fake)
    return fake


@pytest.fixture
def refused_paid(api, people, dossier_code) -> PaymentOrder:
    """Paid, then refused by the desk (Mẫu 03): the fee must go back."""
    order = pay(api, dossier_code)
    assert ipn(ipn_params(order))["RspCode"] == "00"
    dossier_services.refuse_dossier(actor=people["receiver"],
                                    dossier=Dossier.objects.get(code=dossier_code),
                                    note="Hồ sơ không thuộc thẩm quyền")
    order.refresh_from_db()
    return order


def test_refund_happy_path(people, refused_paid, gateway):
    refund = services.request_refund(actor=people["receiver"], order=refused_paid,
                                     reason="Từ chối tiếp nhận sau khi đã nộp lệ phí")
    assert refund.status == "requested" and refund.amount == FEE
    assert gateway.calls == []  # nothing leaves before the leader decides
    done = services.approve_refund(actor=people["leader"], refund=refund)
    assert done.status == "approved" and done.decided_by == people["leader"]
    assert len(gateway.calls) == 1
    call = gateway.calls[0]
    assert (call["txn_ref"], call["amount"], call["create_by"]) == (
        refused_paid.txn_ref, FEE, "ld")
    refused_paid.refresh_from_db()
    assert refused_paid.status == "refunded"
    entry = LedgerEntry.objects.get(order=refused_paid, kind="refunded")
    assert entry.amount == FEE and entry.raw["vnp_ResponseCode"] == "00"
    with pytest.raises(Conflict):  # a second click refunds nothing
        services.approve_refund(actor=people["leader"], refund=refund)
    assert len(gateway.calls) == 1
    assert LedgerEntry.objects.filter(kind="refunded").count() == 1


def test_only_the_agencys_desk_asks_and_only_its_leader_decides(people, refused_paid, gateway):
    with pytest.raises(NotFound):
        services.request_refund(actor=people["other_receiver"], order=refused_paid,
                                reason="Không phải cơ quan của tôi")
    with pytest.raises(PermissionDenied):
        services.request_refund(actor=people["leader"], order=refused_paid,
                                reason="Lãnh đạo không tự đề nghị")
    with pytest.raises(ValidationFailed):
        services.request_refund(actor=people["receiver"], order=refused_paid, reason="  ")
    refund = services.request_refund(actor=people["specialist"], order=refused_paid,
                                     reason="Hồ sơ bị từ chối")
    with pytest.raises(Conflict):
        services.request_refund(actor=people["receiver"], order=refused_paid,
                                reason="Đề nghị lần hai")
    with pytest.raises(PermissionDenied):
        services.approve_refund(actor=people["receiver"], refund=refund)
    assert gateway.calls == []
    assert RefundRequest.objects.get().status == "requested"


def test_an_open_dossiers_fee_is_not_refunded(api, people, dossier_code, gateway):
    order = pay(api, dossier_code)
    ipn(ipn_params(order))
    with pytest.raises(Conflict):
        services.request_refund(actor=people["receiver"], order=order,
                                reason="Công dân muốn lấy lại tiền")
    assert not RefundRequest.objects.exists()


def test_a_duplicate_payment_is_refundable(api, people, dossier_code, gateway):
    first, second = pay(api, dossier_code), pay(api, dossier_code)
    ipn(ipn_params(first))
    ipn(ipn_params(second))
    second.refresh_from_db()
    assert services.refund_ground(first) is None
    assert "trùng" in services.refund_ground(second)
    refund = services.request_refund(actor=people["receiver"], order=second,
                                     reason="Công dân thanh toán hai lần")
    services.approve_refund(actor=people["leader"], refund=refund)
    assert PaymentOrder.objects.get(pk=second.pk).status == "refunded"
    assert PaymentOrder.objects.get(pk=first.pk).status == "paid"


def test_a_gateway_refusal_keeps_the_request_waiting(people, refused_paid, monkeypatch):
    refusing = FakeRefundGateway(code="95")
    monkeypatch.setattr(services, "gateway_for", lambda agency: refusing)
    refund = services.request_refund(actor=people["receiver"], order=refused_paid,
                                     reason="Hồ sơ bị từ chối")
    with pytest.raises(Conflict) as exc:
        services.approve_refund(actor=people["leader"], refund=refund)
    assert "mã 95" in exc.value.detail
    refund.refresh_from_db()
    assert refund.status == "requested" and refund.gateway_answer["vnp_ResponseCode"] == "95"
    assert PaymentOrder.objects.get(pk=refused_paid.pk).status == "paid"
    assert not LedgerEntry.objects.filter(kind="refunded").exists()


def test_the_leader_rejects_with_a_reason(people, refused_paid, gateway):
    refund = services.request_refund(actor=people["receiver"], order=refused_paid,
                                     reason="Hồ sơ bị từ chối")
    with pytest.raises(ValidationFailed):
        services.reject_refund(actor=people["leader"], refund=refund, note="")
    services.reject_refund(actor=people["leader"], refund=refund,
                           note="Công dân đã nhận kết quả khác")
    assert RefundRequest.objects.get().status == "rejected" and gateway.calls == []


def test_refund_api(api, refused_paid, gateway):
    path = f"/payments/{refused_paid.txn_ref}/refunds"
    body = {"reason": "Từ chối tiếp nhận sau khi nộp phí"}
    assert api("citizen").post(path, body).status_code == 404
    assert api("other_receiver").post(path, body).status_code == 404
    key = {"Idempotency-Key": "hoan-1"}
    r = api("receiver").post(path, body, headers=key)
    assert r.status_code == 201, r.content
    again = api("receiver").post(path, body, headers=key)
    assert again.status_code == 201 and again.json()["id"] == r.json()["id"]
    rid = r.json()["id"]
    assert [x["id"] for x in api("leader").get("/refunds").json()] == [rid]
    assert api("receiver").post(f"/refunds/{rid}/approve", {}).status_code == 403
    assert api("other_specialist").post(f"/refunds/{rid}/approve", {}).status_code == 404
    ok = api("leader").post(f"/refunds/{rid}/approve", {"note": "Đồng ý"})
    assert ok.status_code == 200 and ok.json()["status"] == "approved"
    assert api("leader").post(f"/refunds/{rid}/approve", {}).status_code == 409
    assert len(gateway.calls) == 1


def test_refund_pages(people, refused_paid, gateway):
    code = refused_paid.dossier.code
    desk = Client()
    desk.force_login(people["receiver"])
    form = desk.get(f"/thanh-toan/hoan-tien/de-nghi?ho_so={code}")
    assert form.status_code == 200 and refused_paid.txn_ref in form.content.decode()
    sent = desk.post("/thanh-toan/hoan-tien/de-nghi",
                     {"ho_so": code, "txn_ref": refused_paid.txn_ref,
                      "reason": "Hồ sơ bị từ chối tiếp nhận"})
    assert sent.status_code == 302
    refund = RefundRequest.objects.get()
    other = Client()
    other.force_login(people["other_receiver"])
    assert other.get(f"/thanh-toan/hoan-tien/de-nghi?ho_so={code}").status_code == 404
    citizen = Client()
    citizen.force_login(people["citizen"])
    assert citizen.get("/thanh-toan/hoan-tien").status_code == 403
    assert Client().get("/thanh-toan/hoan-tien").status_code == 302  # to the login page
    assert desk.post(f"/thanh-toan/hoan-tien/{refund.pk}/duyet").status_code == 403
    leader = Client()
    leader.force_login(people["leader"])
    page = leader.get("/thanh-toan/hoan-tien").content.decode()
    assert "Duyệt hoàn tiền" in page and refused_paid.txn_ref in page
    assert leader.post(f"/thanh-toan/hoan-tien/{refund.pk}/duyet").status_code == 302
    assert RefundRequest.objects.get().status == "approved" and len(gateway.calls) == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrency: PostgreSQL only")
def test_two_leaders_clicking_at_once_refund_once(api, people, refused_paid, gateway):
    refund = services.request_refund(actor=people["receiver"], order=refused_paid,
                                     reason="Hồ sơ bị từ chối")
    barrier, outcomes = threading.Barrier(4), []

    def click():
        barrier.wait()
        try:
            services.approve_refund(actor=people["leader"], refund=refund)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]
    assert len(gateway.calls) == 1
    assert LedgerEntry.objects.filter(kind="refunded").count() == 1
