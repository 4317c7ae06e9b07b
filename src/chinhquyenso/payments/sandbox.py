"""A local VNPAY sandbox: a small WSGI app (stdlib only, no Django) that speaks the VNPAY 2.1.0
protocol of chinhquyenso.payments.vnpay, for development, tests and `make run`.

    GET  /paymentv2/vpcpay.html?vnp_...   the payment page (signature and parameters checked)
    POST /paymentv2/vpcpay.html           the citizen's choice: success / cancel / no funds;
                                          records the result, calls the merchant's IPN URL in
                                          the background and redirects to vnp_ReturnUrl
    POST /merchant_webapi/api/transaction querydr and refund (JSON, '|' checksums)
    GET  /settlement?date=YYYY-MM-DD      the day's settlement file (CSV)
    GET  /                                the transactions it holds (HTML)

Like the real gateway it retries the IPN call until the merchant answers RspCode 00 or 02
(VNPAY retries an IPN the merchant did not confirm), and — unlike it, on purpose — it then
delivers the same notification once more, so that the platform always meets a duplicate.

State lives in a SQLite file. Run it with `cqs payments sandbox --port 8100 [--db PATH]` or
`python -m chinhquyenso.payments.sandbox`. Settings (arguments win over the environment):
VNPAY_TMN_CODE, VNPAY_HASH_SECRET, VNPAY_SANDBOX_IPN_URL, VNPAY_SANDBOX_DB.
"""

from __future__ import annotations

import argparse
import csv
import html
import io
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from http import HTTPStatus
from socketserver import ThreadingMixIn
from urllib.parse import parse_qsl
from urllib.request import ProxyHandler, build_opener
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from . import vnpay

DEFAULT_TMN_CODE = "CQSDEMO1"
DEFAULT_HASH_SECRET = "SANDBOXSECRETCHINHQUYENSO2026XYZ"
DEFAULT_IPN_URL = "http://127.0.0.1:8000/api/v1/payments/vnpay/ipn"
DEFAULT_DB = "var/vnpay-sandbox.sqlite3"
PAY_PATH = "/paymentv2/vpcpay.html"
API_PATH = "/merchant_webapi/api/transaction"
BANK_CODE = "NCB"
CARD_TYPE = "ATM"
FIRST_TRANSACTION_NO = 14000000
MAX_BODY = 64 * 1024

# The citizen's three choices on the payment page -> vnp_ResponseCode [PAY].
CHOICES = {
    "success": ("00", "Thanh toán thành công"),
    "cancel": (vnpay.RESPONSE_CANCELLED, "Hủy giao dịch"),
    "insufficient": (vnpay.RESPONSE_INSUFFICIENT_FUNDS, "Tài khoản không đủ số dư"),
}
RESPONSE_EXPIRED = "11"  # "Đã hết hạn chờ thanh toán" [PAY]
# vnp_TransactionStatus [PAY][API]: 00 success, 01 not completed, 02 error,
# 05 refund being processed by VNPAY, 06 refund sent to the bank.
TS_SUCCESS, TS_PENDING, TS_FAILED, TS_REFUND_PROCESSING, TS_REFUND_SENT = (
    "00", "01", "02", "05", "06")

REQUIRED_PAY = ("vnp_Version", "vnp_Command", "vnp_TmnCode", "vnp_Amount", "vnp_CreateDate",
                "vnp_CurrCode", "vnp_IpAddr", "vnp_Locale", "vnp_OrderInfo", "vnp_OrderType",
                "vnp_ReturnUrl", "vnp_TxnRef", "vnp_ExpireDate")

SCHEMA = """
CREATE TABLE IF NOT EXISTS txn (
    txn_ref TEXT PRIMARY KEY,
    amount INTEGER NOT NULL,           -- đồng
    order_info TEXT NOT NULL,
    order_type TEXT NOT NULL,
    locale TEXT NOT NULL,
    ip_addr TEXT NOT NULL,
    return_url TEXT NOT NULL,
    create_date TEXT NOT NULL,         -- vnp_CreateDate, yyyyMMddHHmmss GMT+7
    expire_date TEXT NOT NULL,
    signature TEXT NOT NULL,           -- vnp_SecureHash of the payment request
    status TEXT NOT NULL DEFAULT 'pending',  -- pending|success|failed|refunded|partially_refunded
    response_code TEXT NOT NULL DEFAULT '',
    transaction_no TEXT NOT NULL DEFAULT '',
    bank_code TEXT NOT NULL DEFAULT '',
    bank_tran_no TEXT NOT NULL DEFAULT '',
    card_type TEXT NOT NULL DEFAULT '',
    pay_date TEXT NOT NULL DEFAULT '',
    refunded_amount INTEGER NOT NULL DEFAULT 0,
    refund_type TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS ipn_call (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    txn_ref TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    outcome TEXT NOT NULL              -- the merchant's RspCode, or the error
);
CREATE TABLE IF NOT EXISTS api_request (
    request_id TEXT PRIMARY KEY,
    at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass
class SandboxConfig:
    db_path: str = DEFAULT_DB
    tmn_code: str = DEFAULT_TMN_CODE
    hash_secret: str = DEFAULT_HASH_SECRET
    ipn_url: str = DEFAULT_IPN_URL
    merchant_name: str = "Chính quyền số — Cổng dịch vụ công (thử nghiệm)"
    ipn_attempts: int = 10  # deliveries before giving up on a merchant that doesn't confirm
    ipn_backoff: float = 2.0  # seconds; the n-th retry waits n x backoff (capped at 60 s)
    ipn_timeout: float = 10.0  # seconds per IPN call
    duplicate_delivery: bool = True  # one more delivery after the merchant confirmed

    @classmethod
    def from_env(cls, **overrides) -> SandboxConfig:
        env = {
            "db_path": os.environ.get("VNPAY_SANDBOX_DB"),
            "tmn_code": os.environ.get("VNPAY_TMN_CODE"),
            "hash_secret": os.environ.get("VNPAY_HASH_SECRET"),
            "ipn_url": os.environ.get("VNPAY_SANDBOX_IPN_URL"),
        }
        values = {k: v for k, v in env.items() if v}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class Invalid(Exception):
    """A payment request the gateway refuses; the message is shown to the citizen."""


def format_vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đ"


class SandboxGateway:
    """The WSGI application. Thread-safe: one lock around every database access."""

    def __init__(self, config: SandboxConfig, *, now: Callable[[], datetime] | None = None):
        self.config = config
        self.now = now or (lambda: datetime.now(vnpay.GMT7))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._opener = build_opener(ProxyHandler({}))  # 127.0.0.1 must not go via a proxy
        parent = os.path.dirname(os.path.abspath(config.db_path))
        os.makedirs(parent, exist_ok=True)
        with self._db() as db:
            db.executescript(SCHEMA)

    # --- plumbing ----------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.config.db_path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def _query(self, sql: str, args=()) -> list[sqlite3.Row]:
        with self._lock:
            db = self._db()
            try:
                with db:
                    return db.execute(sql, args).fetchall()
            finally:
                db.close()

    def _txn(self, txn_ref: str) -> sqlite3.Row | None:
        rows = self._query("SELECT * FROM txn WHERE txn_ref = ?", (txn_ref,))
        return rows[0] if rows else None

    def _now_str(self) -> str:
        return vnpay.format_date(self.now())

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        try:
            if path == PAY_PATH and method == "GET":
                status, headers, body = self.payment_page(environ.get("QUERY_STRING", ""))
            elif path == PAY_PATH and method == "POST":
                status, headers, body = self.payment_choice(_read_body(environ))
            elif path == API_PATH and method == "POST":
                status, headers, body = self.api(_read_body(environ))
            elif path == "/settlement" and method == "GET":
                status, headers, body = self.settlement(environ.get("QUERY_STRING", ""))
            elif path == "/" and method == "GET":
                status, headers, body = self.index()
            else:
                status, headers, body = _page(HTTPStatus.NOT_FOUND, "Không tìm thấy",
                                              "Địa chỉ này không có trên cổng thử nghiệm.")
        except Invalid as exc:
            status, headers, body = _page(HTTPStatus.BAD_REQUEST, "Giao dịch không hợp lệ",
                                          str(exc))
        start_response(f"{status.value} {status.phrase}", headers)
        return [body]

    # --- payment page ------------------------------------------------------------------

    def _check_payment_request(self, query: str) -> dict[str, str]:
        pairs = parse_qsl(query, keep_blank_values=True)
        params = dict(pairs)
        if len(params) != len(pairs):
            raise Invalid("Tham số bị lặp lại trong yêu cầu thanh toán.")
        if not vnpay.verify_signature(params, self.config.hash_secret):
            raise Invalid("Sai chữ ký (vnp_SecureHash): yêu cầu thanh toán không hợp lệ.")
        missing = [k for k in REQUIRED_PAY if not params.get(k)]
        if missing:
            raise Invalid("Thiếu tham số bắt buộc: " + ", ".join(missing) + ".")
        if params["vnp_Version"] != vnpay.VERSION:
            raise Invalid(f"Phiên bản không được hỗ trợ: {params['vnp_Version']}.")
        if params["vnp_Command"] != "pay":
            raise Invalid(f"Mã lệnh không hợp lệ: {params['vnp_Command']}.")
        if params["vnp_TmnCode"] != self.config.tmn_code:
            raise Invalid("Mã website (vnp_TmnCode) không tồn tại trên cổng thanh toán.")
        if params["vnp_CurrCode"] != "VND":
            raise Invalid("Đơn vị tiền tệ phải là VND.")
        try:
            amount = vnpay.parse_amount(params)
            created = vnpay.parse_date(params["vnp_CreateDate"])
            expires = vnpay.parse_date(params["vnp_ExpireDate"])
        except ValueError as exc:
            raise Invalid(f"Dữ liệu không đúng định dạng: {exc}") from exc
        if amount <= 0:
            raise Invalid("Số tiền thanh toán không hợp lệ.")
        if expires <= created:
            raise Invalid("Thời hạn thanh toán (vnp_ExpireDate) không hợp lệ.")
        if self.now() > expires:
            raise Invalid("Giao dịch đã quá thời gian chờ thanh toán. Quý khách vui lòng thực "
                          "hiện lại giao dịch.")
        return params

    def payment_page(self, query: str):
        params = self._check_payment_request(query)
        amount = vnpay.parse_amount(params)
        txn_ref = params["vnp_TxnRef"]
        with self._lock:
            db = self._db()
            try:
                with db:
                    row = db.execute("SELECT * FROM txn WHERE txn_ref = ?", (txn_ref,)).fetchone()
                    if row is None:
                        db.execute(
                            "INSERT INTO txn (txn_ref, amount, order_info, order_type, locale,"
                            " ip_addr, return_url, create_date, expire_date, signature)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (txn_ref, amount, params["vnp_OrderInfo"], params["vnp_OrderType"],
                             params["vnp_Locale"], params["vnp_IpAddr"], params["vnp_ReturnUrl"],
                             params["vnp_CreateDate"], params["vnp_ExpireDate"],
                             params[vnpay.SECURE_HASH].lower()),
                        )
                    elif (row["signature"] != params[vnpay.SECURE_HASH].lower()
                          or row["status"] != "pending"):
                        # The same vnp_TxnRef again: VNPAY answers "Giao dịch đã tồn tại".
                        raise Invalid(f"Giao dịch đã tồn tại (vnp_TxnRef {txn_ref}).")
            finally:
                db.close()
        return HTTPStatus.OK, _html_headers(), self._render_payment_page(params, amount)

    def _render_payment_page(self, params: dict[str, str], amount: int) -> bytes:
        e = html.escape
        buttons = "\n".join(
            f'<button type="submit" name="choice" value="{key}" class="{key}">{e(label)}</button>'
            for key, (_, label) in CHOICES.items()
        )
        expires = vnpay.parse_date(params["vnp_ExpireDate"]).strftime("%H:%M:%S %d/%m/%Y")
        body = f"""
<h1>Cổng thanh toán VNPAY <small>(môi trường thử nghiệm)</small></h1>
<table>
<tr><th>Đơn vị chấp nhận thanh toán</th><td>{e(self.config.merchant_name)}
 ({e(self.config.tmn_code)})</td></tr>
<tr><th>Mã giao dịch</th><td>{e(params["vnp_TxnRef"])}</td></tr>
<tr><th>Nội dung thanh toán</th><td>{e(params["vnp_OrderInfo"])}</td></tr>
<tr><th>Số tiền</th><td class="amount">{e(format_vnd(amount))}</td></tr>
<tr><th>Hạn thanh toán</th><td>{e(expires)} (GMT+7)</td></tr>
<tr><th>Ngân hàng</th><td>{BANK_CODE} — thẻ ATM nội địa (giả lập)</td></tr>
</table>
<form method="post" action="{PAY_PATH}">
<input type="hidden" name="vnp_TxnRef" value="{e(params["vnp_TxnRef"])}">
{buttons}
</form>
<p class="note">Đây là cổng giả lập cho phát triển và kiểm thử; không có khoản tiền thật nào
được chuyển.</p>"""
        return _layout("Thanh toán trực tuyến — VNPAY (thử nghiệm)", body)

    def payment_choice(self, raw: bytes):
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        choice = form.get("choice", "")
        if choice not in CHOICES:
            raise Invalid("Lựa chọn không hợp lệ.")
        txn_ref = form.get("vnp_TxnRef", "")
        now = self.now()
        with self._lock:
            db = self._db()
            try:
                with db:
                    row = db.execute("SELECT * FROM txn WHERE txn_ref = ?", (txn_ref,)).fetchone()
                    if row is None:
                        raise Invalid("Không tìm thấy giao dịch.")
                    if row["status"] != "pending":
                        raise Invalid("Giao dịch đã được xử lý trước đó.")
                    code = CHOICES[choice][0]
                    if now > vnpay.parse_date(row["expire_date"]):
                        code = RESPONSE_EXPIRED
                    transaction_no = "0"
                    if code != vnpay.RESPONSE_CANCELLED:  # cancelled: never reached a bank
                        transaction_no = str(self._next_transaction_no(db))
                    db.execute(
                        "UPDATE txn SET status = ?, response_code = ?, transaction_no = ?,"
                        " bank_code = ?, bank_tran_no = ?, card_type = ?, pay_date = ?"
                        " WHERE txn_ref = ?",
                        ("success" if code == "00" else "failed", code, transaction_no,
                         BANK_CODE, f"VNP{transaction_no}" if transaction_no != "0" else "",
                         CARD_TYPE if transaction_no != "0" else "", vnpay.format_date(now),
                         txn_ref),
                    )
                    row = db.execute("SELECT * FROM txn WHERE txn_ref = ?", (txn_ref,)).fetchone()
            finally:
                db.close()
        query = vnpay.signed_query(self.result_params(row), self.config.hash_secret)
        self._start_ipn(txn_ref, query)
        sep = "&" if "?" in row["return_url"] else "?"
        return HTTPStatus.FOUND, [("Location", row["return_url"] + sep + query),
                                  ("Content-Type", "text/plain; charset=utf-8")], b""

    def _next_transaction_no(self, db: sqlite3.Connection) -> int:
        db.execute("INSERT OR IGNORE INTO counter (name, value) VALUES ('transaction_no', ?)",
                   (FIRST_TRANSACTION_NO,))
        db.execute("UPDATE counter SET value = value + 1 WHERE name = 'transaction_no'")
        return db.execute("SELECT value FROM counter WHERE name = 'transaction_no'").fetchone()[0]

    def result_params(self, row: sqlite3.Row) -> dict[str, str]:
        """The unsigned vnp_* parameters of the return URL and of the IPN call [PAY]."""
        params = {
            "vnp_Amount": str(row["amount"] * 100),
            "vnp_BankCode": row["bank_code"],
            "vnp_BankTranNo": row["bank_tran_no"],
            "vnp_CardType": row["card_type"],
            "vnp_OrderInfo": row["order_info"],
            "vnp_PayDate": row["pay_date"],
            "vnp_ResponseCode": row["response_code"],
            "vnp_TmnCode": self.config.tmn_code,
            "vnp_TransactionNo": row["transaction_no"],
            "vnp_TransactionStatus": TS_SUCCESS if row["response_code"] == "00" else TS_FAILED,
            "vnp_TxnRef": row["txn_ref"],
        }
        return {k: v for k, v in params.items() if v}  # empty ones are not sent

    # --- IPN delivery ------------------------------------------------------------------

    def _start_ipn(self, txn_ref: str, query: str) -> None:
        t = threading.Thread(target=self._deliver_ipn, args=(txn_ref, query),
                             name=f"ipn-{txn_ref}", daemon=True)
        with self._lock:
            self._threads = [x for x in self._threads if x.is_alive()]
            self._threads.append(t)
        t.start()

    def _call_ipn(self, url: str) -> str:
        try:
            with self._opener.open(url, timeout=self.config.ipn_timeout) as rsp:
                answer = json.loads(rsp.read(MAX_BODY).decode("utf-8"))
            return str(answer.get("RspCode", "?")) if isinstance(answer, dict) else "?"
        except Exception as exc:  # noqa: BLE001 — any failure means "not confirmed"
            return f"error: {type(exc).__name__}: {exc}"[:200]

    def _deliver_ipn(self, txn_ref: str, query: str) -> None:
        cfg = self.config
        url = cfg.ipn_url + ("&" if "?" in cfg.ipn_url else "?") + query
        attempt = 0
        confirmed = False
        while attempt < cfg.ipn_attempts and not self._stop.is_set():
            attempt += 1
            outcome = self._call_ipn(url)
            self._log_ipn(txn_ref, attempt, outcome)
            if outcome in (vnpay.IPN_CONFIRMED, vnpay.IPN_ALREADY_CONFIRMED):
                confirmed = True
                break
            if self._stop.wait(min(cfg.ipn_backoff * attempt, 60.0)):
                return
        if confirmed and cfg.duplicate_delivery and not self._stop.wait(cfg.ipn_backoff):
            self._log_ipn(txn_ref, attempt + 1, self._call_ipn(url))

    def _log_ipn(self, txn_ref: str, attempt: int, outcome: str) -> None:
        self._query("INSERT INTO ipn_call (txn_ref, attempt, at, outcome) VALUES (?, ?, ?, ?)",
                    (txn_ref, attempt, self._now_str(), outcome))

    def ipn_calls(self, txn_ref: str) -> list[dict]:
        return [dict(r) for r in self._query(
            "SELECT attempt, at, outcome FROM ipn_call WHERE txn_ref = ? ORDER BY id", (txn_ref,))]

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait for the IPN deliveries under way (tests). True when all have finished."""
        with self._lock:
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in threads)

    def close(self) -> None:
        """Stop retrying IPN calls."""
        self._stop.set()

    # --- querydr / refund --------------------------------------------------------------

    def api(self, raw: bytes):
        try:
            req = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            req = None
        if not isinstance(req, dict):
            return self._api_answer({}, "03", "Invalid request format")
        command = req.get("vnp_Command")
        if command == vnpay.COMMAND_QUERYDR:
            return self.querydr(req)
        if command == vnpay.COMMAND_REFUND:
            return self.refund(req)
        return self._api_answer({**req, "vnp_Command": str(command or "")}, "03",
                                "Invalid command")

    def _api_answer(self, req: dict, code: str, message: str, row: sqlite3.Row | None = None,
                    **extra: str):
        command = req.get("vnp_Command")
        resp = {
            "vnp_ResponseId": uuid.uuid4().hex,
            "vnp_Command": command if isinstance(command, str) else "",
            "vnp_ResponseCode": code,
            "vnp_Message": message,
            "vnp_TmnCode": self.config.tmn_code,
            "vnp_TxnRef": str(req.get("vnp_TxnRef", "")),
        }
        if row is not None:
            resp.update({
                "vnp_Amount": str(row["amount"] * 100),
                "vnp_OrderInfo": row["order_info"],
                "vnp_BankCode": row["bank_code"],
                "vnp_PayDate": row["pay_date"],
                "vnp_TransactionNo": row["transaction_no"] or "0",
                "vnp_TransactionType": vnpay.TRANSACTION_PAYMENT,
                "vnp_TransactionStatus": {
                    "pending": TS_PENDING, "success": TS_SUCCESS, "failed": TS_FAILED,
                }.get(row["status"], TS_REFUND_SENT),
            })
            if row["refund_type"]:
                resp["vnp_TransactionType"] = row["refund_type"]
        resp.update(extra)
        if resp["vnp_Command"] in (vnpay.COMMAND_QUERYDR, vnpay.COMMAND_REFUND):
            resp[vnpay.SECURE_HASH] = vnpay.sign_api_response(resp, self.config.hash_secret)
        body = json.dumps(resp, ensure_ascii=False).encode("utf-8")
        return HTTPStatus.OK, [("Content-Type", "application/json; charset=utf-8")], body

    def _check_api(self, req: dict, fields: tuple[str, ...]) -> tuple[str, str] | None:
        """(code, message) of a refused request, or None."""
        if any(not isinstance(req.get(f), str | int) or req.get(f) == "" for f in fields
               if f != "vnp_TransactionNo"):
            return "03", "Invalid request format"
        if req.get("vnp_Version") != vnpay.VERSION:
            return "03", "Invalid version"
        if req.get("vnp_TmnCode") != self.config.tmn_code:
            return "02", "Invalid TmnCode"
        if not vnpay.verify_api_request(req, self.config.hash_secret):
            return "97", "Invalid checksum"
        for f in ("vnp_TransactionDate", "vnp_CreateDate"):
            try:
                vnpay.parse_date(str(req[f]))
            except ValueError:
                return "03", f"Invalid {f}"
        # vnp_RequestId: "Không được trùng lặp trong ngày" [API].
        request_id = f"{self._now_str()[:8]}:{req['vnp_RequestId']}"
        with self._lock:
            db = self._db()
            try:
                with db:
                    cur = db.execute("INSERT OR IGNORE INTO api_request (request_id, at)"
                                     " VALUES (?, ?)", (request_id, self._now_str()))
                    if cur.rowcount == 0:
                        return "94", "Duplicate request"
            finally:
                db.close()
        return None

    def _find(self, req: dict) -> sqlite3.Row | None:
        row = self._txn(str(req["vnp_TxnRef"]))
        # VNPAY finds the payment by vnp_TxnRef and its vnp_CreateDate (vnp_TransactionDate).
        if row is None or row["create_date"] != str(req["vnp_TransactionDate"]):
            return None
        return row

    def querydr(self, req: dict):
        refused = self._check_api(req, vnpay.QUERYDR_REQUEST_FIELDS)
        if refused:
            return self._api_answer(req, *refused)
        row = self._find(req)
        if row is None:
            return self._api_answer(req, "91", "Transaction not found")
        return self._api_answer(req, "00", "QueryDR Success", row)

    def refund(self, req: dict):
        refused = self._check_api(req, vnpay.REFUND_REQUEST_FIELDS)
        if refused:
            return self._api_answer(req, *refused)
        kind = req["vnp_TransactionType"]
        if kind not in (vnpay.REFUND_FULL, vnpay.REFUND_PARTIAL):
            return self._api_answer(req, "03", "Invalid vnp_TransactionType")
        try:
            amount = vnpay.parse_amount(req)
        except ValueError:
            return self._api_answer(req, "03", "Invalid amount")
        with self._lock:
            db = self._db()
            try:
                with db:
                    row = db.execute("SELECT * FROM txn WHERE txn_ref = ?",
                                     (str(req["vnp_TxnRef"]),)).fetchone()
                    if row is None or row["create_date"] != str(req["vnp_TransactionDate"]):
                        return self._api_answer(req, "91", "Transaction not found")
                    number = str(req.get("vnp_TransactionNo") or "0")
                    if number not in ("0", row["transaction_no"]):
                        return self._api_answer(req, "91", "Transaction not found")
                    if row["status"] == "refunded":
                        return self._api_answer(req, "94", "Refund already requested", row)
                    if row["status"] not in ("success", "partially_refunded"):
                        return self._api_answer(req, "95", "Transaction not successful", row)
                    remaining = row["amount"] - row["refunded_amount"]
                    if amount <= 0 or amount > remaining or (
                            kind == vnpay.REFUND_FULL and amount != remaining):
                        return self._api_answer(req, "03", "Invalid amount", row)
                    status = "refunded" if amount == remaining else "partially_refunded"
                    db.execute("UPDATE txn SET status = ?, refunded_amount = refunded_amount + ?,"
                               " refund_type = ? WHERE txn_ref = ?",
                               (status, amount, kind, row["txn_ref"]))
                    row = db.execute("SELECT * FROM txn WHERE txn_ref = ?",
                                     (row["txn_ref"],)).fetchone()
            finally:
                db.close()
        return self._api_answer(req, "00", "Refund success", row,
                                vnp_Amount=str(amount * 100),
                                vnp_TransactionStatus=TS_REFUND_PROCESSING)

    # --- settlement and index ----------------------------------------------------------

    def settlement(self, query: str):
        raw = dict(parse_qsl(query)).get("date", "")
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            return _page(HTTPStatus.BAD_REQUEST, "Ngày không hợp lệ",
                         "Dùng /settlement?date=YYYY-MM-DD (ngày theo giờ Việt Nam).")
        rows = self._query(
            "SELECT * FROM txn WHERE pay_date LIKE ? AND status IN"
            " ('success', 'refunded', 'partially_refunded') ORDER BY pay_date, txn_ref",
            (day.strftime("%Y%m%d") + "%",))
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(["txn_ref", "transaction_no", "amount", "status", "pay_date", "bank_code",
                    "refunded_amount"])
        for r in rows:
            w.writerow([r["txn_ref"], r["transaction_no"], r["amount"], r["status"],
                        r["pay_date"], r["bank_code"], r["refunded_amount"]])
        name = f"vnpay-settlement-{day.isoformat()}.csv"
        return HTTPStatus.OK, [("Content-Type", "text/csv; charset=utf-8"),
                               ("Content-Disposition", f'attachment; filename="{name}"')], \
            out.getvalue().encode("utf-8")

    def index(self):
        rows = self._query("SELECT * FROM txn ORDER BY rowid DESC LIMIT 200")
        e = html.escape
        trs = "\n".join(
            f"<tr><td>{e(r['txn_ref'])}</td><td>{e(format_vnd(r['amount']))}</td>"
            f"<td>{e(r['status'])}</td><td>{e(r['response_code'])}</td>"
            f"<td>{e(r['transaction_no'])}</td><td>{e(r['pay_date'])}</td></tr>" for r in rows)
        body = (f"<h1>Cổng VNPAY thử nghiệm — {e(self.config.tmn_code)}</h1>"
                f"<p>IPN: {e(self.config.ipn_url)}</p><table><tr><th>vnp_TxnRef</th>"
                "<th>Số tiền</th><th>Trạng thái</th><th>vnp_ResponseCode</th>"
                f"<th>vnp_TransactionNo</th><th>vnp_PayDate</th></tr>{trs}</table>")
        return HTTPStatus.OK, _html_headers(), _layout("Cổng VNPAY thử nghiệm", body)


# --- HTML and WSGI helpers -----------------------------------------------------------------

STYLE = """body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0}th,td{text-align:left;padding:.35rem .8rem;
border-bottom:1px solid #ddd}.amount{font-weight:bold;color:#005baa}
button{margin:.3rem .4rem 0 0;padding:.6rem 1rem;border:0;border-radius:4px;color:#fff}
.success{background:#1a7f37}.cancel{background:#6e7781}.insufficient{background:#cf222e}
.note{color:#666;font-size:.9em}"""


def _layout(title: str, body: str) -> bytes:
    return (f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body>{body}</body></html>").encode()


def _html_headers() -> list[tuple[str, str]]:
    return [("Content-Type", "text/html; charset=utf-8")]


def _page(status: HTTPStatus, title: str, message: str):
    body = f"<h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
    return status, _html_headers(), _layout(title, body)


def _read_body(environ) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise Invalid("Yêu cầu quá lớn.")
    return environ["wsgi.input"].read(length) if length > 0 else b""


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 — the stdlib's signature
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


def make_sandbox_server(gateway: SandboxGateway, host: str = "127.0.0.1", port: int = 8100,
                        *, verbose: bool = False) -> WSGIServer:
    """A threading WSGI server for the gateway (port 0: any free port)."""
    server = make_server(host, port, gateway, server_class=ThreadingWSGIServer,
                         handler_class=QuietHandler)
    server.verbose = verbose
    return server


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m chinhquyenso.payments.sandbox",
                                description="Cổng VNPAY thử nghiệm (giao thức 2.1.0).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--db", default=None)
    p.add_argument("--ipn-url", default=None)
    a = p.parse_args(argv)
    gateway = SandboxGateway(SandboxConfig.from_env(db_path=a.db, ipn_url=a.ipn_url))
    server = make_sandbox_server(gateway, a.host, a.port, verbose=True)
    print(f"Cổng VNPAY thử nghiệm: http://{a.host}:{server.server_port}{PAY_PATH}", flush=True)
    run_sandbox_server(gateway, server)


def run_sandbox_server(gateway, server) -> None:
    """Serve until interrupted, then close the server and the sandbox's database."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        gateway.close()
        server.server_close()


if __name__ == "__main__":
    main()
