"""What a newcomer opens after `make run`: the root leads to the API documentation, whose
assets are served by the platform itself (no CDN: the machine may have no internet)."""

import urllib.request


def test_root_and_api_docs_work_offline(platform):
    base = f"http://127.0.0.1:{platform.port}"
    with urllib.request.urlopen(f"{base}/") as r:  # follows the redirect
        page = r.read().decode()
        assert r.url.endswith("/api/v1/docs") and "/static/ninja/swagger-ui-bundle.js" in page
    with urllib.request.urlopen(f"{base}/static/ninja/swagger-ui-bundle.js") as r:
        assert r.status == 200 and len(r.read()) > 100_000
