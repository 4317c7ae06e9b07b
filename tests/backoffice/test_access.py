"""Every officer URL checks access on the server: anonymous → the officer login page,
a citizen → 403, an officer of another agency → 403/404 for the dossier pages, the right
officer → 200 (issue 4, Quality → Security)."""

import pytest


@pytest.fixture
def code(at_leader):
    return at_leader().code


# (url, the right person for it)
def pages(code, agency, procedure):
    return [
        ("/can-bo/", "receiver"),
        (f"/can-bo/ho-so/{code}", "specialist"),
        (f"/can-bo/ho-so/{code}/mau/01", "receiver"),
        ("/can-bo/tiep-nhan", "receiver"),
        ("/can-bo/phe-duyet", "leader"),
        ("/can-bo/quan-tri/", "admin"),
        ("/can-bo/quan-tri/can-bo", "admin"),
        ("/can-bo/quan-tri/co-quan", "province_admin"),
        (f"/can-bo/quan-tri/co-quan/{agency.pk}", "province_admin"),
        ("/can-bo/quan-tri/thu-tuc", "province_admin"),
        (f"/can-bo/quan-tri/thu-tuc/{procedure.code}", "province_admin"),
        ("/can-bo/quan-tri/lich", "province_admin"),
        ("/can-bo/bao-mat", "receiver"),
    ]


def test_anonymous_is_sent_to_the_officer_login(web, code, agency, procedure):
    for url, _ in pages(code, agency, procedure):
        r = web(None).get(url)
        assert r.status_code == 302, url
        assert r["Location"].startswith("/can-bo/dang-nhap?next="), url


def test_citizen_gets_403_everywhere(web, code, agency, procedure):
    for url, _ in pages(code, agency, procedure):
        assert web("citizen").get(url).status_code == 403, url


def test_the_right_officer_gets_200(web, code, agency, procedure):
    for url, who in pages(code, agency, procedure):
        assert web(who).get(url).status_code == 200, (url, who)


def test_officer_of_another_agency_cannot_open_the_dossier(web, code):
    c = web("other_specialist")
    for url in (f"/can-bo/ho-so/{code}", f"/can-bo/ho-so/{code}/mau/01"):
        assert c.get(url).status_code == 404, url
    r = web("other_leader").post(f"/can-bo/ho-so/{code}/thao-tac/approve")
    assert r.status_code == 404


def test_officer_of_another_agency_cannot_read_an_attachment(web, people, agency):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from chinhquyenso.dossiers import services

    from .conftest import PNG

    att = services.store_attachment(actor=people["citizen"],
                                    upload=SimpleUploadedFile("giay-chung-sinh.png", PNG))
    d = services.submit_dossier(
        actor=people["citizen"], procedure="1.001193", agency=agency.code,
        applicant={"full_name": "Nguyễn Văn An", "id_number": "001099012345"},
        form={"child_full_name": "Khôi", "child_birth_date": "2026-11-01", "child_sex": "Nam"},
        attachments=[str(att.pk)])
    url = f"/can-bo/ho-so/{d.code}/tep/{att.pk}"
    r = web("receiver").get(url)
    assert r.status_code == 200
    assert r["Content-Type"] == "image/png"
    assert r["Content-Disposition"].startswith("inline")
    assert b"".join(r.streaming_content) == PNG
    assert web("other_receiver").get(url).status_code == 404
    assert web("citizen2").get(url).status_code == 403
    assert web(None).get(url).status_code == 302


def test_wrong_roles_get_403(web):
    assert web("specialist").get("/can-bo/tiep-nhan").status_code == 403
    assert web("receiver").get("/can-bo/phe-duyet").status_code == 403
    assert web("leader").get("/can-bo/quan-tri/can-bo").status_code == 403
    assert web("admin").get("/can-bo/quan-tri/lich").status_code == 403
    assert web("monitor").get("/can-bo/").status_code == 403


def test_pages_send_the_content_security_policy(web):
    r = web("receiver").get("/can-bo/")
    assert "script-src 'self'" in r["Content-Security-Policy"]
    assert "unsafe-inline" not in r["Content-Security-Policy"]
