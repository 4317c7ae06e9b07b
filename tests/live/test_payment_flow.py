"""A fee paid through the sandbox gateway, across real processes: the platform (`cqs serve`)
and the sandbox (`cqs payments sandbox`) talk VNPAY 2.1.0 to each other over HTTP."""

import json
import time
import urllib.error
import urllib.request
from datetime import datetime
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import pytest

from .conftest import ROOT, submission

pytestmark = pytest.mark.slow
CATALOG = ROOT / "src/chinhquyenso/catalog/data/procedures.json"


def fee_procedure_code() -> str:
    procs = json.loads(CATALOG.read_text(encoding="utf-8"))["procedures"]
    return next(p["code"] for p in procs if p["fee"] > 0 and p["level"] == "commune"
                and not p.get("payment_before_processing"))


PENDING_LINKS = ("from chinhquyenso.payments.models import PendingAuditLink as P;"
                 "print(P.objects.count())")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def pay_on_the_sandbox(platform, sandbox, n: int = 0) -> tuple[str, dict, str]:
    """A new dossier with a fee, paid on the sandbox's page; returns (code, order, the
    return URL the sandbox redirected to) once the IPN has confirmed it."""
    proc, agency = platform.procedure_and_agency(fee_procedure_code())
    status, created = platform.request("POST", "/api/v1/dossiers",
                                       submission(proc, agency, n), user="citizen")
    assert status == 201, created
    code = created["code"]
    status, order = platform.request("POST", f"/api/v1/dossiers/{code}/payments",
                                     user="citizen")
    assert status == 201 and order["amount"] == proc["fee"]
    assert order["payment_url"].startswith(sandbox)
    with urllib.request.urlopen(order["payment_url"]) as page:  # the gateway's page
        assert "Thanh toán thành công" in page.read().decode()
    opener = urllib.request.build_opener(NoRedirect)
    form = urlencode({"vnp_TxnRef": order["txn_ref"], "choice": "success"}).encode()
    try:
        opener.open(f"{sandbox}/paymentv2/vpcpay.html", data=form)
        raise AssertionError("the sandbox should redirect to the return URL")
    except urllib.error.HTTPError as redirect:
        assert redirect.code == 302
        back = redirect.headers["Location"]
    assert urlsplit(back).path == "/thanh-toan/ket-qua"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:  # the IPN arrives from the sandbox's own thread
        _, dossier = platform.request("GET", f"/api/v1/dossiers/{code}", user="citizen")
        if dossier["paid_online"]:
            break
        time.sleep(0.2)
    assert dossier["paid_online"], "the IPN never confirmed the payment"
    return code, order, back


def test_citizen_pays_on_the_sandbox_and_the_platform_confirms(platform, sandbox):
    code, order, back = pay_on_the_sandbox(platform, sandbox)
    with urllib.request.urlopen(back) as page:
        html = page.read().decode()
    assert "Đã thanh toán" in html and "Tải biên lai điện tử" in html
    status, listed = platform.request("GET", f"/api/v1/dossiers/{code}/receipts",
                                      user="citizen")
    assert status == 200 and [r["number"] for r in listed] == ["0000001"]
    conn = platform.connection()
    conn.request("GET", listed[0]["pdf_url"],
                 headers={"Authorization": f"Bearer {platform.tokens['citizen']}"})
    pdf = conn.getresponse()
    assert pdf.status == 200 and pdf.read().startswith(b"%PDF")
    conn.close()
    with urllib.request.urlopen(listed[0]["verify_url"]) as page:
        assert "0000001" in page.read().decode()
    # The IPN's audit link is chained after commit by the server's background flusher.
    deadline = time.monotonic() + 10
    while "0" != platform.cqs("shell", "--no-imports", "-c", PENDING_LINKS).strip():
        assert time.monotonic() < deadline, "audit links left pending"
        time.sleep(0.2)
    assert "nguyên vẹn" in platform.cqs("audit", "verify")
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    assert "khớp" in platform.cqs("payments", "reconcile", "--date", today)


def test_a_refused_dossiers_fee_is_refunded_through_the_sandbox(platform, sandbox):
    """Refund with a leader's approval against the real sandbox (VNPAY refund API)."""
    code, order, _ = pay_on_the_sandbox(platform, sandbox, n=1)
    if "leader" not in platform.tokens:
        _, agency = platform.procedure_and_agency(fee_procedure_code())
        platform.cqs("user", "add", "--username", "leader", "--role", "leader",
                     "--agency", agency)
        platform.tokens["leader"] = platform.cqs("token", "create", "--user", "leader").strip()
    status, body = platform.request("POST", f"/api/v1/dossiers/{code}/actions/refuse",
                                    {"note": "Không thuộc thẩm quyền giải quyết"},
                                    user="receiver")
    assert status == 200, body
    status, refund = platform.request("POST", f"/api/v1/payments/{order['txn_ref']}/refunds",
                                      {"reason": "Từ chối tiếp nhận sau khi nộp phí"},
                                      user="receiver")
    assert status == 201, refund
    status, done = platform.request("POST", f"/api/v1/refunds/{refund['id']}/approve", {},
                                    user="leader")
    assert status == 200 and done["status"] == "approved", done
    status, again = platform.request("POST", f"/api/v1/refunds/{refund['id']}/approve", {},
                                     user="leader")
    assert status == 409
    with urllib.request.urlopen(f"{sandbox}/") as page:  # the gateway's own ledger
        html = page.read().decode()
    assert order["txn_ref"] in html and "refunded" in html
