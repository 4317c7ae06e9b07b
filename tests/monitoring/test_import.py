"""`cqs dossiers import FILE.jsonl`: all or nothing, bad lines by number and reason, and the
imported dossiers count in the index like native ones."""

import json

import pytest
from django.core.management import call_command

from chinhquyenso.dossiers.importer import import_dossiers
from chinhquyenso.dossiers.models import Dossier, DossierSequence
from chinhquyenso.monitoring import queries, services


def line(agency, **kw):
    row = {"code": "OLD-0001", "procedure": "1.001193", "agency": agency.code,
           "channel": "online", "submitted_at": "2026-10-05T08:00:00",
           "received_at": "2026-10-05T08:30:00", "due_at": "2026-10-09T08:30:00",
           "finished_at": "2026-10-08T10:00:00", "returned_at": "2026-10-08T15:00:00",
           "status": 10, "supplements": [], "fee": 0, "paid_online": False,
           "digitised": True, "electronic_result": True, "reused_data": False,
           "rating": "satisfied"}
    row.update(kw)
    return json.dumps(row, ensure_ascii=False)


def test_bad_lines_are_reported_and_nothing_is_imported(agency, procedure, tmp_path,
                                                        capsys):
    lines = [
        line(agency, code="A1"),
        "{không phải json",
        line(agency, code="A1"),
        line(agency, code="A3", procedure="9.999999"),
        line(agency, code="A4", status=11),
        line(agency, code="A5", received_at="2026-10-04T08:00:00"),
        line(agency, code="A6", status=5, finished_at=None, returned_at=None, rating=None,
             supplements=[{"requested_at": "2026-10-06T09:00:00", "completed_at": None}]),
        line(agency, code="A7", extra=1),
    ]
    f = tmp_path / "old.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        call_command("dossiers", "import", str(f))
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "Dòng 2: không phải JSON hợp lệ" in err
    assert "Dòng 3: mã hồ sơ «A1» lặp lại trong tệp" in err
    assert "Dòng 4: không có thủ tục mã «9.999999»" in err
    assert "Dòng 5: «status» phải là mã trạng thái 1–10" in err
    assert "Dòng 6: ngày tiếp nhận trước ngày nộp" in err
    assert "Dòng 7" not in err  # a dossier waiting for its supplement is valid
    assert "Dòng 8: trường không được hỗ trợ: extra" in err
    assert "Có 6 dòng lỗi trên 8 dòng; không nhập hồ sơ nào." in err
    assert Dossier.objects.count() == 0


def test_imported_dossiers_count_like_native_ones(agency, procedure, tmp_path, capsys):
    """Three October dossiers: on time; late (finished 14/10, due 9/10); a supplement
    7/10 08:30 → 8/10 08:30 (one working day, 450 min) moves the due date from 9/10 08:30
    to 12/10 08:30 (Mon), so finishing on 12/10 08:00 is on time. 2.1 = 2/3 → 13.33."""
    lines = [
        line(agency, code=f"{agency.code}-261005-0007"),
        line(agency, code="OLD-2", finished_at="2026-10-14T10:00:00",
             returned_at="2026-10-14T11:00:00", rating=None),
        line(agency, code="OLD-3", finished_at="2026-10-12T08:00:00",
             returned_at="2026-10-12T09:00:00", rating=None,
             supplements=[{"requested_at": "2026-10-07T08:30:00",
                           "completed_at": "2026-10-08T08:30:00"}]),
    ]
    f = tmp_path / "old.jsonl"
    f.write_text("\n".join(lines), encoding="utf-8")
    call_command("dossiers", "import", str(f))
    assert "Đã nhập 3 hồ sơ" in capsys.readouterr().out
    d3 = Dossier.objects.get(code="OLD-3")
    assert d3.paused_minutes == 450 and d3.supplement_count == 1
    assert d3.due_at.isoformat() == "2026-10-12T01:30:00+00:00"
    # the platform-shaped code reserved its ordinal for that agency and day
    assert DossierSequence.objects.get(agency=agency).last == 7
    services.refresh()
    idx = queries.index_for(queries.get_unit(agency.code), queries.get_period("2026-10"))
    ind = {i["code"]: i for g in idx["groups"] for i in g["indicators"]}
    assert (ind["2.1"]["numerator"], ind["2.1"]["denominator"], ind["2.1"]["score"]) == \
        (2, 3, 13.33)
    assert services.verify()[0] == []


def test_importing_the_same_file_twice_is_refused(agency, procedure):
    assert import_dossiers([line(agency)]).imported == 1
    again = import_dossiers([line(agency)])
    assert again.errors == [(1, "mã hồ sơ «OLD-0001» đã có trong hệ thống")]
