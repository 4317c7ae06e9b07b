"""PAdES signatures on issued PDFs: a signed PDF validates against the signing certificate,
covers the whole file, and any change after signing is detected."""

from io import BytesIO

from fpdf import FPDF
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from chinhquyenso.core import signing


def _pdf() -> bytes:
    pdf = FPDF()
    pdf.set_compression(False)  # the text stays findable in the bytes
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "Receipt 0000001 - 5000 VND")
    return bytes(pdf.output())


def _status(data: bytes):
    _key, cert = signing.key_and_cert()
    vc = ValidationContext(trust_roots=[load_cert_from_pemder(str(cert))])
    sig = PdfFileReader(BytesIO(data)).embedded_signatures[0]
    return sig, validate_pdf_signature(sig, vc)


def test_a_signed_pdf_validates_and_names_its_reason(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # a fresh demo key pair
    signed = signing.sign_pdf(_pdf(), reason="Biên lai AA-26E số 0000001")
    sig, status = _status(signed)
    assert status.intact and status.valid and status.bottom_line
    assert status.coverage.name == "ENTIRE_FILE"
    assert sig.sig_object["/Reason"] == "Biên lai AA-26E số 0000001"
    assert "không có giá trị pháp lý" in sig.signer_cert.subject.human_friendly


def test_a_change_after_signing_is_detected(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    signed = bytearray(signing.sign_pdf(_pdf(), reason="Biên lai"))
    at = signed.index(b"5000 VND")
    signed[at:at + 4] = b"9000"  # the amount, inside the signed byte range
    _sig, status = _status(bytes(signed))
    assert not status.intact and not status.bottom_line
