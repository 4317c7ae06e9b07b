"""Officers reading a citizen's personal data are recorded (Decree 13/2023/NĐ-CP), so that
the citizen can later be shown who read it; the citizen's own reading is not."""

from django.core.files.uploadedfile import SimpleUploadedFile

from chinhquyenso.core.audit import accesses_to, record_access
from chinhquyenso.core.models import AccessRecord
from chinhquyenso.dossiers import services

from .conftest import PNG


def _with_file(people, agency):
    att = services.store_attachment(actor=people["citizen"],
                                    upload=SimpleUploadedFile("giay-chung-sinh.png", PNG))
    d = services.submit_dossier(
        actor=people["citizen"], procedure="1.001193", agency=agency.code,
        applicant={"full_name": "Nguyễn Văn An", "id_number": "001099012345"},
        form={"child_full_name": "Khôi", "child_birth_date": "2026-11-01", "child_sex": "Nam"},
        attachments=[str(att.pk)])
    return d, att


def test_officer_opening_the_dossier_page_is_recorded(web, submit, people):
    d = submit()
    assert web("receiver").get(f"/can-bo/ho-so/{d.code}").status_code == 200
    [entry] = accesses_to(people["citizen"])
    assert entry.actor == people["receiver"] and entry.what == "dossier.view"
    assert entry.target_id == d.code
    assert entry.at.isoformat().startswith("2026-11-25T")


def test_officer_downloading_a_file_and_a_form_is_recorded(web, people, agency):
    d, att = _with_file(people, agency)
    d = services.receive_dossier(actor=people["receiver"], dossier=d)  # Mẫu 01: the receipt
    r = web("receiver").get(f"/can-bo/ho-so/{d.code}/tep/{att.pk}")
    assert r.status_code == 200
    assert web("receiver").get(f"/can-bo/ho-so/{d.code}/mau/01").status_code == 200
    got = {(e.what, e.detail) for e in accesses_to(people["citizen"])}
    assert got == {("file.download", "giay-chung-sinh.png"), ("form.pdf", "Mẫu 01")}


def test_officer_reading_through_the_api_is_recorded(api, submit, people):
    d = submit()
    assert api("receiver").get(f"/dossiers/{d.code}").status_code == 200
    assert [(e.actor, e.what) for e in accesses_to(people["citizen"])] == [
        (people["receiver"], "api.dossier")]


def test_the_citizens_own_reading_is_not_recorded(api, submit, people):
    d = services.receive_dossier(actor=people["receiver"], dossier=submit())
    assert api("citizen").get(f"/dossiers/{d.code}").status_code == 200
    assert api("citizen").get(f"/dossiers/{d.code}/forms/01").status_code == 200
    assert not AccessRecord.objects.exists()


def test_refused_reading_is_not_recorded(web, submit, people):
    d = submit()
    assert web("other_receiver").get(f"/can-bo/ho-so/{d.code}").status_code == 404
    assert not AccessRecord.objects.exists()


def test_accesses_are_found_by_identity_number_for_desk_dossiers(people, submit):
    """A dossier filed at the desk has no account: the identity number finds it."""
    d = submit()
    record_access(actor=people["receiver"], target=d, what="dossier.view",
                  citizen_id_number="001099012345")
    record_access(actor=people["specialist"], target=d, what="dossier.view",
                  citizen=people["citizen2"])
    assert [e.actor for e in accesses_to(people["citizen"])] == [people["receiver"]]
    assert [e.actor for e in accesses_to(people["citizen2"])] == [people["specialist"]]
