"""PDF renderings of the one-stop forms of Thông tư 03/2025/TT-VPCP, Phụ lục I (Mẫu 01–07).

Pure module: no Django, no database. Callers pass frozen dataclasses and get PDF bytes back.
Text is set in the bundled DejaVu fonts (core/fonts) so Vietnamese diacritics print
correctly; input is normalised to NFC, so decomposed text (e.g. from macOS) prints the same.
Datetimes must be timezone-aware and are printed in Asia/Ho_Chi_Minh.

Forms 01–06 are A4 portrait, Mẫu 07 (the register) is A4 landscape.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from fpdf import FPDF
from fpdf.fonts import FontFace

__all__ = [
    "FORMS", "Applicant", "Component", "DossierInfo", "Handover", "RegisterRow",
    "format_datetime", "render_receipt", "render_submission_ack", "render_supplement_request",
    "render_refusal",
    "render_apology", "render_stop_notice", "render_process_sheet", "render_register",
]

FORMS = {
    "01": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "02": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "03": "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
    "04": "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết",
    "05": "Thông báo dừng giải quyết hồ sơ",
    "06": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
    "07": "Sổ theo dõi hồ sơ",
}

# Not a form of the circular: what the portal gives at once for an online submission, before
# the desk receives it (Mẫu 01 follows at receipt).
ACK = "XN"
TITLES = {**FORMS, ACK: "Phiếu xác nhận nộp hồ sơ trực tuyến"}

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PLACE = "Hải Phòng"
PRODUCER = "Chính quyền số"
FONT_DIR = Path(__file__).resolve().parent.parent / "core" / "fonts"
_FONTS = {
    "Serif": {"": "DejaVuSerif.ttf", "B": "DejaVuSerif-Bold.ttf", "I": "DejaVuSerif-Italic.ttf"},
    "Sans": {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"},
}
_DOTS = "……………"
_SIZE = 11  # body text, pt
_LH = 6  # body line height, mm
_SIGN_NOTE = "(Ký và ghi rõ họ tên)"
_ESIGN_NOTE = "(Chữ ký số của {} nếu là biểu mẫu điện tử)"


# ---------------------------------------------------------------- inputs

@dataclass(frozen=True)
class Applicant:
    full_name: str
    id_number: str = ""  # số định danh cá nhân / mã số tổ chức
    address: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class Component:
    name: str
    copies: int = 1


@dataclass(frozen=True)
class DossierInfo:
    code: str  # mã hồ sơ
    agency_name: str  # the receiving agency / Bộ phận Một cửa, printed in the header
    procedure_name: str
    applicant: Applicant
    received_at: datetime
    due_at: datetime
    working_days: int
    parent_agency: str = ""  # đơn vị chủ quản, printed above agency_name
    days_unit: str = "ngày làm việc"  # or "ngày" for procedures counted in calendar days
    resolving_agency: str = ""  # cơ quan giải quyết (Mẫu 06); defaults to agency_name
    coordinating_agencies: tuple[str, ...] = ()
    received_by: str = ""  # officer who received the dossier (Mẫu 01 signature)
    proxy: Applicant | None = None  # người được ủy quyền
    proxy_document: str = ""  # giấy tờ ủy quyền
    dossier_sets: int = 1  # số lượng hồ sơ (bộ)
    place: str = PLACE


@dataclass(frozen=True)
class Handover:
    from_unit: str
    to_unit: str
    at: datetime
    result: str = ""  # "Trước hạn" / "Đúng hạn" / "Quá hạn"
    note: str = ""


@dataclass(frozen=True)
class RegisterRow:
    code: str
    procedure_name: str
    applicant: Applicant
    lead_agency: str  # cơ quan chủ trì giải quyết
    received_at: datetime
    due_at: datetime
    transferred_at: datetime | None = None  # ngày chuyển hồ sơ
    result_received_at: datetime | None = None  # ngày nhận kết quả (from the resolving agency)
    returned_at: datetime | None = None  # ngày trả kết quả (to the applicant)
    dossier_count: int = 1
    note: str = ""


# ---------------------------------------------------------------- formatting

def _local(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: pass a timezone-aware datetime")
    return value.astimezone(TZ)


def format_datetime(value: datetime) -> str:
    """«09 giờ 00 phút, ngày 03/02/2027» in Vietnam time."""
    v = _local(value)
    return f"{v:%H} giờ {v:%M} phút, ngày {v:%d/%m/%Y}"


def _date(value: datetime | None, with_time: bool = False) -> str:
    if value is None:
        return ""
    v = _local(value)
    return f"{v:%d/%m/%Y}\n{v:%H:%M}" if with_time else f"{v:%d/%m/%Y}"


def _date_words(value: datetime | None) -> str:
    if value is None:
        return "ngày ….. tháng ….. năm ……"
    v = _local(value)
    return f"ngày {v:%d} tháng {v:%m} năm {v:%Y}"


# ---------------------------------------------------------------- document and helpers

class _Bold(str):
    """A run of text that _text() sets in bold."""


class _Doc(FPDF):
    def __init__(self, form_no: str, subject: str, at: datetime | None,
                 landscape: bool = False, page_numbers: bool = False):
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        for family, styles in _FONTS.items():
            for style, filename in styles.items():
                self.add_font(family, style, FONT_DIR / filename)
        self.page_numbers = page_numbers
        self.set_margins(10 if landscape else 20, 15, 10 if landscape else 15)
        self.c_margin = 0  # write() would pad every bold/regular run with it
        self.set_auto_page_break(True, margin=15)
        title = TITLES[form_no] if form_no == ACK else f"Mẫu số {form_no}: {FORMS[form_no]}"
        self.set_title(title + (f" – {subject}" if subject else ""))
        self.set_subject(TITLES[form_no] if form_no == ACK else
                         f"{FORMS[form_no]} (Mẫu số {form_no}, Thông tư 03/2025/TT-VPCP)")
        self.set_producer(PRODUCER)
        self.set_creator(PRODUCER)
        self.set_lang("vi-VN")
        if at is not None:  # same input, same bytes
            self.set_creation_date(_local(at))
        self.add_page()

    def normalize_text(self, text: str) -> str:
        return super().normalize_text(unicodedata.normalize("NFC", text))

    def footer(self) -> None:
        if self.page_numbers:
            self.set_y(-12)
            self.set_font("Serif", "I", 8)
            self.cell(0, 5, f"Trang {self.page_no()}/{{nb}}", align="R")

    def to_bytes(self) -> bytes:
        return bytes(self.output())


def _rule(pdf: FPDF, center_x: float, y: float, width: float) -> None:
    pdf.set_line_width(0.3)
    pdf.line(center_x - width / 2, y, center_x + width / 2, y)


def _national_header(pdf: FPDF, form_no: str, agency: str, parent: str = "",
                     at: datetime | None = None, place: str = PLACE) -> None:
    """«Mẫu số 0x», agency block left, state header and place/date line right, then title."""
    pdf.set_font("Serif", "B", 10)
    pdf.cell(0, 5, f"Mẫu số {form_no}" if form_no != ACK else "", align="R", new_x="LMARGIN",
             new_y="NEXT")
    x0, y0 = pdf.l_margin, pdf.get_y() + 2
    left_w = min(pdf.epw / 2, 105)
    right_w = pdf.epw - left_w
    motto = "Độc lập - Tự do - Hạnh phúc"

    def column(x: float, width: float, lines: Sequence[tuple[str, str]], rule: float) -> float:
        pdf.set_xy(x, y0)
        for style, text in lines:
            if text:
                pdf.set_font("Serif", style, 10)
                pdf.multi_cell(width, 5, text, align="C", new_x="LEFT", new_y="NEXT")
        _rule(pdf, x + width / 2, pdf.get_y() + 1, rule)
        return pdf.get_y()

    pdf.set_stretching(95)  # DejaVu is wide: keep «CỘNG HÒA … VIỆT NAM» on one line
    left_bottom = column(x0, left_w, (("", parent.upper()), ("B", agency.upper())), 22)
    pdf.set_font("Serif", "B", 10)
    y = column(x0 + left_w, right_w, (("B", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), ("B", motto)),
               pdf.get_string_width(motto))
    pdf.set_xy(x0 + left_w, y + 3)
    pdf.set_font("Serif", "I", 10.5)
    pdf.multi_cell(right_w, 5, f"{place}, {_date_words(at)}", align="C")
    pdf.set_stretching(100)
    pdf.set_y(max(pdf.get_y(), left_bottom) + 6)

    pdf.set_font("Serif", "B", 13)
    pdf.multi_cell(0, 6.5, TITLES[form_no].upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _text(pdf: FPDF, *parts: str, size: float = _SIZE, gap: float = 1.0) -> None:
    """One flowing paragraph; parts wrapped in _Bold are set in bold."""
    pdf.set_x(pdf.l_margin)
    for part in parts:
        pdf.set_font("Serif", "B" if isinstance(part, _Bold) else "", size)
        # write() splits a run's first word by characters if it does not fit the rest of
        # the line; move such a word to the next line instead.
        room = pdf.w - pdf.r_margin - pdf.get_x()
        if pdf.get_x() > pdf.l_margin and pdf.get_string_width(part.split(" ")[0]) > room:
            pdf.ln(_LH)
        pdf.write(_LH, part)
    pdf.ln(_LH + gap)


def _fields(pdf: FPDF, *pairs: tuple[str, object]) -> None:
    """Label/value pairs on one line (wrapping if needed): «Label: value    Label: value»."""
    parts: list[str] = []
    for i, (label, value) in enumerate(pairs):
        parts += ["    " if i else "", f"{label}: ", _Bold(str(value).strip() or _DOTS)]
    _text(pdf, *parts)


def _applicant(pdf: FPDF, a: Applicant, name_label: str = "Ông (Bà)/Tổ chức") -> None:
    _fields(pdf, (name_label, a.full_name), ("Số định danh cá nhân/tổ chức", a.id_number))
    _fields(pdf, ("Địa chỉ", a.address))
    _fields(pdf, ("Số điện thoại", a.phone), ("Email", a.email))


def _numbered(pdf: FPDF, items: Sequence[str]) -> None:
    pdf.set_font("Serif", "", _SIZE)
    for n, item in enumerate(items, 1):
        pdf.set_x(pdf.l_margin + 5)
        pdf.multi_cell(pdf.epw - 5, _LH, f"{n}. {item}", align="L",
                       new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _signatures(pdf: FPDF, *blocks: tuple[str, str, str]) -> None:
    """Side-by-side signature blocks (role, name, whose digital signature); a single block
    goes in the right half, as on the official forms."""
    if pdf.will_page_break(50):
        pdf.add_page()
    cols = max(2, len(blocks))
    width = pdf.epw / cols
    xs = [pdf.l_margin + (cols - len(blocks) + i) * width for i in range(len(blocks))]
    top, names_y = pdf.get_y() + 4, 0.0
    for x, (role, _name, signer) in zip(xs, blocks, strict=True):
        pdf.set_xy(x, top)
        for style, size, text in (("B", _SIZE, role.upper()), ("I", 10, _SIGN_NOTE),
                                  ("I", 8.5, _ESIGN_NOTE.format(signer) if signer else "")):
            if text:
                pdf.set_font("Serif", style, size)
                pdf.multi_cell(width, 4.5, text, align="C", new_x="LEFT", new_y="NEXT")
        names_y = max(names_y, pdf.get_y() + 20)
    pdf.set_font("Serif", "B", _SIZE)
    for x, (_role, name, _signer) in zip(xs, blocks, strict=True):
        pdf.set_xy(x, names_y)
        pdf.multi_cell(width, 5, name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)


def _table(pdf: FPDF, headings: Sequence[str], rows: Sequence[Sequence[object]],
           widths: Sequence[float], align: Sequence[str], size: float = 10) -> None:
    """Bordered table; the heading row is repeated on every page it spans."""
    pdf.ln(1)
    pdf.set_font("Serif" if size >= 9 else "Sans", "", size)
    style = FontFace(emphasis="BOLD", fill_color=(235, 235, 235))
    with pdf.table(col_widths=widths, text_align=align, line_height=size * 0.5,
                   headings_style=style, repeat_headings=1, padding=1, align="LEFT",
                   v_align="MIDDLE") as table:
        heading = table.row()
        for text in headings:
            heading.cell(text, align="C")
        for cells in rows:
            row = table.row()
            for cell in cells:
                row.cell(str(cell))
    pdf.ln(3)


def _notes(pdf: FPDF, *lines: str) -> None:
    pdf.set_font("Serif", "I", 9.5)
    pdf.multi_cell(0, 5, "Ghi chú:\n" + "\n".join(f"- {line}" for line in lines), align="L",
                   new_x="LMARGIN", new_y="NEXT")


def _start(form_no: str, info: DossierInfo, at: datetime | None, **kwargs) -> _Doc:
    pdf = _Doc(form_no, info.code, at, **kwargs)
    pdf.set_author(info.agency_name)
    _national_header(pdf, form_no, info.agency_name, info.parent_agency, at, info.place)
    return pdf


def _code_and_request(pdf: FPDF, info: DossierInfo) -> None:
    _fields(pdf, ("Mã hồ sơ", info.code))
    _fields(pdf, ("Nội dung yêu cầu giải quyết", info.procedure_name))


def _qr(pdf: FPDF, url: str, size: float = 28) -> float:
    """QR code of the look-up URL at the right margin, the URL printed under it; returns the
    bottom of the block and leaves the position unchanged."""
    buf = BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=8)  # 4-module quiet zone
    buf.seek(0)
    x, y = pdf.w - pdf.r_margin - size, pdf.get_y()
    pdf.image(buf, x=x, y=y, w=size, h=size, alt_text="Mã QR tra cứu hồ sơ")
    pdf.set_xy(x - 4, y + size)
    pdf.set_font("Sans", "", 6.5)
    pdf.multi_cell(size + 4, 3, url, align="C", wrapmode="CHAR")
    bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin, y)
    return bottom


# ---------------------------------------------------------------- the seven forms

def render_receipt(info: DossierInfo, components: Sequence[Component], lookup_url: str,
                   register_no: str = "", pickup_place: str = "") -> bytes:
    """Mẫu 01. ``pickup_place`` defaults to the receiving agency; ``register_no`` is the
    book and sequence number in the Sổ theo dõi hồ sơ (line left out when empty)."""
    pdf = _start("01", info, info.received_at)
    qr_bottom = _qr(pdf, lookup_url)
    pdf.set_right_margin(pdf.r_margin + 34)  # text flows left of the QR code
    _fields(pdf, ("Mã hồ sơ", info.code))
    _text(pdf, _Bold(info.agency_name), " tiếp nhận hồ sơ của:")
    _applicant(pdf, info.applicant)
    pdf.set_right_margin(pdf.r_margin - 34)
    pdf.set_y(max(pdf.get_y(), qr_bottom + 2))
    if info.proxy:
        _applicant(pdf, info.proxy, "Người được ủy quyền")
        _fields(pdf, ("Giấy tờ ủy quyền", info.proxy_document))
    _fields(pdf, ("Nội dung yêu cầu giải quyết", info.procedure_name))
    _text(pdf, "Thành phần hồ sơ nộp gồm:")
    _table(pdf, ("STT", "Tên thành phần hồ sơ", "Số bản"),
           [(n, c.name, f"{c.copies:02d}") for n, c in enumerate(components, 1)],
           (12, pdf.epw - 34, 22), ("C", "L", "C"))
    _fields(pdf, ("Số lượng hồ sơ", f"{info.dossier_sets:02d} (bộ)"))
    _fields(pdf, ("Thời gian giải quyết hồ sơ theo quy định là",
                  f"{info.working_days:02d} {info.days_unit}"))
    _fields(pdf, ("Thời gian nhận hồ sơ", format_datetime(info.received_at)))
    _fields(pdf, ("Thời gian trả kết quả giải quyết hồ sơ", format_datetime(info.due_at)))
    _fields(pdf, ("Đăng ký nhận kết quả tại", pickup_place or info.agency_name))
    if register_no:
        _fields(pdf, ("Vào Sổ theo dõi hồ sơ, Quyển số/Số thứ tự", register_no))
    _signatures(pdf, ("Người nộp hồ sơ", info.applicant.full_name, ""),
                ("Người tiếp nhận hồ sơ", info.received_by, "người tiếp nhận hồ sơ"))
    return pdf.to_bytes()


def render_submission_ack(info: DossierInfo, components: Sequence[Component],
                          lookup_url: str, submitted_at: datetime) -> bytes:
    """The citizen's proof of an online submission: code, what was sent, when, and the QR
    code of the public look-up. Not a receipt of the desk (Mẫu 01 comes at receipt)."""
    pdf = _start(ACK, info, submitted_at)
    qr_bottom = _qr(pdf, lookup_url)
    pdf.set_right_margin(pdf.r_margin + 34)
    _fields(pdf, ("Mã hồ sơ", info.code))
    _text(pdf, "Hồ sơ của:")
    _applicant(pdf, info.applicant)
    pdf.set_right_margin(pdf.r_margin - 34)
    pdf.set_y(max(pdf.get_y(), qr_bottom + 2))
    _fields(pdf, ("Nội dung yêu cầu giải quyết", info.procedure_name))
    _fields(pdf, ("Cơ quan tiếp nhận", info.agency_name))
    _fields(pdf, ("Thời gian nộp trực tuyến", format_datetime(submitted_at)))
    _text(pdf, "Thành phần hồ sơ đã gửi:")
    _table(pdf, ("STT", "Tên tệp", "Số bản"),
           [(n, c.name, f"{c.copies:02d}") for n, c in enumerate(components, 1)],
           (12, pdf.epw - 34, 22), ("C", "L", "C"))
    _fields(pdf, ("Thời gian giải quyết theo quy định",
                  f"{info.working_days:02d} {info.days_unit}"))
    _notes(pdf, "Hồ sơ đang chờ cơ quan tiếp nhận. Thời hạn giải quyết được tính từ khi hồ sơ "
                "được tiếp nhận; Giấy tiếp nhận hồ sơ và hẹn trả kết quả (Mẫu 01) sẽ được gửi "
                "khi đó.", "Tra cứu tình trạng hồ sơ bằng mã QR hoặc tại địa chỉ in dưới mã.")
    return pdf.to_bytes()


def render_supplement_request(info: DossierInfo, items: Sequence[str], officer: str,
                              at: datetime) -> bytes:
    """Mẫu 02. Each item says what must be added or corrected, and why."""
    if not items:
        raise ValueError("a supplement request needs at least one item")
    pdf = _start("02", info, at)
    _code_and_request(pdf, info)
    _applicant(pdf, info.applicant, "Hồ sơ của")
    _text(pdf, "Yêu cầu hoàn thiện hồ sơ gồm những nội dung sau:")
    _numbered(pdf, items)
    _text(pdf, "Trong quá trình hoàn thiện hồ sơ nếu có vướng mắc, Ông/Bà liên hệ với ",
          _Bold(officer), " – ", _Bold(info.agency_name), " để được hướng dẫn./.")
    _signatures(pdf, ("Người hướng dẫn", officer, "người hướng dẫn"))
    return pdf.to_bytes()


def render_refusal(info: DossierInfo, reason: str, officer: str, at: datetime) -> bytes:
    """Mẫu 03."""
    pdf = _start("03", info, at)
    _text(pdf, _Bold(info.agency_name), " tiếp nhận hồ sơ của:")
    _applicant(pdf, info.applicant)
    _code_and_request(pdf, info)
    _text(pdf, "Qua xem xét, ", _Bold(info.agency_name), " thông báo không tiếp nhận, giải "
          "quyết hồ sơ này với lý do cụ thể như sau: ", _Bold(reason))
    _text(pdf, "Xin thông báo cho Ông/Bà được biết và thực hiện./.")
    _signatures(pdf, ("Người nộp hồ sơ", info.applicant.full_name, ""),
                ("Người tiếp nhận hồ sơ", officer, "người tiếp nhận hồ sơ"))
    return pdf.to_bytes()


def render_apology(info: DossierInfo, reason: str, new_due_at: datetime, signer: str,
                   at: datetime) -> bytes:
    """Mẫu 04, signed by the head of the agency. The return date may be reset only once
    (Nghị định 118/2025); that rule is the caller's, this only checks the new date is later."""
    if _local(new_due_at) <= _local(info.due_at):
        raise ValueError("new_due_at must be later than the original due_at")
    a, agency = info.applicant, _Bold(info.agency_name)
    pdf = _start("04", info, at)
    _fields(pdf, ("Kính gửi", a.full_name))
    _text(pdf, "Ngày ", _Bold(_date(info.received_at)), ", ", agency, " tiếp nhận giải quyết "
          "hồ sơ đề nghị giải quyết thủ tục hành chính ", _Bold(info.procedure_name),
          " của Ông/Bà/Tổ chức ", _Bold(a.full_name), "; số định danh: ",
          _Bold(a.id_number or _DOTS), "; mã số hồ sơ: ", _Bold(info.code), ".")
    _fields(pdf, ("Thời gian hẹn trả kết quả giải quyết hồ sơ", format_datetime(info.due_at)))
    _text(pdf, "Tuy nhiên đến nay, ", agency, " chưa trả kết quả giải quyết hồ sơ của Ông/Bà/Tổ "
          "chức đúng thời hạn quy định ghi trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả.")
    _fields(pdf, ("Lý do", reason))
    _text(pdf, agency, " xin trân trọng gửi lời xin lỗi đến Ông/Bà/Tổ chức vì sự chậm trễ "
          "trong quá trình giải quyết hồ sơ có thể gây phiền hà, tốn kém về chi phí, công sức "
          "của Ông/Bà/Tổ chức.")
    _text(pdf, agency, " đề nghị gia hạn thời gian giải quyết và sẽ trả kết quả giải quyết hồ "
          "sơ cho Ông/Bà/Tổ chức vào ", _Bold(format_datetime(new_due_at)), ".")
    _text(pdf, "Mong nhận được sự thông cảm của Ông/Bà/Tổ chức vì sự chậm trễ này./.")
    _signatures(pdf, ("Thủ trưởng cơ quan, đơn vị", signer, "Thủ trưởng cơ quan, đơn vị"))
    return pdf.to_bytes()


def render_stop_notice(info: DossierInfo, reason: str, requested_at: datetime, officer: str,
                       at: datetime) -> bytes:
    """Mẫu 05, issued when the applicant asks to stop and no result has been issued yet."""
    a = info.applicant
    pdf = _start("05", info, at)
    _fields(pdf, ("Kính gửi", a.full_name))
    _text(pdf, "Ngày ", _Bold(_date(requested_at)), ", ", _Bold(info.agency_name), " nhận được "
          "đề nghị dừng giải quyết hồ sơ của Ông/Bà/Tổ chức ", _Bold(a.full_name),
          "; số định danh: ", _Bold(a.id_number or _DOTS), "; mã số hồ sơ: ", _Bold(info.code),
          "; thủ tục hành chính: ", _Bold(info.procedure_name), "; hồ sơ tiếp nhận lúc ",
          _Bold(format_datetime(info.received_at)), ", hẹn trả kết quả lúc ",
          _Bold(format_datetime(info.due_at)), ".")
    _fields(pdf, ("Lý do", reason))
    _text(pdf, _Bold(info.agency_name), " thông báo dừng giải quyết hồ sơ nêu trên kể từ ",
          _Bold(format_datetime(at)), ". Xin thông báo để Ông/Bà/Tổ chức được biết./.")
    _signatures(pdf, ("Đại diện Bộ phận Một cửa", officer, "người ký thông báo"))
    return pdf.to_bytes()


def render_process_sheet(info: DossierInfo, handovers: Sequence[Handover]) -> bytes:
    """Mẫu 06: one row per hand-over of the dossier between units."""
    pdf = _start("06", info, info.received_at, page_numbers=True)
    _fields(pdf, ("Mã số hồ sơ", info.code))
    _fields(pdf, ("Người nộp hồ sơ", info.applicant.full_name))
    _fields(pdf, ("Cơ quan (bộ phận) giải quyết hồ sơ",
                  info.resolving_agency or info.agency_name))
    _fields(pdf, ("Cơ quan phối hợp giải quyết hồ sơ", "; ".join(info.coordinating_agencies)))
    _fields(pdf, ("Ngày nhận", format_datetime(info.received_at)))
    _fields(pdf, ("Hẹn trả kết quả vào", format_datetime(info.due_at)))
    _table(pdf, ("Tên đơn vị", "Thời gian giao, nhận hồ sơ",
                 "Kết quả giải quyết hồ sơ (Trước hạn/Đúng hạn/Quá hạn)", "Ghi chú"),
           [(f"1. Giao: {h.from_unit}\n2. Nhận: {h.to_unit}", format_datetime(h.at), h.result,
             h.note) for h in handovers],
           (60, 40, 45, pdf.epw - 145), ("L", "C", "C", "L"))
    _notes(pdf, "Kết quả giải quyết hồ sơ do bên nhận nhập thông tin/ghi khi nhận bàn giao hồ sơ.",
           "Việc lưu vết được thực hiện tự động theo chức năng của Hệ thống thông tin giải quyết "
           "thủ tục hành chính và thể hiện trên mẫu phiếu điện tử.")
    return pdf.to_bytes()


_REGISTER_COLUMNS = (  # heading, width (mm, 277 in all), alignment
    ("STT", 8, "C"), ("Mã hồ sơ", 26, "L"), ("Tên thủ tục hành chính", 38, "L"),
    ("Số lượng hồ sơ", 10, "C"), ("Tên cá nhân, tổ chức", 25, "L"),
    ("Địa chỉ/Số điện thoại", 33, "L"), ("Cơ quan chủ trì giải quyết", 27, "L"),
    ("Ngày nhận hồ sơ", 17, "C"), ("Ngày hẹn trả kết quả", 17, "C"),
    ("Ngày chuyển hồ sơ", 17, "C"), ("Ngày nhận kết quả", 17, "C"),
    ("Ngày trả kết quả", 17, "C"), ("Ghi chú", 25, "L"),
)


def render_register(agency_name: str, rows: Sequence[RegisterRow], period: str, *,
                    parent_agency: str = "", place: str = PLACE) -> bytes:
    """Mẫu 07, A4 landscape; long registers break across pages with the heading repeated."""
    pdf = _Doc("07", period, None, landscape=True, page_numbers=True)
    pdf.set_author(agency_name)
    _national_header(pdf, "07", agency_name, parent_agency, None, place)
    if period:
        pdf.set_font("Serif", "I", _SIZE)
        pdf.cell(0, _LH, f"({period})", align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    headings, widths, align = zip(*_REGISTER_COLUMNS, strict=True)
    _table(pdf, headings, [
        (n, r.code.replace("-", "-\n", 1),  # wrap after the agency part, not mid-number
         r.procedure_name, r.dossier_count, r.applicant.full_name,
         "\n".join(x for x in (r.applicant.address, r.applicant.phone) if x), r.lead_agency,
         _date(r.received_at, True), _date(r.due_at, True), _date(r.transferred_at),
         _date(r.result_received_at), _date(r.returned_at, True), r.note)
        for n, r in enumerate(rows, 1)
    ], widths, align, size=7)
    _notes(pdf, "Sổ theo dõi hồ sơ được lập theo từng lĩnh vực hoặc nhóm lĩnh vực tại Bộ phận "
           "Một cửa.", "Trường hợp áp dụng Sổ theo dõi hồ sơ điện tử thì theo dõi trực tiếp trên "
           "Hệ thống thông tin giải quyết thủ tục hành chính, không cần thực hiện in sổ giấy "
           "nhưng phải đảm bảo đầy đủ thông tin theo quy định.")
    return pdf.to_bytes()
