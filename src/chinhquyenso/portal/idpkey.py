"""The local identity provider's RSA signing key (portal/idp.py), read when it is first
needed, never when the settings are imported.

From the environment (OIDC_RSA_PRIVATE_KEY, PEM text) or else a file under CQS_VAR_DIR made
once: by `cqs init`, or by the first ID token or JWKS request if init did not run. Settings
hand django-oauth-toolkit a lazy string (`lazy_private_key`), so no key is generated and no
file read until the provider signs something."""

import os
import time
from functools import cache
from pathlib import Path

from django.utils.functional import lazy

FILE_NAME = "idp-rsa.pem"


@cache
def private_key() -> str:
    """The PEM text (once per process)."""
    if os.environ.get("OIDC_RSA_PRIVATE_KEY"):
        return os.environ["OIDC_RSA_PRIVATE_KEY"]
    from django.conf import settings

    return _key_file(Path(settings.VAR_DIR) / FILE_NAME)


def _key_file(path: Path) -> str:
    """The key in `path`, made there first if missing (O_EXCL, so that two workers starting
    together agree on one key)."""
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
    for _ in range(50):  # another process may be writing it right now
        text = path.read_text()
        if "END PRIVATE KEY" in text:
            return text
        time.sleep(0.05)
    raise RuntimeError(f"{path}: khóa ký của nhà cung cấp định danh không đọc được")


# For settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]: a str whose value is computed on use.
lazy_private_key = lazy(private_key, str)
