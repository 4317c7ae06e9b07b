"""The body cap at the real server: `cqs serve` (granian) answers a 100 MB upload with 413
before the body is sent, so neither memory nor disk takes it."""

import http.client
import json
import time


def test_a_100_mb_upload_to_cqs_serve_is_413_at_once(platform):
    conn = http.client.HTTPConnection("127.0.0.1", platform.port, timeout=30)
    started = time.monotonic()
    conn.putrequest("POST", "/api/v1/files")
    conn.putheader("Content-Type", "multipart/form-data; boundary=X")
    conn.putheader("Content-Length", str(100 * 1024 * 1024))
    conn.putheader("Authorization", f"Bearer {platform.tokens['citizen']}")
    conn.endheaders()
    conn.send(b"--X\r\n" + b"0" * 65536)  # the first bytes only: the rest never goes
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    assert resp.status == 413, body[:300]
    assert "quá lớn" in json.loads(body)["detail"]
    assert time.monotonic() - started < 10
