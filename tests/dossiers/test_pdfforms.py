"""PDF renderings of the one-stop forms (Mẫu 01–07, Thông tư 03/2025/TT-VPCP).

Text in a PDF with embedded TrueType fonts is glyph-encoded, so the checks read it back with
a real extractor: pypdf if installed, else poppler's pdftotext/pdfinfo; skipped without both.
Plain functions, no database.
"""

import re
import shutil
import subprocess
import tempfile
import unicodedata
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest

from chinhquyenso.dossiers import pdfforms as f

NAME = "Nguyễn Thị Hồng Nhung"
CODE = "000.21.31.H31-270201-0007"
RECEIVED = datetime(2027, 2, 1, 1, 30, tzinfo=UTC)  # 08:30 in Hải Phòng
DUE = datetime(2027, 2, 3, 2, 0, tzinfo=UTC)  # 09:00 in Hải Phòng
DUE_TEXT = "09 giờ 00 phút, ngày 03/02/2027"
AT = datetime(2027, 2, 2, 3, 15, tzinfo=UTC)
AT_TEXT = "ngày 02 tháng 02 năm 2027"
URL = "https://dichvucong.haiphong.gov.vn/tra-cuu?ma=" + CODE

APPLICANT = f.Applicant(NAME, "031190001234", "Số 12 phố Lạch Tray, phường Gia Viên, Hải Phòng",
                        "0912 345 678", "nhung@example.vn")
INFO = f.DossierInfo(
    code=CODE, agency_name="Bộ phận Một cửa Ủy ban nhân dân phường Hồng Bàng",
    procedure_name="Đăng ký khai sinh", applicant=APPLICANT, received_at=RECEIVED, due_at=DUE,
    working_days=2, parent_agency="Ủy ban nhân dân thành phố Hải Phòng",
    received_by="Trần Văn Đức", coordinating_agencies=("Công an phường Hồng Bàng",),
)


# ---------------------------------------------------------------- reading PDFs back

def _pypdf():
    try:
        import pypdf
    except ImportError:
        return None
    return pypdf


def _poppler(tool: str, pdf: bytes) -> str:
    exe = shutil.which(tool)
    if exe is None:
        pytest.skip("reading PDF text needs pypdf or poppler-utils (pdftotext, pdfinfo)")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "form.pdf")
        path.write_bytes(pdf)
        args = [exe, "-enc", "UTF-8", str(path)] + (["-"] if tool == "pdftotext" else [])
        return subprocess.run(args, capture_output=True, check=True).stdout.decode()


def pages(pdf: bytes) -> list[str]:
    pypdf = _pypdf()
    if pypdf:
        return [page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf)).pages]
    return _poppler("pdftotext", pdf).split("\f")[:-1]


def metadata(pdf: bytes) -> dict[str, str]:
    pypdf = _pypdf()
    if pypdf:
        meta = pypdf.PdfReader(BytesIO(pdf)).metadata
        return {"Title": meta.title, "Producer": meta.producer}
    return dict(line.split(":", 1) for line in _poppler("pdfinfo", pdf).splitlines()
                if ":" in line)


def squash(text: str) -> str:
    """No whitespace: text wrapped across lines or table cells still matches."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


def assert_has(text: str, *needles: str) -> None:
    for needle in needles:
        assert squash(needle) in squash(text), f"{needle!r} not in PDF text:\n{text}"


# ---------------------------------------------------------------- the forms

def render(form: str) -> bytes:
    later = DUE + timedelta(days=2)
    return {
        "01": lambda: f.render_receipt(
            INFO, [f.Component("Tờ khai đăng ký khai sinh", 1),
                   f.Component("Giấy chứng sinh", 2)], URL, register_no="Quyển 02, số 0153",
            pickup_place="Bộ phận Một cửa phường Hồng Bàng"),
        "02": lambda: f.render_supplement_request(
            INFO, ["Bổ sung Giấy chứng sinh bản chính: bản đã nộp là bản chụp."], "Trần Văn Đức",
            AT),
        "03": lambda: f.render_refusal(INFO, "Không thuộc thẩm quyền giải quyết của phường.",
                                       "Trần Văn Đức", AT),
        "04": lambda: f.render_apology(INFO, "Cần xác minh thông tin cư trú.", later,
                                       "Phạm Quốc Hưng", AT),
        "05": lambda: f.render_stop_notice(INFO, "Công dân xin rút hồ sơ.", AT, "Trần Văn Đức",
                                           AT),
        "06": lambda: f.render_process_sheet(INFO, [
            f.Handover("Bộ phận Một cửa", "Công chức Tư pháp - Hộ tịch", RECEIVED, "Trước hạn"),
            f.Handover("Công chức Tư pháp - Hộ tịch", "Lãnh đạo UBND phường", AT, "Đúng hạn",
                       "Trình ký"),
        ]),
    }[form]()


# what each form must show besides its title, the code and the applicant's name
EXPECTED = {
    "01": (DUE_TEXT, "08 giờ 30 phút, ngày 01/02/2027", "Tờ khai đăng ký khai sinh",
           "02 ngày làm việc", "Quyển 02, số 0153", URL, "NGƯỜI NỘP HỒ SƠ", "Trần Văn Đức"),
    "02": (AT_TEXT, "1. Bổ sung Giấy chứng sinh bản chính", "NGƯỜI HƯỚNG DẪN"),
    "03": (AT_TEXT, "Không thuộc thẩm quyền giải quyết của phường.", "NGƯỜI TIẾP NHẬN HỒ SƠ"),
    "04": (DUE_TEXT, "09 giờ 00 phút, ngày 05/02/2027", "Cần xác minh thông tin cư trú.",
           "xin trân trọng gửi lời xin lỗi", "031190001234", "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ",
           "Phạm Quốc Hưng"),
    "05": (DUE_TEXT, AT_TEXT, "Công dân xin rút hồ sơ.", "10 giờ 15 phút, ngày 02/02/2027"),
    "06": (DUE_TEXT, "Công an phường Hồng Bàng", "1. Giao: Bộ phận Một cửa",
           "2. Nhận: Lãnh đạo UBND phường", "08 giờ 30 phút, ngày 01/02/2027", "Trước hạn",
           "Đúng hạn", "Trình ký", "Kết quả giải quyết hồ sơ (Trước hạn/Đúng hạn/Quá hạn)"),
}


@pytest.mark.parametrize("form", sorted(EXPECTED))
def test_form_prints_its_vietnamese_text(form):
    pdf = render(form)
    assert pdf.startswith(b"%PDF-")
    [text] = pages(pdf)
    assert_has(text, f"Mẫu số {form}", f.FORMS[form].upper(), CODE, NAME,
               "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
               "BỘ PHẬN MỘT CỬA ỦY BAN NHÂN DÂN PHƯỜNG HỒNG BÀNG", "Hải Phòng, ngày",
               *EXPECTED[form])


@pytest.mark.parametrize("form", sorted(EXPECTED))
def test_metadata(form):
    meta = metadata(render(form))
    assert meta["Title"].strip() == f"Mẫu số {form}: {f.FORMS[form]} – {CODE}"
    assert meta["Producer"].strip() == "Chính quyền số"


def test_receipt_embeds_qr_image():
    pdf = render("01")
    assert b"/Subtype /Image" in pdf
    assert_has(pages(pdf)[0], URL)


def test_same_input_same_bytes():
    assert render("01") == render("01")


def test_decomposed_input_prints_like_composed():
    nfd = unicodedata.normalize("NFD", NAME)
    assert nfd != NAME
    info = f.DossierInfo(**{**INFO.__dict__, "applicant": f.Applicant(nfd)})
    [text] = pages(f.render_refusal(info, "Lý do", "Trần Văn Đức", AT))
    assert NAME in unicodedata.normalize("NFC", text)  # composed glyphs, not loose accents
    assert_has(text, NAME)


def test_register_breaks_pages_and_repeats_heading():
    rows = [f.RegisterRow(f"000.21.31.H31-2702{n % 28 + 1:02d}-{n:04d}",
                          "Chứng thực bản sao từ bản chính", APPLICANT,
                          "Ủy ban nhân dân phường Hồng Bàng", RECEIVED, DUE,
                          returned_at=DUE, note="Trả qua bưu điện" if n % 5 == 0 else "")
            for n in range(1, 121)]
    pdf = f.render_register(INFO.agency_name, rows, "Lĩnh vực Chứng thực, tháng 02/2027")
    texts = pages(pdf)
    assert len(texts) > 1
    for text in texts:
        assert_has(text, "STT", "Mã hồ sơ", "Tên thủ tục hành chính", "Số lượng hồ sơ",
                   "Tên cá nhân, tổ chức", "Địa chỉ/Số điện thoại", "Cơ quan chủ trì giải quyết",
                   "Ngày nhận hồ sơ", "Ngày hẹn trả kết quả", "Ngày chuyển hồ sơ",
                   "Ngày nhận kết quả", "Ngày trả kết quả", "Ghi chú")
    assert_has(texts[0], "Mẫu số 07", "SỔ THEO DÕI HỒ SƠ", "Lĩnh vực Chứng thực, tháng 02/2027",
               NAME, "03/02/2027 09:00")
    everything = squash("".join(texts))
    assert all(squash(row.code) in everything for row in rows)
    assert metadata(pdf)["Producer"].strip() == "Chính quyền số"


def test_format_datetime_uses_vietnam_time():
    assert f.format_datetime(DUE) == DUE_TEXT
    assert f.format_datetime(datetime(2027, 12, 31, 17, 5, tzinfo=UTC)) == (
        "00 giờ 05 phút, ngày 01/01/2028")


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive"):
        f.format_datetime(datetime(2027, 2, 3, 9, 0))


def test_apology_needs_a_later_date():
    with pytest.raises(ValueError):
        f.render_apology(INFO, "Lý do", DUE, "Phạm Quốc Hưng", AT)


def test_supplement_request_needs_items():
    with pytest.raises(ValueError):
        f.render_supplement_request(INFO, [], "Trần Văn Đức", AT)


def test_forms_are_the_seven_of_circular_03_2025():
    assert list(f.FORMS) == ["01", "02", "03", "04", "05", "06", "07"]
    assert f.FORMS["04"] == "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết"
    assert f.FORMS["06"] == "Phiếu kiểm soát quá trình giải quyết hồ sơ"
