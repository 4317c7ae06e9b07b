"""What a newcomer opens after `make run`: the root leads to the API documentation, whose
assets are served by the platform itself (no CDN: the machine may have no internet)."""

import urllib.request


def test_portal_and_api_docs_work_offline(platform):
    base = f"http://127.0.0.1:{platform.port}"
    with urllib.request.urlopen(f"{base}/") as r:  # the citizen portal, its stylesheet local
        page = r.read().decode()
        assert "Dịch vụ công trực tuyến" in page and "/static/cqs/css/site.css" in page
    with urllib.request.urlopen(f"{base}/static/cqs/css/site.css") as r:
        assert r.status == 200 and b"--blue" in r.read()
    with urllib.request.urlopen(f"{base}/api/v1/docs") as r:
        assert "/static/ninja/swagger-ui-bundle.js" in r.read().decode()
    with urllib.request.urlopen(f"{base}/static/ninja/swagger-ui-bundle.js") as r:
        assert r.status == 200 and len(r.read()) > 100_000
