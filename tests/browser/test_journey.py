"""The whole journey of one dossier in a real browser, as issue 4 describes it: the citizen on
a 360 px phone signs in through the identity provider, finds "đăng ký khai sinh" typed
without diacritics, fills the form, uploads documents and gets the receipt; the desk
receives it; the specialist asks for a supplement; the citizen supplements; the specialist
forwards; the leader (password + TOTP) approves; the desk returns the result; the citizen
sees it and rates the service; the public look-up shows the final status. A screenshot of
each step goes to docs/screenshots/."""

import pytest

from .conftest import choose_agency, fits_width, officer_login, shot
from .test_citizen_pages import sign_in_citizen

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def officer(browser, base: str, username: str):
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = ctx.new_page()
    officer_login(page, base, username)
    return page


def act(page, base: str, code: str, action: str, **fields):
    page.goto(f"{base}/can-bo/ho-so/{code}")
    form = page.locator(f"form[action$='/thao-tac/{action}']")
    for name, value in fields.items():
        form.locator(f"[name={name}]").fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def status_on(page) -> str:
    return page.locator("#tinh-trang").inner_text().strip()


@pytest.mark.slow
def test_one_dossier_from_search_to_rating(web_platform, browser, phone, tmp_path):
    base = f"http://127.0.0.1:{web_platform.port}"
    scan = tmp_path / "giay-chung-sinh.pdf"
    scan.write_bytes(PDF)

    # 1. The citizen signs in on the phone and finds the procedure without diacritics.
    sign_in_citizen(phone, base, next_path="/")
    shot(phone, "01-trang-chu")
    phone.fill("#q", "dang ky khai sinh")
    phone.press("#q", "Enter")
    phone.wait_for_url("**/thu-tuc?q=*")
    first = phone.locator("#ket-qua li a").first
    assert first.inner_text().strip().lower().startswith("thủ tục đăng ký khai sinh")
    shot(phone, "02-tim-thu-tuc")
    first.click()
    phone.click("text=Nộp hồ sơ >> nth=0")
    phone.wait_for_url("**/ho-so/nop/*")
    assert phone.locator(".prefilled").count() >= 3  # name, identity number, address…
    assert fits_width(phone)

    # 2. The form, filled on the phone, with two uploads.
    choose_agency(phone, "Hồng Bàng")
    phone.fill("#f_ho_ten_tre", "Nguyễn Minh Khôi")
    phone.fill("#f_ngay_sinh", "2026-11-01")
    phone.select_option("#f_gioi_tinh", "Nam")
    phone.fill("#f_noi_sinh", "Bệnh viện Phụ sản Hải Phòng")
    phone.fill("#f_dan_toc", "Kinh")
    phone.fill("#f_quoc_tich", "Việt Nam")
    phone.select_option("#f_quan_he_voi_tre", "Cha")
    for doc in ("to_khai", "giay_chung_sinh"):
        phone.set_input_files(f"#file_{doc}", str(scan))
        phone.wait_for_selector(f"[data-document={doc}] .uploaded li")
    phone.wait_for_selector("#trang-thai-nhap:has-text('Đã tự động lưu bản nháp')")
    shot(phone, "03-to-khai")
    phone.click("button[value=xem-lai]")
    phone.wait_for_selector("text=Xem lại hồ sơ trước khi nộp")
    shot(phone, "04-xem-lai")
    phone.click("button[value=nop]")
    phone.wait_for_url("**/bien-nhan")
    code = phone.locator("#ma-ho-so").inner_text().strip()
    assert phone.locator("img.qr").is_visible()
    shot(phone, "05-bien-nhan")
    with phone.expect_download() as dl:
        phone.click("text=Tải phiếu xác nhận (PDF)")
    assert dl.value.suggested_filename == f"xac-nhan-nop-{code}.pdf"

    # 3. The desk receives it; the specialist asks for a supplement.
    desk = officer(browser, base, "tiepnhan")
    desk.goto(f"{base}/can-bo/?q={code}")
    assert code in desk.content()
    shot(desk, "06-hang-doi-can-bo")
    act(desk, base, code, "receive")
    specialist = officer(browser, base, "chuyenvien")
    act(specialist, base, code, "request-supplement",
        items="Bản sao Giấy chứng sinh có đóng dấu của bệnh viện", note="Bản chụp bị mờ.")
    shot(specialist, "07-yeu-cau-bo-sung")

    # 4. The citizen sees exactly what is missing and supplements on the same dossier.
    phone.goto(f"{base}/ca-nhan/ho-so/{code}")
    assert status_on(phone) == "Yêu cầu bổ sung giấy tờ"
    assert "Bản sao Giấy chứng sinh có đóng dấu của bệnh viện" in phone.content()
    phone.set_input_files("#files", str(scan))
    phone.fill("#note", "Gửi lại bản rõ nét.")
    shot(phone, "08-bo-sung")
    phone.click("#bo-sung button[type=submit]")
    phone.wait_for_selector("text=Đã gửi giấy tờ bổ sung")

    # 5. The specialist forwards; the leader approves with password and one-time code.
    act(specialist, base, code, "forward", note="Đủ điều kiện.")
    leader = officer(browser, base, "lanhdao")
    leader.goto(f"{base}/can-bo/phe-duyet")
    assert code in leader.content()
    shot(leader, "09-phe-duyet")
    act(leader, base, code, "approve", note="Đồng ý cấp.")
    act(desk, base, code, "return-result")
    shot(desk, "10-tra-ket-qua")

    # 6. The citizen sees the result, rates the service; the look-up shows the end.
    phone.goto(f"{base}/ca-nhan/ho-so/{code}")
    assert status_on(phone) == "Đã trả kết quả"
    phone.check("#r_satisfied")
    phone.fill("#comment", "Nhanh, không phải đi lại.")
    shot(phone, "11-danh-gia")
    phone.click("#danh-gia button[type=submit]")
    phone.wait_for_selector("text=Cảm ơn bạn đã đánh giá")
    phone.goto(f"{base}/ca-nhan/thong-bao")
    assert f"Hồ sơ {code} đã được trả kết quả" in phone.content()
    anonymous = browser.new_context(viewport={"width": 360, "height": 740}).new_page()
    anonymous.goto(f"{base}/tra-cuu?ma={code}")
    assert status_on(anonymous) == "Đã trả kết quả"
    shot(anonymous, "12-tra-cuu")
    assert phone.csp_errors == []
