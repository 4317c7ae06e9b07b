import base64
from urllib.parse import urlsplit

import pytest
from django.test import Client

from chinhquyenso.catalog.models import RequiredDocument
from chinhquyenso.portal import idp, oidc

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def local_idp(db, monkeypatch):
    """The portal talks to the local provider through the Django test client instead of the
    network: the same requests, the same answers."""
    idp.ensure_local_client()
    provider = Client()

    def fetch(method, url, data=None, auth=None, **kw):
        path = urlsplit(url).path
        if method == "GET":
            resp = provider.get(path)
        else:
            basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            resp = provider.post(path, data, HTTP_AUTHORIZATION=f"Basic {basic}")
        assert resp.status_code == 200, resp.content[:500]
        return resp.json()

    monkeypatch.setattr(oidc, "fetch", fetch)
    oidc._discovery.cache_clear()
    yield
    oidc._discovery.cache_clear()


@pytest.fixture
def documents(procedure):
    RequiredDocument.objects.create(procedure=procedure, code="to_khai",
                                    name="Tờ khai đăng ký khai sinh", required=True)
    RequiredDocument.objects.create(procedure=procedure, code="uy_quyen",
                                    name="Văn bản ủy quyền", required=False)
    return procedure


@pytest.fixture
def web(people):
    """A browser-like client signed in as one of the people (None: anonymous)."""
    def as_user(name):
        c = Client()
        if name:
            c.force_login(people[name])
        return c
    return as_user
