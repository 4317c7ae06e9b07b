import base64
import hashlib
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.test import Client
from joserfc import jwt
from joserfc.jwk import RSAKey

from chinhquyenso.catalog.models import RequiredDocument
from chinhquyenso.portal import idp, oidc

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


class Answering(requests.adapters.BaseAdapter):
    """A requests transport that answers every call of the portal to its provider from a
    function (method, path, headers, body) -> (status, bytes or JSON-able), without network."""

    def __init__(self, answer):
        super().__init__()
        self.answer = answer

    def send(self, request, **kwargs):
        status, body = self.answer(request)
        resp = requests.Response()
        resp.status_code = status
        resp._content = body if isinstance(body, bytes) else json.dumps(body).encode()
        resp.headers["Content-Type"] = "application/json"
        resp.url, resp.request, resp.encoding = request.url, request, "utf-8"
        return resp

    def close(self):
        pass


@pytest.fixture
def local_idp(db, monkeypatch):
    """The portal talks to the local provider through the Django test client instead of the
    network: the same requests, the same answers."""
    idp.ensure_local_client()
    provider = Client()

    def answer(request):
        url = urlsplit(request.url)
        path = url.path + (f"?{url.query}" if url.query else "")
        headers = {"Authorization": request.headers["Authorization"]} \
            if "Authorization" in request.headers else {}
        if request.method == "GET":
            resp = provider.get(path, headers=headers)
        else:
            resp = provider.generic(request.method, path, data=request.body or b"",
                                    content_type=request.headers.get("Content-Type", ""),
                                    headers=headers)
        return resp.status_code, resp.content

    monkeypatch.setattr(oidc, "TRANSPORT", Answering(answer))
    oidc.forget_provider()
    yield
    oidc.forget_provider()


DROP = object()  # a claim left out of a forged ID token


class ForgedProvider:
    """An identity provider forged in the test: its own RSA keys, discovery document and
    token endpoint, answering the portal through `Answering`. `sign_in(client, **claims)`
    runs the portal's whole flow and hands it an ID token with those claims (DROP removes
    one); `publish`, `sign_with`, `discovery` and `failure` change what it answers."""

    def __init__(self):
        self.issuer = settings.CQS_OIDC_ISSUER
        self.key = RSAKey.generate_key(2048, parameters={"kid": "key-1"})
        self.published = [self.key]
        self.signer = self.key
        self.discovery = {
            "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize/",
            "token_endpoint": f"{self.issuer}/token/",
            "jwks_uri": f"{self.issuer}/.well-known/jwks.json",
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        self.failure = None  # an exception raised, or "bad-json", instead of an answer
        self.calls = []
        self.claims = {}
        self.nonce = self.challenge = None

    def new_key(self, kid: str) -> RSAKey:
        return RSAKey.generate_key(2048, parameters={"kid": kid})

    def id_token(self, **claims) -> str:
        now = int(time.time())
        body = {"iss": self.issuer, "aud": settings.CQS_OIDC_CLIENT_ID, "sub": "chu-the-1",
                "exp": now + 300, "iat": now, "nonce": self.nonce, "name": "Nguyễn Văn An",
                "id_number": "001099012345"}
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not DROP}
        return jwt.encode({"alg": "RS256", "kid": self.signer.kid}, body, self.signer)

    def answer(self, request):
        path = urlsplit(request.url).path
        self.calls.append(path)
        if self.failure == "bad-json":
            return 200, b"<html>Bad gateway</html>"
        if self.failure is not None:
            raise self.failure
        if path.endswith("/.well-known/openid-configuration"):
            return 200, self.discovery
        if path.endswith("/jwks.json"):
            return 200, {"keys": [k.as_dict(private=False) for k in self.published]}
        if path.endswith("/token/"):
            form = parse_qs(request.body if isinstance(request.body, str)
                            else request.body.decode())
            verifier = form["code_verifier"][0]
            challenge = base64.urlsafe_b64encode(
                hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            basic = base64.b64encode(f"{settings.CQS_OIDC_CLIENT_ID}:"
                                     f"{settings.CQS_OIDC_CLIENT_SECRET}".encode()).decode()
            if challenge != self.challenge or request.headers.get("Authorization") != \
                    f"Basic {basic}":
                return 400, {"error": "invalid_grant"}
            return 200, {"access_token": "at", "token_type": "Bearer", "expires_in": 300,
                         "id_token": self.id_token(**self.claims)}
        return 404, {"error": "not_found"}

    def start(self, client):
        """The portal's redirect to the provider; remembers its nonce and challenge."""
        r = client.get("/dang-nhap/vneid?next=/ca-nhan/ho-so")
        if r.status_code != 302:
            return r, None
        q = parse_qs(urlsplit(r["Location"]).query)
        self.nonce, self.challenge = q["nonce"][0], q["code_challenge"][0]
        return r, q["state"][0]

    def sign_in(self, client, **claims):
        """The whole flow with an ID token carrying these claims; the callback's response."""
        r, state = self.start(client)
        if state is None:
            return r
        self.claims = claims
        return client.get(f"/dang-nhap/xac-thuc?code=the-code&state={state}")


@pytest.fixture
def forged_idp(db, monkeypatch):
    provider = ForgedProvider()
    monkeypatch.setattr(oidc, "TRANSPORT", Answering(provider.answer))
    oidc.forget_provider()
    yield provider
    oidc.forget_provider()


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
