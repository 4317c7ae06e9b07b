"""PAKN are limited per client address (each one counts in the service-quality index): the
public form and the API answer 429 with a Vietnamese message and Retry-After."""

from django.test import Client

from chinhquyenso.complaints.models import Complaint

BODY = {
    "category": "staff",
    "title": "Cán bộ hướng dẫn chưa rõ",
    "content": "Tôi phải đi lại ba lần vì mỗi lần được hướng dẫn một kiểu khác nhau.",
}


def _form(agency, **extra):
    return {**BODY, "agency": agency.code, "name": "Lê Văn Cường", "phone": "0912345678", **extra}


def test_anonymous_form_is_limited_per_address(agency, settings):
    settings.CQS_THROTTLE_COMPLAINTS = "3/1h"
    flood = Client(REMOTE_ADDR="203.0.113.5")
    codes = [flood.post("/phan-anh/", _form(agency)).status_code for _ in range(3)]
    assert codes == [302, 302, 302]
    r = flood.post("/phan-anh/", _form(agency))
    assert r.status_code == 429
    text = r.content.decode()
    assert "quá nhiều phản ánh, kiến nghị" in text and "Vui lòng thử lại sau" in text
    assert "Cán bộ hướng dẫn chưa rõ" in text  # the form keeps what was typed
    assert int(r["Retry-After"]) >= 1
    assert Complaint.objects.count() == 3
    # Someone else, at another address, is not affected.
    assert Client(REMOTE_ADDR="198.51.100.20").post("/phan-anh/", _form(agency)).status_code == 302


def test_refused_form_does_not_use_the_allowance(agency, settings):
    settings.CQS_THROTTLE_COMPLAINTS = "2/1h"
    c = Client(REMOTE_ADDR="203.0.113.6")
    for _ in range(3):  # no phone nor e-mail: refused by the rules, not counted
        assert c.post("/phan-anh/", {**BODY, "agency": agency.code}).status_code == 400
    assert [c.post("/phan-anh/", _form(agency)).status_code for _ in range(2)] == [302, 302]


def test_api_is_limited_for_citizens_not_for_the_desk(api, agency, settings):
    settings.CQS_THROTTLE_COMPLAINTS = "2/1h"
    citizen = api("citizen")
    body = {**BODY, "agency": agency.code}
    assert [citizen.post("/complaints", body).status_code for _ in range(2)] == [201, 201]
    r = citizen.post("/complaints", body)
    assert r.status_code == 429
    assert r["Content-Type"].startswith("application/problem+json")
    assert r.json()["status"] == 429 and "Vui lòng thử lại sau" in r.json()["detail"]
    assert int(r["Retry-After"]) >= 1
    # The receiver records PAKN received by phone: not limited (signed in, accountable).
    desk = api("receiver")
    phoned = {
        **body,
        "channel": "phone",
        "contact": {"name": "Lê Văn Cường", "phone": "0912345678"},
    }
    assert [desk.post("/complaints", phoned).status_code for _ in range(3)] == [201] * 3
