"""Administrative units from vietnam-provinces and agencies; users and tokens."""

import pytest
from django.core.management import CommandError, call_command

from chinhquyenso.directory.models import AdministrativeUnit, Agency, ApiToken, User
from chinhquyenso.directory.services import load_agencies, load_units, user_for_token


@pytest.mark.django_db
def test_hai_phong_has_114_commune_level_units_after_2025():
    """Nghị quyết sắp xếp 2025: Hải Phòng có 45 phường, 67 xã, 2 đặc khu."""
    root, count = load_units(province=31)
    assert root.name == "Thành phố Hải Phòng" and count == 114
    kinds = list(AdministrativeUnit.objects.filter(parent=root).values_list("kind", flat=True))
    assert (kinds.count("ward"), kinds.count("commune"), kinds.count("special_zone")) == (
        45, 67, 2)
    load_units(province=31)  # idempotent
    assert AdministrativeUnit.objects.count() == 115


@pytest.mark.django_db
def test_every_commune_gets_a_people_committee_and_codes_are_unique():
    load_units(province=31)
    load_agencies(province=31)
    communes = Agency.objects.filter(kind="commune")
    assert communes.count() == 114
    assert Agency.objects.filter(key="SO_TP").exists()
    assert Agency.objects.values("code").distinct().count() == Agency.objects.count()
    assert Agency.objects.filter(kind="service_centre").exists()


@pytest.mark.django_db
def test_any_province_code_works():
    root, count = load_units(province=1)  # Hà Nội
    assert count > 100
    load_agencies(province=1)
    assert Agency.objects.filter(kind="commune").count() == count


@pytest.mark.django_db
def test_cli_user_add_and_token_create_store_only_the_hash(capsys):
    load_units(province=31)
    load_agencies(province=31)
    call_command("user", "add", "--username", "tn", "--role", "receiver", "--agency", "SO_TP",
                 "--password", "mat-khau-dai-123")
    user = User.objects.get(username="tn")
    assert user.agency.key == "SO_TP" and user.check_password("mat-khau-dai-123")
    capsys.readouterr()
    call_command("token", "create", "--user", "tn")
    token = capsys.readouterr().out.strip()
    assert token.startswith("cqs_")
    assert not ApiToken.objects.filter(digest=token).exists()
    assert user_for_token(token) == user


@pytest.mark.django_db
def test_cli_rejects_an_unknown_role_and_an_officer_without_agency():
    with pytest.raises(CommandError, match="không hợp lệ"):
        call_command("user", "add", "--username", "x", "--role", "king")
    with pytest.raises(CommandError, match="cơ quan"):
        call_command("user", "add", "--username", "x", "--role", "specialist")


@pytest.mark.django_db
def test_agencies_api_tells_where_to_submit(client):
    """Each commune People's Committee receives at its commune centre (Decree 118/2025
    Art. 7); departments at the city's centre (Art. 8)."""
    load_units(province=31)
    load_agencies(province=31)
    r = client.get("/api/v1/agencies", {"q": "hong bang"})
    assert r.status_code == 200
    item = r.json()["items"][0]
    assert item["name"] == "Ủy ban nhân dân phường Hồng Bàng"
    assert item["service_point"] == "Trung tâm Phục vụ hành chính công phường Hồng Bàng"
    assert item["code_is_placeholder"] is True
    so_tp = client.get("/api/v1/agencies", {"q": "so tu phap"}).json()["items"][0]
    assert so_tp["service_point"].startswith("Trung tâm Phục vụ hành chính công thành phố")
    assert client.get("/api/v1/agencies", {"page": 0}).status_code == 422


@pytest.mark.django_db
def test_cqs_init_is_idempotent(capsys):
    from django.core.management import call_command

    from chinhquyenso.catalog.models import Procedure

    call_command("init", "--province", "31")
    counts = (AdministrativeUnit.objects.count(), Agency.objects.count(),
              Procedure.objects.count())
    call_command("init", "--province", "31")
    assert (AdministrativeUnit.objects.count(), Agency.objects.count(),
            Procedure.objects.count()) == counts
    assert counts[0] == 115 and counts[2] >= 40
    assert "114 đơn vị cấp xã" in capsys.readouterr().out
