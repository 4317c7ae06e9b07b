"""E-receipts of fees paid online (biên lai điện tử thu phí, lệ phí): content required by
Decree 123/2020/NĐ-CP Art. 32(2), symbols of Circular 78/2021/TT-BTC Annex I.B, numbers per
agency without gaps, the QR code to the public verification page, and who may download."""

import io
import threading

import pytest
import segno
from django.conf import settings
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from chinhquyenso.core import audit
from chinhquyenso.core.models import OutboxEvent
from chinhquyenso.dossiers.models import Dossier, DossierEvent
from chinhquyenso.payments import queries, receipts
from chinhquyenso.payments.models import PendingAuditLink, Receipt
from chinhquyenso.payments.queries import receipts_for
from tests.conftest import ON_POSTGRES, birth_body
from tests.payments.conftest import FEE
from tests.payments.test_payments import ipn, ipn_params, pay

TAX_CODE = "0201234567"  # demo value for the test agency


@pytest.fixture(autouse=True)
def _issuer(settings, agency):
    settings.CQS_RECEIPT_ISSUERS = {agency.code: {"tax_code": TAX_CODE, "letters": "HB"}}


def receipt_of(order) -> Receipt:
    """The receipt as a reader gets it (numbered, if the after-commit pass has not run)."""
    return queries.receipt_of_order(order)


def yy() -> str:
    return f"{timezone.now().astimezone(receipts.VN):%y}"


def paid_dossier(api, agency) -> tuple[str, Receipt]:
    code = api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
    order = pay(api, code)
    assert ipn(ipn_params(order))["RspCode"] == "00"
    return code, receipt_of(order)


@pytest.mark.parametrize("amount, words", [
    (0, "Không đồng"),
    (15_000, "Mười lăm nghìn đồng"),
    (21_000, "Hai mươi mốt nghìn đồng"),
    (50_000, "Năm mươi nghìn đồng"),
    (105_000, "Một trăm linh năm nghìn đồng"),
    (1_005_000, "Một triệu không trăm linh năm nghìn đồng"),
    (1_250_000, "Một triệu hai trăm năm mươi nghìn đồng"),
    (2_000_000_500, "Hai tỷ năm trăm đồng"),
])
def test_amount_in_words(amount, words):
    assert receipts.amount_in_words(amount) == words


def test_a_confirmed_payment_issues_receipts_numbered_per_agency(api, agency, dossier_code):
    """Circular 78/2021 Annex I.B: form 01BLP0-001, series <2 letters>-<yy>E; numbers 1, 2, …"""
    order = pay(api, dossier_code)
    ipn(ipn_params(order))
    first = receipt_of(order)
    assert (first.form_symbol, first.series, first.number) == ("01BLP0-001", f"HB-{yy()}E", 1)
    assert first.amount == FEE and first.issuer_tax_code == TAX_CODE
    assert first.payer_name == "Nguyễn Văn An" and first.fee_name == "Thủ tục đăng ký khai sinh"
    _, second = paid_dossier(api, agency)
    assert second.number == 2 and second.number_label == "0000002"
    assert len(first.token) >= 43 and first.token != second.token


def test_a_duplicate_payment_gets_no_second_receipt(api, dossier_code):
    first, second = pay(api, dossier_code), pay(api, dossier_code)
    ipn(ipn_params(first))
    ipn(ipn_params(second))
    assert list(Receipt.objects.values_list("order__txn_ref", flat=True)) == [first.txn_ref]


def test_the_confirmation_writes_history_outbox_and_a_sound_audit_chain(
        api, dossier_code, django_capture_on_commit_callbacks):
    order = pay(api, dossier_code)
    with django_capture_on_commit_callbacks(execute=True):
        ipn(ipn_params(order))
    assert not PendingAuditLink.objects.exists()
    d = Dossier.objects.get(code=dossier_code)
    assert DossierEvent.objects.filter(dossier=d, action="pay").count() == 1
    ev = OutboxEvent.objects.get(topic="dossier.pay", aggregate_id=dossier_code)
    assert ev.payload["amount"] == FEE and ev.payload["reference"] == order.txn_ref
    result = audit.verify()
    assert result.ok, result.reason
    assert audit.AuditRecord.objects.filter(verb="dossier.pay", target_id=dossier_code).count() == 1


def test_a_rolled_back_issue_gives_its_number_back(agency):
    with pytest.raises(RuntimeError), transaction.atomic():
        assert receipts.allocate_number(agency.pk, "HB-26E") == 1
        raise RuntimeError("the confirmation failed")
    assert receipts.allocate_number(agency.pk, "HB-26E") == 1
    assert receipts.allocate_number(agency.pk, "HB-26E") == 2
    assert receipts.allocate_number(agency.pk, "AA-26E") == 1  # another series starts at 1


def pdf_text(body: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)


def test_the_pdf_carries_every_mandatory_item_and_the_verification_qr(api, people, agency,
                                                                       dossier_code):
    order = pay(api, dossier_code)
    ipn(ipn_params(order))
    r = receipt_of(order)
    client = Client()
    client.force_login(people["citizen"])
    resp = client.get(f"/thanh-toan/bien-lai/{r.pk}.pdf")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
    text = pdf_text(resp.content)
    local = r.issued_at.astimezone(receipts.VN)
    url = f"{settings.CQS_PUBLIC_URL}/thanh-toan/bien-lai/xac-minh/{r.token}"
    # Decree 123/2020 Art. 32(2): a) name, b) symbols, c) number, đ) issuer and tax code,
    # e) fee and amount, g) date, h) who collected; and the payer.
    for item in ["BIÊN LAI THU PHÍ, LỆ PHÍ", "Mẫu số: 01BLP0-001", f"Ký hiệu: HB-{yy()}E",
                 "Số: 0000001", "ỦY BAN NHÂN DÂN PHƯỜNG HỒNG BÀNG", f"Mã số thuế: {TAX_CODE}",
                 "Thủ tục đăng ký khai sinh", "50.000 đồng", "Năm mươi nghìn đồng",
                 f"Ngày {local:%d} tháng {local:%m} năm {local:%Y}", "NGƯỜI THU TIỀN",
                 "Nguyễn Văn An", dossier_code]:
        assert item in text, item
    assert url in text.replace("\n", "")
    # The QR image is the QR code of exactly that URL: sample every module of the embedded
    # image and compare with the symbol segno makes for the URL the test wrote out.
    image = PdfReader(io.BytesIO(resp.content)).pages[0].images[0].image.convert("L")
    expected = segno.make(url, error="m")
    size = expected.symbol_size(scale=1)[0]  # modules incl. the 4-module quiet zone
    step = image.width / size
    matrix = [[image.getpixel((int((x + 0.5) * step), int((y + 0.5) * step))) < 128
               for x in range(size)] for y in range(size)]
    want = [[bool(v) for v in row] for row in expected.matrix_iter(scale=1, border=4)]
    assert matrix == want
    # h) the collecting organisation's digital signature, over the whole file.
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from chinhquyenso.core import signing

    sig = PdfFileReader(io.BytesIO(resp.content)).embedded_signatures[0]
    trust = ValidationContext(trust_roots=[load_cert_from_pemder(
        str(signing.key_and_cert()[1]))])
    status = validate_pdf_signature(sig, trust)
    assert status.bottom_line and status.coverage.name == "ENTIRE_FILE"
    assert sig.sig_object["/Reason"].startswith(f"Biên lai HB-{yy()}E số ")


def test_who_may_download_a_receipt(api, people, dossier_code):
    order = pay(api, dossier_code)
    ipn(ipn_params(order))
    r = receipt_of(order)
    url = f"/thanh-toan/bien-lai/{r.pk}.pdf"
    assert Client().get(url).status_code == 404  # anonymous
    for name, status in [("citizen", 200), ("receiver", 200), ("citizen2", 404),
                         ("other_receiver", 404)]:
        c = Client()
        c.force_login(people[name])
        assert c.get(url).status_code == status, name
    assert api("citizen").get(f"/receipts/{r.pk}/pdf").status_code == 200
    assert api("citizen2").get(f"/receipts/{r.pk}/pdf").status_code == 404
    assert api("other_receiver").get(f"/receipts/{r.pk}/pdf").status_code == 404


def test_receipts_are_listed_for_the_dossier(api, dossier_code):
    order = pay(api, dossier_code)
    ipn(ipn_params(order))
    r = receipt_of(order)
    body = api("citizen").get(f"/dossiers/{dossier_code}/receipts").json()
    assert [(x["series"], x["number"], x["amount"]) for x in body] == [
        (f"HB-{yy()}E", "0000001", FEE)]
    assert body[0]["pdf_url"] == f"/api/v1/receipts/{r.pk}/pdf"
    assert api("citizen2").get(f"/dossiers/{dossier_code}/receipts").status_code == 404
    listed = receipts_for(Dossier.objects.get(code=dossier_code))
    assert listed == [{"number": "0000001", "label": f"Biên lai HB-{yy()}E số 0000001",
                       "amount": FEE, "issued_at": r.issued_at,
                       "url": f"/thanh-toan/bien-lai/{r.pk}.pdf"}]


def test_the_public_verification_page(api, dossier_code):
    order = pay(api, dossier_code)
    ipn(ipn_params(order))
    r = receipt_of(order)
    page = Client().get(f"/thanh-toan/bien-lai/xac-minh/{r.token}")
    html = page.content.decode()
    assert page.status_code == 200
    for item in ["01BLP0-001", f"HB-{yy()}E", "0000001", TAX_CODE, "50.000 đồng",
                 "Năm mươi nghìn đồng", "Nguyễn Văn An"]:
        assert item in html, item
    assert "001099012345" not in html and "0912345678" not in html  # nothing not printed
    assert Client().get("/thanh-toan/bien-lai/xac-minh/khong-co-ma-nay").status_code == 404


def test_the_return_page_links_the_receipt(api, dossier_code):
    order = pay(api, dossier_code)
    params = ipn_params(order)
    assert "Tải biên lai" not in Client().get("/thanh-toan/ket-qua", params).content.decode()
    ipn(params)
    r = receipt_of(order)
    html = Client().get("/thanh-toan/ket-qua", params).content.decode()
    assert "Đã thanh toán" in html and f'href="/thanh-toan/bien-lai/{r.pk}.pdf"' in html
    assert "<style" not in html and "style=" not in html  # CSP: no inline style


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not ON_POSTGRES, reason="real concurrency: PostgreSQL only")
def test_receipt_numbers_have_no_gaps_under_concurrent_confirmations(api, agency,
                                                                    fee_procedure):
    codes = [api("citizen").post("/dossiers", birth_body(agency)).json()["code"]
             for _ in range(8)]
    orders = [pay(api, c) for c in codes]
    barrier = threading.Barrier(len(orders))

    def deliver(order):
        barrier.wait()
        try:
            ipn(ipn_params(order))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(o,)) for o in orders]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert receipts.number_receipts() == 8  # the worker's periodic job
    numbers = sorted(Receipt.objects.filter(agency=agency).values_list("number", flat=True))
    assert numbers == [1, 2, 3, 4, 5, 6, 7, 8]
    assert audit.verify().ok
    assert not PendingAuditLink.objects.exists()
    assert audit.AuditRecord.objects.filter(verb="dossier.pay").count() == 8


def test_one_confirming_path_on_every_database(api, people, dossier_code):
    """The IPN confirms through one path, the same on SQLite and PostgreSQL (run the suite with
    DATABASE_URL for the latter): the citizen is told the payment was received (the former
    PostgreSQL-only statement forgot it), with a handful of statements."""
    order = pay(api, dossier_code)
    with CaptureQueriesContext(connections["default"]) as ran:
        assert ipn(ipn_params(order))["RspCode"] == "00"
    writes = [q["sql"].split()[0] for q in ran.captured_queries]
    assert len(writes) <= 16, writes
    title = f"Đã nhận thanh toán phí, lệ phí của hồ sơ {dossier_code}"
    assert people["citizen"].notifications.filter(title=title).count() == 1
    assert receipt_of(order).number == 1
    with CaptureQueriesContext(connections["default"]) as again:
        assert ipn(ipn_params(order))["RspCode"] == "02"
    assert len(again.captured_queries) <= 4
    assert people["citizen"].notifications.filter(title=title).count() == 1
