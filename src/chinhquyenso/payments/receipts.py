"""Biên lai điện tử thu phí, lệ phí (the e-receipt of a fee paid online).

Legal sources. Confidence: Circular 303/2016 Art. 3(1) and Circular 78/2021 Annex I.B were
read; the text of Decree 123/2020 Art. 32(2) was NOT found in the stored corpora, so its list
below is the predecessor's list as the decree is known to carry it over — check it against the
official text before relying on it (docs/adr or the payments README says so too).

[ND123]  Decree 123/2020/NĐ-CP on invoices and vouchers (chứng từ), Chapter III:
         Art. 30 — a receipt (biên lai thu thuế, phí, lệ phí) is a voucher; it may be
         electronic. Art. 31 — it is made at the time the fee is collected. Art. 32(2) — the
         content of a receipt:
           a) tên loại biên lai                 -> RECEIPT_TITLE
           b) ký hiệu mẫu biên lai, ký hiệu biên lai -> Receipt.form_symbol, Receipt.series
           c) số biên lai                        -> Receipt.number (per agency and series)
           d) liên biên lai (printed receipts only; an e-receipt has none)
           đ) tên, mã số thuế của tổ chức thu phí -> issuer_name, issuer_tax_code
           e) tên loại phí, lệ phí và số tiền    -> fee_name, amount (figures and words)
           g) ngày, tháng, năm lập biên lai      -> issued_at
           h) chữ ký của người thu tiền          -> the collecting organisation (an
              e-receipt is signed digitally by it; see the README on signing)
         plus, as every receipt form does, the payer's name and address.
[TT78]   Circular 78/2021/TT-BTC, Annex I.B (ký hiệu mẫu biên lai, ký hiệu biên lai):
         form symbol, 10 characters: 2 = kind ("01" fee receipt without a printed face value),
         "BLP", 1 = number of copies ("0" for an electronic receipt, which has no copies),
         "-", 3 = ordinal of the form (e.g. 01BLP0-001). Series: 2 of the 20 capital letters
         A B C D E G H K L M N P Q R S T U V X Y, "-", the last two digits of the year, and
         the form letter ("E" electronic, "P" printed to order, "T" self-printed),
         e.g. AA-26E. (The two leading province digits apply only to receipts the tax
         department prints for sale, not to an agency's own e-receipts.)
[TT303]  Circular 303/2016/TT-BTC Art. 3(1), the predecessor, lists the same items
         (thuvienphapluat.vn Q&A 31261) and numbers receipts with 7 digits: number_label.

The numbers are consecutive per agency and series without gaps. The IPN issues the receipt
without a number and number_receipts gives it right after commit, in the worker (the counter
and the receipts move together in one transaction; a reader asking for an unnumbered
receipt numbers it first): a counter held to commit inside every payment would serialise
each agency's payments one fsync at a time. allocate_number (the same counter, held to the
caller's commit) serves a caller that needs the number at once.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from django.conf import settings
from django.db import connection, transaction
from fpdf import FPDF

from chinhquyenso.core import signing

VN = ZoneInfo("Asia/Ho_Chi_Minh")
RECEIPT_TITLE = "BIÊN LAI THU PHÍ, LỆ PHÍ"
# [TT78] Annex I.B: fee receipt without a face value ("01"), "BLP", no copies ("0"), form 1.
FORM_SYMBOL = "01BLP0-001"
SERIES_LETTERS = "ABCDEGHKLMNPQRSTUVXY"  # [TT78]: the 20 letters a series may use
DEFAULT_LETTERS = "AA"
ELECTRONIC = "E"
FONT_DIR = Path(__file__).resolve().parent.parent / "core" / "fonts"


def issuer_settings(agency_code: str) -> dict:
    """The agency's registered receipt details: {"tax_code": ..., "letters": "AA"} from
    settings.CQS_RECEIPT_ISSUERS (agency code -> dict); letters default to AA."""
    found = getattr(settings, "CQS_RECEIPT_ISSUERS", {}).get(agency_code, {})
    letters = str(found.get("letters") or DEFAULT_LETTERS).upper()
    if len(letters) != 2 or any(c not in SERIES_LETTERS for c in letters):
        letters = DEFAULT_LETTERS
    return {"tax_code": str(found.get("tax_code") or ""), "letters": letters}


def series_for(letters: str, at: datetime) -> str:
    """Ký hiệu biên lai [TT78]: AA-26E for an e-receipt issued in 2026 (Vietnam time)."""
    return f"{letters}-{at.astimezone(VN):%y}{ELECTRONIC}"


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 43 characters, 256 bits: not guessable


def verify_url(token: str) -> str:
    return f"{settings.CQS_PUBLIC_URL}/thanh-toan/bien-lai/xac-minh/{token}"


def allocate_number(agency_id: int, series: str) -> int:
    """Next number of the series, inside the caller's transaction (the row stays locked
    until it commits). The same upsert runs on PostgreSQL and SQLite."""
    table = "payments_receiptsequence"
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {table} (agency_id, series, last) VALUES (%s, %s, 1) "
            f"ON CONFLICT (agency_id, series) DO UPDATE SET last = {table}.last + 1 "
            "RETURNING last", [agency_id, series])
        return cur.fetchone()[0]


def number_receipts(agency_id: int | None = None, batch: int = 2000) -> int:
    """Give numbers to receipts issued without one (the IPN's), per agency and
    series, oldest first. One transaction per batch: the counters of the series concerned
    are locked (in a fixed order, so concurrent callers cannot deadlock) and moved by as many
    numbers as they hand out, together with the receipts: consecutive, without gaps. Safe to
    call any time, from any process; returns how many receipts it numbered."""
    from .models import Receipt  # models import this module's constants

    table = "payments_receiptsequence"
    done = 0
    while True:
        with transaction.atomic():
            todo = Receipt.objects.filter(number__isnull=True)
            if agency_id is not None:
                todo = todo.filter(agency_id=agency_id)
            pairs = sorted(set(todo.values_list("agency_id", "series")[:batch]))
            if not pairs:
                return done
            values = ", ".join(["(%s, %s, 0)"] * len(pairs))
            with connection.cursor() as cur:
                cur.execute(
                    f"INSERT INTO {table} (agency_id, series, last) VALUES {values} "
                    f"ON CONFLICT (agency_id, series) DO UPDATE SET last = {table}.last "
                    "RETURNING agency_id, series, last", [v for p in pairs for v in p])
                last = {(a, s): n for a, s, n in cur.fetchall()}
            rows = list(todo.select_for_update().order_by("agency_id", "series", "issued_at",
                                                          "id")
                        .values_list("id", "agency_id", "series")[:batch])
            ids, numbers = [], []
            for pk, a, s in rows:
                if (a, s) in last:  # a series that appeared meanwhile waits for the next pass
                    last[(a, s)] += 1
                    ids.append(pk)
                    numbers.append(last[(a, s)])
            with connection.cursor() as cur:
                if connection.vendor == "postgresql":
                    cur.execute("UPDATE payments_receipt r SET number = v.n FROM (SELECT"
                                " unnest(%s::bigint[]) AS id, unnest(%s::int[]) AS n) v"
                                " WHERE r.id = v.id", [ids, numbers])
                else:
                    cur.executemany("UPDATE payments_receipt SET number = %s WHERE id = %s",
                                    list(zip(numbers, ids, strict=True)))
                cur.executemany(f"UPDATE {table} SET last = %s WHERE agency_id = %s AND "
                                "series = %s", [(n, a, s) for (a, s), n in last.items()])
            done += len(ids)
        if len(rows) < batch:
            return done


def ensure_number(receipt):
    """A receipt about to be shown gets its number now if the background pass has not
    given it yet (a few milliseconds after the payment)."""
    if receipt.number is None:
        number_receipts(agency_id=receipt.agency_id)
        receipt.refresh_from_db(fields=["number"])
    return receipt


# --- amount in words -------------------------------------------------------------------

_DIGITS = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"]
_GROUPS = ["", " nghìn", " triệu", " tỷ"]


def _three(n: int, leading: bool) -> str:
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words = []
    if not leading or hundreds:
        words.append(f"{_DIGITS[hundreds]} trăm")
    if tens == 0:
        if units and words:
            words.append("linh")
    elif tens == 1:
        words.append("mười")
    else:
        words.append(f"{_DIGITS[tens]} mươi")
    if units:
        if units == 1 and tens >= 2:
            words.append("mốt")
        elif units == 5 and tens >= 1:
            words.append("lăm")
        else:
            words.append(_DIGITS[units])
    return " ".join(words)


def amount_in_words(amount: int) -> str:
    """Số tiền bằng chữ: 1_005_000 -> "Một triệu không trăm linh năm nghìn đồng"."""
    if amount < 0 or amount >= 10**12:
        raise ValueError("amount out of range")
    if amount == 0:
        return "Không đồng"
    groups = []
    while amount:
        groups.append(amount % 1000)
        amount //= 1000
    parts = []
    for i in range(len(groups) - 1, -1, -1):
        if groups[i] == 0:
            continue
        parts.append(_three(groups[i], leading=not parts) + _GROUPS[i])
    text = " ".join(parts) + " đồng"
    return text[0].upper() + text[1:]


def format_vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


# --- PDF -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptView:
    """What the PDF and the verification page print (a snapshot of the Receipt row)."""

    form_symbol: str
    series: str
    number: str
    issued_at: datetime
    issuer_name: str
    issuer_tax_code: str
    payer_name: str
    payer_address: str
    fee_name: str
    amount: int
    dossier_code: str
    txn_ref: str
    verify_url: str


def view_of(receipt) -> ReceiptView:
    return ReceiptView(
        form_symbol=receipt.form_symbol, series=receipt.series, number=receipt.number_label,
        issued_at=receipt.issued_at, issuer_name=receipt.issuer_name,
        issuer_tax_code=receipt.issuer_tax_code, payer_name=receipt.payer_name,
        payer_address=receipt.payer_address, fee_name=receipt.fee_name,
        amount=receipt.amount, dossier_code=receipt.dossier_code, txn_ref=receipt.txn_ref,
        verify_url=verify_url(receipt.token))


class _Pdf(FPDF):
    def normalize_text(self, text: str) -> str:
        return super().normalize_text(unicodedata.normalize("NFC", text))


def render_pdf(r: ReceiptView) -> bytes:
    """A4 portrait receipt with every item of [ND123] Art. 32(2) and a QR code of the public
    verification URL."""
    pdf = _Pdf(orientation="P", unit="mm", format="A4")
    pdf.add_font("Sans", "", FONT_DIR / "DejaVuSans.ttf")
    pdf.add_font("Sans", "B", FONT_DIR / "DejaVuSans-Bold.ttf")
    pdf.add_font("Sans", "I", FONT_DIR / "DejaVuSans-Oblique.ttf")
    pdf.set_margins(20, 15, 15)
    pdf.set_title(f"Biên lai {r.series} số {r.number}")
    pdf.set_producer("Chính quyền số")
    pdf.set_lang("vi-VN")
    pdf.set_creation_date(r.issued_at.astimezone(VN))
    pdf.add_page()
    top = pdf.get_y()
    pdf.set_font("Sans", "B", 10)
    pdf.multi_cell(110, 5, r.issuer_name.upper(), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Sans", "", 10)
    pdf.cell(110, 5, f"Mã số thuế: {r.issuer_tax_code or '(chưa đăng ký)'}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(pdf.w - pdf.r_margin - 60, top)
    pdf.multi_cell(60, 5, f"Mẫu số: {r.form_symbol}\nKý hiệu: {r.series}\nSố: {r.number}",
                   align="L")
    pdf.set_y(max(pdf.get_y(), top + 18) + 4)
    pdf.set_font("Sans", "B", 15)
    pdf.cell(0, 8, RECEIPT_TITLE, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Sans", "I", 10)
    pdf.cell(0, 5, "(Biên lai điện tử)", align="C", new_x="LMARGIN", new_y="NEXT")
    local = r.issued_at.astimezone(VN)
    pdf.cell(0, 6, f"Ngày {local:%d} tháng {local:%m} năm {local:%Y}", align="C",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    rows = [
        ("Tên loại phí, lệ phí", r.fee_name),
        ("Người nộp tiền", r.payer_name),
        ("Địa chỉ", r.payer_address or "—"),
        ("Số tiền", format_vnd(r.amount)),
        ("Viết bằng chữ", amount_in_words(r.amount)),
        ("Hình thức thanh toán", "Trực tuyến (không dùng tiền mặt)"),
        ("Mã hồ sơ", r.dossier_code),
        ("Mã giao dịch", r.txn_ref),
        ("Thời điểm lập", f"{local:%H:%M} ngày {local:%d/%m/%Y}"),
    ]
    for label, value in rows:
        pdf.set_font("Sans", "", 11)
        pdf.cell(50, 7, f"{label}:")
        pdf.set_font("Sans", "B" if label == "Số tiền" else "", 11)
        pdf.multi_cell(0, 7, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    y = pdf.get_y()
    buf = BytesIO()
    segno.make(r.verify_url, error="m").save(buf, kind="png", scale=8)
    buf.seek(0)
    pdf.image(buf, x=pdf.l_margin, y=y, w=32, h=32, alt_text="Mã QR xác minh biên lai")
    pdf.set_xy(pdf.l_margin + 36, y)
    pdf.set_font("Sans", "", 9)
    pdf.multi_cell(70, 4.5, "Quét mã QR hoặc mở đường dẫn dưới đây để xác minh biên lai:\n"
                   + r.verify_url, wrapmode="CHAR")
    pdf.set_xy(pdf.w - pdf.r_margin - 65, y)
    pdf.set_font("Sans", "B", 10)
    pdf.multi_cell(65, 5, "NGƯỜI THU TIỀN", align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font("Sans", "I", 9)
    pdf.multi_cell(65, 4.5, f"(Chữ ký số của {r.issuer_name})", align="C")
    # [ND123] Art. 32(2)(h): an e-receipt carries the collecting organisation's digital
    # signature: a PAdES signature over the whole file (core/signing.py).
    return signing.sign_pdf(bytes(pdf.output()),
                            reason=f"Biên lai {r.series} số {r.number} — {r.issuer_name}")
