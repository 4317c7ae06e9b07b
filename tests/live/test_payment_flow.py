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


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_citizen_pays_on_the_sandbox_and_the_platform_confirms(platform, sandbox):
    proc, agency = platform.procedure_and_agency(fee_procedure_code())
    status, created = platform.request("POST", "/api/v1/dossiers",
                                       submission(proc, agency), user="citizen")
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
    with urllib.request.urlopen(back) as page:
        assert "Đã thanh toán" in page.read().decode()
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    assert "khớp" in platform.cqs("payments", "reconcile", "--date", today)
