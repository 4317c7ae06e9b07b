"""Issue 6 end to end in a browser: the citizen submits a dossier with a fee, pays on the
sandbox gateway's page, lands on the return page, sees "Đã thanh toán" (set by the verified
IPN, not by the return URL) and downloads the e-receipt, which carries the dossier's code."""

import io

import pytest
from pypdf import PdfReader

from .conftest import choose_agency, shot
from .test_citizen_pages import sign_in_citizen
from .test_journey import PDF


@pytest.mark.slow
def test_pay_a_fee_and_download_the_e_receipt(web_platform, phone, tmp_path):
    base = f"http://127.0.0.1:{web_platform.port}"
    scan = tmp_path / "to-khai.pdf"
    scan.write_bytes(PDF)
    sign_in_citizen(phone, base, id_number="001199054321", next_path="/ho-so/nop/1.004873")
    choose_agency(phone, "Hồng Bàng")
    phone.select_option("#f_tinh_trang_hon_nhan", "Chưa đăng ký kết hôn với ai")
    phone.fill("#f_muc_dich_su_dung", "Để đăng ký kết hôn.")
    phone.fill("#f_so_luong_ban", "1")
    phone.set_input_files("#file_to_khai", str(scan))
    phone.wait_for_selector("[data-document=to_khai] .uploaded li")
    phone.click("button[value=xem-lai]")
    phone.click("button[value=nop]")
    phone.wait_for_url("**/bien-nhan")
    code = phone.locator("#ma-ho-so").inner_text().strip()

    phone.goto(f"{base}/ca-nhan/ho-so/{code}")
    assert "5.000 đồng" in phone.content() and "Chưa thanh toán" in phone.content()
    phone.click("text=Thanh toán trực tuyến")
    phone.wait_for_url(f"http://127.0.0.1:{web_platform.sandbox_port}/**")
    shot(phone, "13-cong-thanh-toan")
    phone.click("button[value=success]")
    phone.wait_for_url(f"{base}/thanh-toan/ket-qua*")
    # The IPN may arrive a moment after the citizen: the page says "waiting" until then.
    for _ in range(20):
        if "Đã thanh toán" in phone.content():
            break
        phone.wait_for_timeout(500)
        phone.reload()
    assert "Đã thanh toán" in phone.content()
    assert code in phone.content()
    link = phone.locator("a[href*='/thanh-toan/bien-lai/']").first
    for _ in range(20):  # the receipt is issued right after the confirmation
        if link.count():
            break
        phone.wait_for_timeout(500)
        phone.reload()
        link = phone.locator("a[href*='/thanh-toan/bien-lai/']").first
    shot(phone, "14-da-thanh-toan")
    with phone.expect_download() as dl:
        link.click()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(
        open(dl.value.path(), "rb").read())).pages)
    assert code in text and "5.000" in text.replace(",", ".")
    phone.goto(f"{base}/ca-nhan/ho-so/{code}")
    assert "Đã thanh toán" in phone.content() and "Biên lai điện tử" in phone.content()
