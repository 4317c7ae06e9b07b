"""The local VNPAY sandbox (chinhquyenso.payments.sandbox) driven over HTTP on 127.0.0.1, with
a stub merchant IPN endpoint that records every call."""

import csv
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from chinhquyenso.payments import vnpay
from chinhquyenso.payments.sandbox import SandboxConfig, SandboxGateway, make_sandbox_server

SECRET = "SANDBOXSECRETCHINHQUYENSO2026XYZ"
RETURN_URL = "http://127.0.0.1:9/thanh-toan/ket-qua?don=1"
ROOT = Path(__file__).resolve().parents[2]


class StubMerchant:
    """Plays the platform's IPN endpoint: answers per `script` (a list of RspCodes or HTTP
    statuses for the first calls), then like a correct merchant: 00 once, 02 afterwards."""

    def __init__(self, script=()):
        self.calls: list[dict] = []
        self.script = list(script)
        self.confirmed: set[str] = set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                params = dict(parse_qsl(urlsplit(self.path).query))
                stub.calls.append(params)
                if stub.script:
                    step = stub.script.pop(0)
                    if isinstance(step, int):
                        self.send_response(step)
                        self.end_headers()
                        return
                    code = step
                elif not vnpay.verify_signature(params, SECRET):
                    code = vnpay.IPN_INVALID_SIGNATURE
                elif params["vnp_TxnRef"] in stub.confirmed:
                    code = vnpay.IPN_ALREADY_CONFIRMED
                else:
                    stub.confirmed.add(params["vnp_TxnRef"])
                    code = vnpay.IPN_CONFIRMED
                body = json.dumps(vnpay.ipn_response(code)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/v1/payments/vnpay/ipn"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Sandbox:
    def __init__(self, tmp_path, merchant, now=None):
        self.gateway = SandboxGateway(
            SandboxConfig(db_path=str(tmp_path / "sandbox.sqlite3"), ipn_url=merchant.url,
                          ipn_backoff=0.02, ipn_timeout=2),
            now=now,
        )
        self.server = make_sandbox_server(self.gateway, "127.0.0.1", 0)
        self.port = self.server.server_port
        self.base = f"http://127.0.0.1:{self.port}"
        self.cfg = vnpay.VnpayConfig(
            tmn_code="CQSDEMO1", hash_secret=SECRET,
            payment_url=f"{self.base}/paymentv2/vpcpay.html",
            api_url=f"{self.base}/merchant_webapi/api/transaction",
        )
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            rsp = conn.getresponse()
            return rsp.status, dict(rsp.getheaders()), rsp.read()
        finally:
            conn.close()

    def payment_url(self, txn_ref, amount=150_000, created=None, minutes=15, secret=SECRET):
        created = created or datetime.now(UTC)
        cfg = vnpay.VnpayConfig(self.cfg.tmn_code, secret, self.cfg.payment_url, "")
        return vnpay.build_payment_url(
            cfg, txn_ref=txn_ref, amount=amount, order_info=f"Le phi ho so {txn_ref}",
            return_url=RETURN_URL, ip_addr="127.0.0.1", create_date=created,
            expire_date=created + timedelta(minutes=minutes),
        )

    def get(self, url):
        parts = urlsplit(url)
        return self.request("GET", f"{parts.path}?{parts.query}")

    def choose(self, txn_ref, choice):
        return self.request("POST", "/paymentv2/vpcpay.html",
                            urlencode({"vnp_TxnRef": txn_ref, "choice": choice}),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def pay(self, txn_ref, choice="success", **kw):
        url = self.payment_url(txn_ref, **kw)
        status, _, page = self.get(url)
        assert status == 200, page.decode()
        status, headers, _ = self.choose(txn_ref, choice)
        assert status == 302
        return url, headers["Location"]

    def api(self, body):
        status, _, raw = self.request("POST", "/merchant_webapi/api/transaction",
                                      json.dumps(body), {"Content-Type": "application/json"})
        assert status == 200
        return json.loads(raw)

    def close(self):
        self.gateway.close()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def merchant():
    m = StubMerchant()
    yield m
    m.close()


@pytest.fixture
def sandbox(tmp_path, merchant):
    s = Sandbox(tmp_path, merchant)
    yield s
    s.close()


def querydr(sandbox, txn_ref, created, request_id):
    return sandbox.api(vnpay.querydr_request(
        sandbox.cfg, request_id=request_id, txn_ref=txn_ref, order_info="Truy van",
        transaction_date=created, create_date=datetime.now(UTC), ip_addr="127.0.0.1"))


def test_successful_payment_end_to_end(sandbox, merchant):
    created = datetime.now(UTC)
    url = sandbox.payment_url("HP-0001", amount=150_000, created=created)
    status, headers, page = sandbox.get(url)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    text = page.decode()
    assert "150.000 đ" in text and "Le phi ho so HP-0001" in text and "CQSDEMO1" in text
    for label in ["Thanh toán thành công", "Hủy giao dịch", "Tài khoản không đủ số dư"]:
        assert label in text

    status, headers, _ = sandbox.choose("HP-0001", "success")
    assert status == 302
    location = headers["Location"]
    assert location.startswith(RETURN_URL + "&")
    back = dict(parse_qsl(urlsplit(location).query))
    assert back.pop("don") == "1"  # the merchant's own parameter is kept, not signed
    assert vnpay.verify_signature(back, SECRET)
    assert back["vnp_ResponseCode"] == "00" and back["vnp_TransactionStatus"] == "00"
    assert vnpay.parse_amount(back) == 150_000
    assert back["vnp_BankCode"] == "NCB" and back["vnp_TxnRef"] == "HP-0001"
    assert back["vnp_TransactionNo"].isdigit() and back["vnp_CardType"] == "ATM"
    assert vnpay.parse_date(back["vnp_PayDate"]) <= datetime.now(UTC) + timedelta(seconds=1)
    assert "vnp_SecureHashType" not in back

    # The IPN: confirmed, then delivered once more (a duplicate the platform must absorb).
    assert sandbox.gateway.wait_idle(5)
    assert len(merchant.calls) >= 2
    for call in merchant.calls:
        assert vnpay.verify_signature(call, SECRET)
        assert {k: v for k, v in call.items() if k != "vnp_SecureHash"} == {
            k: v for k, v in back.items() if k != "vnp_SecureHash"}
    assert [c["outcome"] for c in sandbox.gateway.ipn_calls("HP-0001")] == ["00", "02"]

    # querydr: paid.
    answer = querydr(sandbox, "HP-0001", created, "Q1")
    assert vnpay.verify_api_response(answer, SECRET)
    assert answer["vnp_ResponseCode"] == "00"
    assert answer["vnp_TransactionStatus"] == "00" and answer["vnp_TransactionType"] == "01"
    assert answer["vnp_TransactionNo"] == back["vnp_TransactionNo"]
    assert vnpay.parse_amount(answer) == 150_000

    # refund (full): accepted, and querydr then shows it refunded.
    refund = sandbox.api(vnpay.refund_request(
        sandbox.cfg, request_id="R1", txn_ref="HP-0001", amount=150_000,
        order_info="Hoan tien", transaction_date=created, create_date=datetime.now(UTC),
        ip_addr="127.0.0.1", create_by="ketoan", transaction_no=back["vnp_TransactionNo"]))
    assert vnpay.verify_api_response(refund, SECRET)
    assert refund["vnp_ResponseCode"] == "00" and refund["vnp_TransactionType"] == "02"
    after = querydr(sandbox, "HP-0001", created, "Q2")
    assert vnpay.verify_api_response(after, SECRET)
    assert after["vnp_TransactionType"] == "02" and after["vnp_TransactionStatus"] == "06"
    again = sandbox.api(vnpay.refund_request(
        sandbox.cfg, request_id="R2", txn_ref="HP-0001", amount=150_000,
        order_info="Hoan tien", transaction_date=created, create_date=datetime.now(UTC),
        ip_addr="127.0.0.1", create_by="ketoan"))
    assert again["vnp_ResponseCode"] == "94"

    # The day's settlement file lists it.
    day = vnpay.parse_date(back["vnp_PayDate"]).date().isoformat()
    status, headers, raw = sandbox.request("GET", f"/settlement?date={day}")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(raw.decode())))
    assert rows == [{"txn_ref": "HP-0001", "transaction_no": back["vnp_TransactionNo"],
                     "amount": "150000", "status": "refunded", "pay_date": back["vnp_PayDate"],
                     "bank_code": "NCB", "refunded_amount": "150000"}]
    status, _, raw = sandbox.request("GET", "/settlement?date=2001-01-01")
    assert status == 200 and len(raw.decode().strip().splitlines()) == 1  # header only


@pytest.mark.parametrize(("choice", "code"), [("cancel", "24"), ("insufficient", "51")])
def test_failed_payments(sandbox, merchant, choice, code):
    created = datetime.now(UTC)
    _, location = sandbox.pay(f"HP-{choice}", choice, created=created)
    back = dict(parse_qsl(urlsplit(location).query))
    assert vnpay.verify_signature(back, SECRET)
    assert back["vnp_ResponseCode"] == code and back["vnp_TransactionStatus"] == "02"
    assert not vnpay.is_success(back)
    assert sandbox.gateway.wait_idle(5)
    assert merchant.calls and all(c["vnp_ResponseCode"] == code for c in merchant.calls)
    answer = querydr(sandbox, f"HP-{choice}", created, f"Q-{choice}")
    assert answer["vnp_ResponseCode"] == "00" and answer["vnp_TransactionStatus"] == "02"
    refund = sandbox.api(vnpay.refund_request(
        sandbox.cfg, request_id=f"R-{choice}", txn_ref=f"HP-{choice}", amount=150_000,
        order_info="Hoan tien", transaction_date=created, create_date=datetime.now(UTC),
        ip_addr="127.0.0.1", create_by="ketoan"))
    assert refund["vnp_ResponseCode"] == "95"  # nothing was paid
    # The choice can be made once only.
    status, _, _ = sandbox.choose(f"HP-{choice}", "success")
    assert status == 400


def test_forged_or_invalid_payment_urls_are_refused(sandbox):
    url = sandbox.payment_url("HP-F1", amount=150_000)
    forged = url.replace("vnp_Amount=15000000", "vnp_Amount=100")
    status, _, page = sandbox.get(forged)
    assert status == 400 and "Sai chữ ký" in page.decode()
    status, _, page = sandbox.get(sandbox.payment_url("HP-F2", secret="NOT-THE-SECRET"))
    assert status == 400 and "Sai chữ ký" in page.decode()
    unsigned = url.split("&vnp_SecureHash=")[0]
    assert sandbox.get(unsigned)[0] == 400
    # Expired before the citizen arrives.
    past = datetime.now(UTC) - timedelta(hours=1)
    status, _, page = sandbox.get(sandbox.payment_url("HP-F3", created=past, minutes=15))
    assert status == 400 and "quá thời gian" in page.decode()
    # Nothing was recorded: there is nothing to pay.
    assert sandbox.choose("HP-F1", "success")[0] == 400
    # The same vnp_TxnRef with other content is a duplicate.
    assert sandbox.get(url)[0] == 200
    assert sandbox.get(url)[0] == 200  # reloading the same page is fine
    status, _, page = sandbox.get(sandbox.payment_url("HP-F1", amount=200_000))
    assert status == 400 and "đã tồn tại" in page.decode()


def test_ipn_is_retried_until_the_merchant_confirms(tmp_path):
    merchant = StubMerchant(script=[500, "99", 503])
    sandbox = Sandbox(tmp_path, merchant)
    try:
        sandbox.pay("HP-R1")
        assert sandbox.gateway.wait_idle(10)
        outcomes = [c["outcome"] for c in sandbox.gateway.ipn_calls("HP-R1")]
        assert outcomes[1:] == ["99", "error: HTTPError: HTTP Error 503: Service Unavailable",
                                "00", "02"]
        assert outcomes[0].startswith("error: HTTPError")
        assert len(merchant.calls) == 5
    finally:
        sandbox.close()
        merchant.close()


def test_api_refuses_bad_requests(sandbox):
    created = datetime.now(UTC)
    sandbox.pay("HP-A1", created=created)
    body = vnpay.querydr_request(
        sandbox.cfg, request_id="A1", txn_ref="HP-A1", order_info="Truy van",
        transaction_date=created, create_date=datetime.now(UTC), ip_addr="127.0.0.1")
    bad = sandbox.api({**body, "vnp_IpAddr": "10.9.9.9"})  # not what was signed
    assert bad["vnp_ResponseCode"] == "97" and vnpay.verify_api_response(bad, SECRET)
    assert sandbox.api(body)["vnp_ResponseCode"] == "00"
    assert sandbox.api(body)["vnp_ResponseCode"] == "94"  # same vnp_RequestId the same day
    wrong_date = querydr(sandbox, "HP-A1", created - timedelta(days=1), "A2")
    assert wrong_date["vnp_ResponseCode"] == "91"
    assert querydr(sandbox, "HP-NONE", created, "A3")["vnp_ResponseCode"] == "91"
    other_tmn = vnpay.VnpayConfig("OTHERTMN", SECRET, "", "")
    assert sandbox.api(vnpay.querydr_request(
        other_tmn, request_id="A4", txn_ref="HP-A1", order_info="x", transaction_date=created,
        create_date=datetime.now(UTC), ip_addr="127.0.0.1"))["vnp_ResponseCode"] == "02"
    status, _, raw = sandbox.request("POST", "/merchant_webapi/api/transaction", b"not json")
    assert status == 200 and json.loads(raw)["vnp_ResponseCode"] == "03"

    # Partial refunds add up to the amount; more is refused.
    def refund(request_id, amount, full):
        return sandbox.api(vnpay.refund_request(
            sandbox.cfg, request_id=request_id, txn_ref="HP-A1", amount=amount,
            order_info="Hoan", transaction_date=created, create_date=datetime.now(UTC),
            ip_addr="127.0.0.1", create_by="ketoan", full=full))

    assert refund("P0", 100_000, True)["vnp_ResponseCode"] == "03"  # full must be all of it
    first = refund("P1", 100_000, False)
    assert first["vnp_ResponseCode"] == "00" and first["vnp_TransactionType"] == "03"
    assert vnpay.parse_amount(first) == 100_000
    assert refund("P2", 60_000, False)["vnp_ResponseCode"] == "03"
    assert refund("P3", 50_000, False)["vnp_ResponseCode"] == "00"
    assert querydr(sandbox, "HP-A1", created, "A5")["vnp_TransactionStatus"] == "06"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cqs_payments_sandbox_command(tmp_path):
    port = free_port()
    env = {**os.environ, "CQS_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "chinhquyenso.cli", "payments", "sandbox", "--port", str(port),
         "--db", str(tmp_path / "sb.sqlite3")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", "/")
                rsp = conn.getresponse()
                assert rsp.status == 200 and "CQSDEMO1" in rsp.read().decode()
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "sandbox did not start"
                time.sleep(0.1)
        assert (tmp_path / "sb.sqlite3").exists()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
