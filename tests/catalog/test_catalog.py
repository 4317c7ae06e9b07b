"""Catalogue: loading a file (all or nothing) and search that ignores diacritics."""

import json
from decimal import Decimal

import pytest

from chinhquyenso.catalog.models import Procedure
from chinhquyenso.catalog.queries import search_procedures
from chinhquyenso.catalog.services import DEFAULT_CATALOG, form_schema, load_catalog
from chinhquyenso.core.errors import ValidationFailed

STEPS = [{"name": "Tiếp nhận hồ sơ", "role": "receiver", "share": 0.2},
         {"name": "Thẩm định", "role": "specialist", "share": 0.6},
         {"name": "Trả kết quả", "role": "receiver", "share": 0.2}]


def catalog(*names, **extra):
    procs = [{"code": f"1.00{i}", "name": n, "field": "HT", "level": "commune",
              "agency": "COMMUNE", "working_days": 3, "steps": STEPS, "online_mode": "full",
              "form": [{"name": "ho_ten", "label": "Họ tên", "type": "string",
                        "required": True}], **extra}
             for i, n in enumerate(names)]
    return {"version": 1, "fields": [{"code": "HT", "name": "Hộ tịch"}], "procedures": procs}


@pytest.fixture
def loaded(db, tmp_path):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(catalog(
        "Đăng ký khai sinh có yếu tố nước ngoài",
        "Thủ tục đăng ký lại khai sinh",
        "Thủ tục đăng ký khai sinh",
        "Thủ tục đăng ký kết hôn",
        "Cấp bản sao trích lục hộ tịch",
    )), encoding="utf-8")
    load_catalog(path=path)
    return path


def test_search_without_diacritics_finds_and_ranks_the_best_match_first(loaded):
    found = [p.name for p in search_procedures("dang ky khai sinh")]
    assert found[0] == "Thủ tục đăng ký khai sinh"
    assert set(found) == {"Thủ tục đăng ký khai sinh", "Thủ tục đăng ký lại khai sinh",
                          "Đăng ký khai sinh có yếu tố nước ngoài"}
    assert [p.name for p in search_procedures("ĐĂNG KÝ KẾT HÔN")] == ["Thủ tục đăng ký kết hôn"]
    assert search_procedures("trich luc")[0].name == "Cấp bản sao trích lục hộ tịch"


def test_reload_updates_instead_of_duplicating(loaded):
    load_catalog(path=loaded)
    assert Procedure.objects.count() == 5


def test_a_bad_file_writes_nothing_and_names_every_error(db, tmp_path):
    spec = catalog("Thủ tục A", "Thủ tục B")
    spec["procedures"][1]["steps"] = [{"name": "x", "role": "receiver", "share": 0.5}]
    spec["procedures"][1]["level"] = "district"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        load_catalog(path=path)
    assert "tổng tỷ lệ" in err.value.detail and "province hoặc commune" in err.value.detail
    assert Procedure.objects.count() == 0


def test_form_schema_is_json_schema_with_required(loaded):
    schema = form_schema(Procedure.objects.get(name="Thủ tục đăng ký khai sinh"))
    assert schema["type"] == "object" and schema["required"] == ["ho_ten"]
    assert schema["properties"]["ho_ten"]["type"] == "string"


@pytest.mark.django_db
def test_reference_catalogue_has_40_real_procedures_with_sources():
    spec = json.loads(DEFAULT_CATALOG.read_text(encoding="utf-8"))
    procs = spec["procedures"]
    assert len(procs) >= 40
    assert all(p.get("source") for p in procs)
    for p in procs:
        total = sum(Decimal(str(s["share"])) for s in p["steps"])
        assert abs(total - 1) < Decimal("0.0001"), p["code"]


def test_procedure_api_search_and_detail(loaded, client):
    r = client.get("/api/v1/procedures", {"q": "dang ky khai sinh"})
    assert r.status_code == 200
    assert r.json()["items"][0]["name"] == "Thủ tục đăng ký khai sinh"
    code = r.json()["items"][0]["code"]
    detail = client.get(f"/api/v1/procedures/{code}").json()
    assert detail["form_schema"]["required"] == ["ho_ten"]
    assert client.get("/api/v1/procedures/khong-co").status_code == 404
    assert client.get("/api/v1/procedures", {"level": "huyen"}).status_code == 422


CSV_HEAD = ("code,name,field_code,field_name,level,agency,working_days,fee,online_mode,"
            "legal_basis,documents,steps,source\n")


def test_csv_creates_a_procedure_and_updates_one_keeping_its_steps_and_form(loaded, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        CSV_HEAD
        + '1.002,Thủ tục đăng ký khai sinh,HT,Hộ tịch,commune,COMMUNE,1,8000,full,,,,'
        + 'QĐ (mẫu)\n'
        + '9.999,Thủ tục thử nghiệm CSV,TN,Thử nghiệm,province,SO_TP,2.5,0,partial,'
        + '"Luật A; Nghị định B","Tờ khai; Bản sao CCCD",'
        + '"Tiếp nhận=receiver=0.1; Thẩm định=specialist=0.7; Ký=leader=0.1; '
        + 'Trả kết quả=receiver=0.1",https://example.vn\n',
        encoding="utf-8")
    assert load_catalog(path=path) == 2
    updated = Procedure.objects.get(code="1.002")
    assert (updated.working_days, updated.fee) == (Decimal("1"), 8000)
    assert updated.steps.count() == 3 and updated.form[0]["name"] == "ho_ten"
    new = Procedure.objects.get(code="9.999")
    assert [d.name for d in new.documents.all()] == ["Tờ khai", "Bản sao CCCD"]
    assert new.legal_basis == ["Luật A", "Nghị định B"] and new.steps.count() == 4


def test_csv_with_errors_writes_nothing(loaded, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(CSV_HEAD + "1.002,X,HT,Hộ tịch,commune,COMMUNE,một,0,full,,,,\n"
                    + "8.888,Mới,HT,Hộ tịch,commune,COMMUNE,3,0,full,,,,\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        load_catalog(path=path)
    assert "dòng 2" in err.value.detail and "dòng 3" in err.value.detail
    assert Procedure.objects.get(code="1.002").name == "Thủ tục đăng ký khai sinh"
    assert not Procedure.objects.filter(code="8.888").exists()
    (tmp_path / "cols.csv").write_text("code,name\n1,x\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="thiếu cột"):
        load_catalog(path=tmp_path / "cols.csv")
