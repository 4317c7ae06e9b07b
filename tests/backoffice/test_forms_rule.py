"""One rule for the forms of a dossier and for paying its fee (issue 11 §1): the citizen portal,
the back office and the API list and serve the same forms to the same person (the applicant
gets Mẫu 01–05, issued to them; officers also Mẫu 06, the process-control sheet), and the
portal offers payment exactly when the payment order may be made."""

import re

from chinhquyenso.dossiers import documents, services
from chinhquyenso.dossiers.models import Action


def _listed(html: str, pattern: str) -> set[str]:
    return set(re.findall(pattern, html))


def test_the_same_forms_for_the_same_person_everywhere(web, api, submit, people):
    d = submit()
    d = services.receive_dossier(actor=people["receiver"], dossier=d)
    portal = web("citizen").get(f"/ca-nhan/ho-so/{d.code}").content.decode()
    desk = web("receiver").get(f"/can-bo/ho-so/{d.code}").content.decode()
    citizen_forms = _listed(portal, rf"/ca-nhan/ho-so/{d.code}/mau-(\d\d)\.pdf")
    officer_forms = _listed(desk, rf"/can-bo/ho-so/{d.code}/mau/(\d\d)")
    assert citizen_forms == {n for n, _ in documents.forms_for(people["citizen"], d)} == {"01"}
    assert officer_forms == {n for n, _ in documents.forms_for(people["receiver"], d)}
    assert officer_forms == {"01", "06"}
    # Each listed form downloads; the process-control sheet is refused to the applicant on
    # every channel, the API included (it used to serve it).
    for n in citizen_forms:
        assert web("citizen").get(f"/ca-nhan/ho-so/{d.code}/mau-{n}.pdf").status_code == 200
        assert api("citizen").get(f"/dossiers/{d.code}/forms/{n}").status_code == 200
    assert web("citizen").get(f"/ca-nhan/ho-so/{d.code}/mau-06.pdf").status_code == 404
    r = api("citizen").get(f"/dossiers/{d.code}/forms/06")
    assert r.status_code == 403 and "nội bộ" in r.json()["detail"]
    assert api("receiver").get(f"/dossiers/{d.code}/forms/06").status_code == 200


def test_the_stop_notice_follows_a_withdrawal_on_every_channel(web, api, submit, people):
    d = submit()
    d = services.receive_dossier(actor=people["receiver"], dossier=d)
    assert api("citizen").get(f"/dossiers/{d.code}/forms/05").status_code == 409
    d = services.withdraw_dossier(actor=people["citizen"], dossier=d, note="Không cần nữa")
    portal = web("citizen").get(f"/ca-nhan/ho-so/{d.code}").content.decode()
    assert "05" in _listed(portal, rf"/ca-nhan/ho-so/{d.code}/mau-(\d\d)\.pdf")
    assert api("citizen").get(f"/dossiers/{d.code}/forms/05").status_code == 200


def test_payment_is_offered_exactly_when_it_may_be_made(web, api, submit, people, procedure):
    procedure.fee = 50_000
    procedure.save()
    d = submit()
    page = web("citizen").get(f"/ca-nhan/ho-so/{d.code}").content.decode()
    assert services.fee_unpayable(d) is None
    assert f"/ca-nhan/ho-so/{d.code}/thanh-toan" in page
    d = services.withdraw_dossier(actor=people["citizen"], dossier=d, note="Nộp nhầm")
    why = services.fee_unpayable(d)
    assert why == "Hồ sơ ở trạng thái «Công dân yêu cầu rút hồ sơ», không thanh toán."
    r = api("citizen").post(f"/dossiers/{d.code}/payments")
    assert r.status_code == 409 and r.json()["detail"] == why
    page = web("citizen").get(f"/ca-nhan/ho-so/{d.code}").content.decode()
    assert f"/ca-nhan/ho-so/{d.code}/thanh-toan" not in page


def test_one_name_for_each_action_on_every_screen(web, api, submit, people):
    """The desk's button, its confirmation, the officer's and the citizen's history and the
    API's history name an action the same way (dossiers.models.Action)."""
    d = submit()
    desk = web("receiver")
    page = desk.get(f"/can-bo/ho-so/{d.code}").content.decode()
    assert Action.RECEIVE.label in page  # the button
    r = desk.post(f"/can-bo/ho-so/{d.code}/thao-tac/receive", follow=True)
    body = r.content.decode()
    assert f"Đã tiếp nhận hồ sơ {d.code}." in body
    assert "Tiếp nhận hồ sơ →" in body  # the officer's history
    assert "Tiếp nhận hồ sơ" in web("citizen").get(f"/ca-nhan/ho-so/{d.code}").content.decode()
    events = api("citizen").get(f"/dossiers/{d.code}").json()["events"]
    assert [(e["action"], e["action_name"]) for e in events] == [
        ("submit", "Nộp hồ sơ"),
        ("receive", "Tiếp nhận hồ sơ"),
    ]
    assert Action.REJECT.done == "Đã dừng giải quyết hồ sơ"
    assert Action.label_of("khong-co") == "khong-co"


def test_the_actions_offered_are_the_actions_accepted(web, api, submit, people):
    """The back office's buttons, the portal's and the API's `actions` come from one
    function (dossiers.services.allowed_actions), whose checks the actions themselves run:
    what is not offered is refused, and what is offered is accepted."""
    d = submit()
    assert api("receiver").get(f"/dossiers/{d.code}").json()["actions"] == [
        "receive",
        "refuse",
        "request-supplement",
    ]
    desk = web("receiver").get(f"/can-bo/ho-so/{d.code}").content.decode()
    assert set(re.findall(rf"/can-bo/ho-so/{d.code}/thao-tac/([a-z-]+)", desk)) == {
        "receive",
        "refuse",
        "request-supplement",
    }
    assert api("citizen").get(f"/dossiers/{d.code}").json()["actions"] == ["withdraw"]
    d = services.receive_dossier(actor=people["receiver"], dossier=d)  # at the specialist's step
    assert api("specialist").get(f"/dossiers/{d.code}").json()["actions"] == [
        "request-supplement",
        "forward",
    ]
    assert "reject" not in api("leader").get(f"/dossiers/{d.code}").json()["actions"]
    r = api("leader").post(f"/dossiers/{d.code}/actions/reject", {"note": "Không đủ điều kiện"})
    assert r.status_code == 409
    r = api("specialist").post(f"/dossiers/{d.code}/actions/forward", {"note": "Đủ điều kiện"})
    assert r.status_code == 200 and r.json()["actions"] == ["request-supplement"]
    assert api("leader").get(f"/dossiers/{d.code}").json()["actions"] == [
        "approve",
        "reject",
        "extend",
    ]
    r = api("leader").post(f"/dossiers/{d.code}/actions/reject", {"note": "Không đủ điều kiện"})
    assert r.status_code == 200 and r.json()["status_name"] == "Dừng xử lý"
