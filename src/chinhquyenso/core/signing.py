"""Digital signatures on the PDFs the platform issues (PAdES, with pyHanko).

The signing key and certificate are the issuing organisation's, from the Government's PKI
(chữ ký số chuyên dùng) in production: CQS_SIGNING_KEY and CQS_SIGNING_CERT name PEM files
(a PKCS#11 token is the next step, through pyHanko's PKCS#11 signer). Without them the
platform makes, once, a self-signed **demo** certificate under var/signing/ whose name says
it has no legal value, so that development and tests sign and verify end to end."""

import os
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from django.conf import settings

DEMO_NAME = "Chứng thư số mẫu, không có giá trị pháp lý"  # CN: at most 64


def _demo_files() -> tuple[Path, Path]:
    """var/signing/demo-key.pem and demo-cert.pem, made once (O_EXCL: two workers starting
    together agree on one pair)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    folder = Path(settings.VAR_DIR) / "signing"
    folder.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = folder / "demo-key.pem", folder / "demo-cert.pem"
    if cert_path.exists():
        return key_path, cert_path
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Chính quyền số (mẫu)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, DEMO_NAME)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process is making them: use theirs
        for _ in range(100):
            if cert_path.exists():
                return key_path, cert_path
            time.sleep(0.05)
        raise
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem)
    tmp = cert_path.with_suffix(".tmp")
    tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tmp.rename(cert_path)
    return key_path, cert_path


def key_and_cert() -> tuple[Path, Path]:
    key, cert = settings.CQS_SIGNING_KEY, settings.CQS_SIGNING_CERT
    if key and cert:
        return Path(key), Path(cert)
    return _demo_files()


@lru_cache(maxsize=2)
def _signer(key: str, cert: str):
    from pyhanko.sign import signers

    return signers.SimpleSigner.load(key, cert)


def sign_pdf(data: bytes, *, reason: str, location: str = "Hải Phòng",
             field_name: str = "ChuKySo") -> bytes:
    """The PDF with an invisible PAdES signature over the whole file (SHA-256)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    key, cert = key_and_cert()
    meta = signers.PdfSignatureMetadata(field_name=field_name, reason=reason,
                                        location=location, md_algorithm="sha256")
    out = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(data)), meta,
                           signer=_signer(str(key), str(cert)))
    return out.getvalue()
