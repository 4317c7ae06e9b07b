"""The rules of the service-quality index (Bộ chỉ số 766), one pure function per indicator.

Source of every rule: ../shared/research/766-index.md (the portal's behaviour, "[API]", wins
where the documents differ: §7). Decision 766/QĐ-TTg (23/6/2022) itself only names the five
groups; the points, conversions and zero-denominator behaviour below are what
dichvucong.gov.vn computes on its 2026 platform (research note §2, S4 reverse engineering
of 984–2,124 API observations). A change of the rules is a change of one function here.

Nothing in this module touches the database: every function takes counts and returns a
`Score`. The per-dossier judgement (`judge`) is here too, so the incremental aggregates,
the full recomputation (`cqs monitoring verify`) and the drill-down all use the same rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

# --- conversion rules --------------------------------------------------------------------

# What the portal gives when the denominator is 0 (research note §7.2).
ZERO_POINTS = "zero"  # 0 points (progress, 5.4, payment, sync)
ZERO_FULL = "full"  # full points (PAKN 5.2 and 5.3)
ZERO_NULL = "null"  # score null: not scored, adds nothing (1.1, 1.2, digitisation)


@dataclass(frozen=True)
class Score:
    code: str
    max: float
    numerator: int | None
    denominator: int | None
    ratio: float | None  # percent, 2 decimals
    score: float | None  # points, 2 decimals (None = not scored, counts as 0)
    rule: str  # the conversion, in Vietnamese, for the screen

    @property
    def points(self) -> float:
        return self.score or 0.0


def _ratio(num: int, den: int) -> float:
    return 100.0 * num / den


def linear(code: str, num: int, den: int, max_: float, zero: str) -> Score:
    """points = P × R / 100 (research note §2, "Linear")."""
    rule = f"Tuyến tính: {fmt(max_)} × tỷ lệ"
    if not den:
        return _zero(code, num, den, max_, zero, rule)
    r = _ratio(num, den)
    return Score(code, max_, num, den, round(r, 2), round(max_ * r / 100, 2), rule)


def threshold(code: str, num: int, den: int, max_: float, t: float, zero: str) -> Score:
    """points = P if R ≥ T, else P × R / T (research note §2, "Threshold T")."""
    rule = f"Đạt {fmt(t)}% trở lên: {fmt(max_)} điểm; dưới đó: {fmt(max_)} × tỷ lệ / {fmt(t)}%"
    if not den:
        return _zero(code, num, den, max_, zero, rule)
    r = _ratio(num, den)
    pts = max_ if r >= t else max_ * r / t
    return Score(code, max_, num, den, round(r, 2), round(pts, 2), rule)


def _zero(code, num, den, max_, zero, rule) -> Score:
    if zero == ZERO_FULL:
        return Score(code, max_, num, den, None, max_, rule + "; không phát sinh: tối đa")
    if zero == ZERO_NULL:
        return Score(code, max_, num, den, None, None, rule + "; không phát sinh: không chấm")
    return Score(code, max_, num, den, 0.0, 0.0, rule + "; không phát sinh: 0 điểm")


def fmt(x: float) -> str:
    """12 → "12", 0.5 → "0,5" (Vietnamese decimal comma)."""
    return (f"{x:g}").replace(".", ",")


def needed_for_full(s: Score, threshold_pct: float | None = None) -> int | None:
    """How many more numerator items give full points, the denominator unchanged
    (None when the indicator cannot be raised by more items: 0 points max, no data)."""
    if not s.max or s.denominator in (None, 0) or s.numerator is None:
        return None
    target = s.denominator if threshold_pct is None else math.ceil(
        threshold_pct * s.denominator / 100 - 1e-9)
    return max(0, target - s.numerator)


# --- group 1: Công khai, minh bạch (18) -----------------------------------------------------


def i1_1(num: int, den: int) -> Score:
    """1.1 TTHC công bố đúng hạn (PUBLISH_ON_TIME): 6 points, linear; denominator 0 → null
    [API: 2,124 transparency observations; Phú Thọ 08/2026 shows null]."""
    return linear("1.1", num, den, 6, ZERO_NULL)


def i1_2(num: int, den: int) -> Score:
    """1.2 TTHC cập nhật, công khai đúng hạn (PUBLIC_UPDATE_ON_TIME): 4 points, linear,
    denominator 0 → null [API; S3 confirms the 4 points]."""
    return linear("1.2", num, den, 4, ZERO_NULL)


def i1_3(num: int, den: int) -> Score:
    """1.3 TTHC công khai đầy đủ nội dung (PUBLIC_CONTENT_FULL): 2 points, linear; not
    time-bound; children show the province value [DOC][API]."""
    return linear("1.3", num, den, 2, ZERO_NULL)


def i1_4(num: int, den: int) -> Score:
    """1.4 Hồ sơ đồng bộ lên Cổng DVCQG (DOSSIER_SYNC): 6 points, linear; numerator synced
    dossiers received in the period, denominator dossiers received in the period [DOC].
    With no dossiers the ratio is 0 (the previous-year fallback of the docx only changes a
    denominator whose numerator is then 0 as well)."""
    return linear("1.4", num, den, 6, ZERO_POINTS)


# --- group 2: Tiến độ, kết quả giải quyết (20) ----------------------------------------------


def i2_1(on_time: int, received: int) -> Score:
    """2.1 Hồ sơ xử lý trước hạn, đúng hạn: 20 × totalOnTime / totalReceived, no threshold;
    totalReceived 0 → 0 points [API, 984 observations; 486/588 → 16.53]."""
    return linear("2.1", on_time, received, 20, ZERO_POINTS)


def i2_2(total_minutes: int, completed: int) -> Score:
    """2.2 Thời gian giải quyết trung bình: 0 points (monitoring only) [API]. `ratio` holds
    the average in days (calendar time from receipt to the end of processing)."""
    avg = round(total_minutes / completed / 1440, 2) if completed else None
    return Score("2.2", 0, total_minutes, completed, avg, 0.0,
                 "Chỉ theo dõi, không tính điểm (đơn vị: ngày)")


# --- group 3: Cung cấp dịch vụ trực tuyến (22 = DVCTT 12 + thanh toán 10) --------------------


def i3_1(online_procedures: int, procedures: int) -> Score:
    """3.1 TTHC cung cấp DVCTT (một phần + toàn trình) / TTHC thuộc thẩm quyền: 2 points,
    ≥ 80 % → max [DOC threshold; max fitted by S4 "qd766-online-v1", checked on Phú Thọ]."""
    return threshold("3.1", online_procedures, procedures, 2, 80, ZERO_POINTS)


def i3_2(services_used: int, services: int) -> Score:
    """3.2 DVCTT có phát sinh hồ sơ / tổng DVCTT: 4 points, linear (fitted) [S4]."""
    return linear("3.2", services_used, services, 4, ZERO_POINTS)


def i3_3(online_ok: int, received: int, sync_ratio: float) -> Score:
    """3.3 Hồ sơ trực tuyến (kênh 2, with an electronic result when the TTHC gives a paper
    result) / hồ sơ tiếp nhận, × tỷ lệ đồng bộ; 6 points, ≥ 50 % → max [DOC]. The ratio
    shown is the online share after the sync factor."""
    rule = "Tỷ lệ trực tuyến × tỷ lệ đồng bộ; đạt 50% trở lên: 6 điểm; dưới đó: 6 × tỷ lệ / 50%"
    if not received:
        return Score("3.3", 6, online_ok, received, 0.0, 0.0, rule + "; không phát sinh: 0 điểm")
    r = _ratio(online_ok, received) * sync_ratio
    pts = 6 if r >= 50 else 6 * r / 50
    return Score("3.3", 6, online_ok, received, round(r, 2), round(pts, 2), rule)


def i3_5a(procedures_with_fee_dossiers: int, procedures_with_fee: int) -> Score:
    """3.5a TTHC có nghĩa vụ tài chính được tích hợp thanh toán: C = totalFeeDossierFormality
    / totalFeeFormality; 2 points, ≥ 80 % → 2 [S4, 984 observations]."""
    return threshold("3.5a", procedures_with_fee_dossiers, procedures_with_fee, 2, 80,
                     ZERO_POINTS)


def i3_5b(procedures_paid_online: int, procedures_with_fee_dossiers: int) -> Score:
    """3.5b TTHC có giao dịch thanh toán trực tuyến: B = …PaymentSuccess / …Distinct;
    2 points, ≥ 80 % → 2 [S4]."""
    return threshold("3.5b", procedures_paid_online, procedures_with_fee_dossiers, 2, 80,
                     ZERO_POINTS)


def i3_6(paid_online: int, fee_dossiers: int) -> Score:
    """3.6 Hồ sơ thanh toán trực tuyến / hồ sơ có nghĩa vụ tài chính (fee > 0): 6 points,
    linear; denominator 0 → 0 [S4; API]."""
    return linear("3.6", paid_online, fee_dossiers, 6, ZERO_POINTS)


# --- group 4: Số hóa hồ sơ (22) ---------------------------------------------------------------


def i4_1(eresult: int, paper_dossiers: int) -> Score:
    """4.1 Hồ sơ có kết quả điện tử (TTHC có kết quả giấy): 6 points, linear
    (ORIGINAL_RESULT_AVAILABLE) [API maxScore, S4 fit]."""
    return linear("4.1", eresult, paper_dossiers, 6, ZERO_NULL)


def i4_2(digitised: int, received: int) -> Score:
    """4.2 Hồ sơ số hóa (files attached and, for a paper-result TTHC, an electronic result):
    4 points, linear — the API is linear although the docx says ≥ 80 % (80.06 % → 3.20)."""
    return linear("4.2", digitised, received, 4, ZERO_NULL)


def i4_3(reused: int, received: int) -> Score:
    """4.3 Hồ sơ khai thác, sử dụng lại dữ liệu số hóa: 2 points, ≥ 80 % → 2 (verified)."""
    return threshold("4.3", reused, received, 2, 80, ZERO_NULL)


def i4_4(from_store: int, received: int) -> Score:
    """4.4 Hồ sơ lấy thành phần từ kho dữ liệu cá nhân trên Cổng DVCQG: 4 points, presumed
    linear (all observations 0)."""
    return linear("4.4", from_store, received, 4, ZERO_NULL)


def i4_5a(procedures_connected: int, procedures_for_individuals: int) -> Score:
    """4.5a TTHC kết nối dữ liệu dân cư: 2 points, linear; province level [XLSX]."""
    return linear("4.5a", procedures_connected, procedures_for_individuals, 2, ZERO_NULL)


def i4_5b(dossiers_connected: int, received: int) -> Score:
    """4.5b Hồ sơ sử dụng dữ liệu dân cư: 2 points, linear; province level [XLSX]."""
    return linear("4.5b", dossiers_connected, received, 2, ZERO_NULL)


def i4_6() -> Score:
    """Chứng thực bản sao điện tử (ELECTRONIC_CERTIFIED_COPY): 2 points; the 2026 API returns
    ratio 100 → 2 for every unit with numerator and denominator null (granted)."""
    return Score("4.6", 2, None, None, 100.0, 2.0, "Cổng DVCQG đang mặc định 2 điểm (2026)")


# --- group 5: Mức độ hài lòng (18) ------------------------------------------------------------


def i5_1(about_procedures: int, total: int) -> Score:
    """5.1 PAKN theo phân loại: 0 points, monitoring only [API]."""
    r = round(_ratio(about_procedures, total), 2) if total else None
    return Score("5.1", 0, about_procedures, total, r, 0.0, "Chỉ theo dõi, không tính điểm")


def i5_2(on_time: int, total: int) -> Score:
    """5.2 PAKN xử lý đúng hạn: 6 points, linear; no PAKN → 6 [API; the xlsx "split
    evenly" rule is not what the API does]."""
    return linear("5.2", on_time, total, 6, ZERO_FULL)


def i5_3(satisfied: int, total: int) -> Score:
    """5.3 Hài lòng trong xử lý PAKN = (total − unsatisfied − followed up − late) / total:
    6 points, linear; no PAKN → 6 [API]."""
    return linear("5.3", satisfied, total, 6, ZERO_FULL)


def i5_4(satisfied: int, received: int) -> Score:
    """5.4 Hài lòng trong tiếp nhận, giải quyết TTHC = (received − unsatisfied, or with a
    PAKN, or late) / received: ≥ 90 % → 6, else 6 × R / 90; denominator 0 → 0 [API,
    verified; 90 % is the Nghị quyết 76/NQ-CP target]."""
    return threshold("5.4", satisfied, received, 6, 90, ZERO_POINTS)


# Thresholds by indicator, for "what it would take" (None = linear: every item counts).
THRESHOLDS = {"3.1": 80, "3.3": 50, "3.5a": 80, "3.5b": 80, "4.3": 80, "5.4": 90}


# --- the dossier's verdict (đúng hạn / trễ hạn) ---------------------------------------------

ON_TIME, LATE, PENDING = "on_time", "late", "pending"
FINISHED, RETURNED = 9, 10
WAITING_SUPPLEMENT = 5


@dataclass(frozen=True)
class Verdict:
    kind: str  # ON_TIME, LATE (final) or PENDING (judged at the end of the period)
    end: datetime | None  # the end of processing used, None while pending
    reason: str  # why, in Vietnamese (the "due" comparison is added by the caller)


def judge(*, status: int, due_at: datetime | None, ended_at: datetime | None,
          finished_at: datetime | None, returned_at: datetime | None,
          paused_at: datetime | None, supplement_count: int) -> Verdict:
    """Đúng hạn / trễ hạn of a received dossier (research note §3; issue 5):

    * the end of processing is the first of finished, returned, stopped/refused/withdrawn
      (`ended_at` = NgayKetThucXuLy; else finished/returned);
    * the time waiting for a supplement does not count: `due_at` is the appointed date
      already moved by the working time the applicant took (dossiers/services.py
      `_resume_clock`; the importer does the same), so "end − waiting ≤ appointed" is
      "end ≤ due_at";
    * a dossier still waiting for a supplement ends at the request (`paused_at`);
    * more than one supplement request counts as late;
    * a dossier without an end is PENDING: on time while the end of the period is on or
      before its due day (the portal recomputes daily; a pending dossier is judged by day).
    """
    if supplement_count > 1:
        return Verdict(LATE, None, "yêu cầu bổ sung quá một lần")
    end = ended_at or _first(finished_at, returned_at)
    if end is None and status == WAITING_SUPPLEMENT and paused_at is not None:
        end = paused_at
        waiting = True
    else:
        waiting = False
    if end is None:
        return Verdict(PENDING, None, "đang giải quyết")
    if due_at is None or end <= due_at:
        return Verdict(ON_TIME, end, "chờ bổ sung, yêu cầu trong hạn" if waiting else "đúng hạn")
    return Verdict(LATE, end, "chờ bổ sung, yêu cầu sau hạn" if waiting else "trễ hạn")


def _first(*values):
    found = [v for v in values if v is not None]
    return min(found) if found else None


# --- the five groups --------------------------------------------------------------------------


@dataclass
class Inputs:
    """Every count the index needs for one unit and one period (0 when the platform holds
    no such data: the rule then gives the portal's zero-denominator answer)."""

    received: int = 0
    on_time: int = 0
    completed: int = 0
    processing_minutes: int = 0
    synced: int = 0
    published_on_time: int = 0
    published: int = 0
    updated_on_time: int = 0
    updated: int = 0
    content_full: int = 0
    content_total: int = 0
    online_procedures: int = 0
    procedures: int = 0
    services_used: int = 0
    services: int = 0
    online_ok: int = 0
    procedures_with_fee: int = 0
    procedures_with_fee_dossiers: int = 0
    procedures_paid_online: int = 0
    fee_dossiers: int = 0
    paid_online: int = 0
    paper_dossiers: int = 0
    eresult: int = 0
    digitised: int = 0
    reused: int = 0
    from_store: int = 0
    procedures_connected: int = 0
    procedures_for_individuals: int = 0
    dossiers_connected: int = 0
    pakn_total: int = 0
    pakn_about_procedures: int = 0
    pakn_on_time: int = 0
    pakn_satisfied: int = 0
    satisfied: int = 0


def _sync_ratio(x: Inputs) -> float:
    return x.synced / x.received if x.received else 0.0


# (code, name, max, portal code, indicators [(code, name, function of Inputs)])
GROUPS = [
    ("1", "Công khai, minh bạch", 18, "CKMB", [
        ("1.1", "Tỷ lệ thủ tục hành chính công bố đúng hạn",
         lambda x: i1_1(x.published_on_time, x.published)),
        ("1.2", "Tỷ lệ thủ tục hành chính được cập nhật, công khai đúng hạn",
         lambda x: i1_2(x.updated_on_time, x.updated)),
        ("1.3", "Tỷ lệ thủ tục hành chính được công khai đầy đủ các bộ phận tạo thành",
         lambda x: i1_3(x.content_full, x.content_total)),
        ("1.4", "Tỷ lệ hồ sơ đồng bộ lên Cổng Dịch vụ công quốc gia",
         lambda x: i1_4(x.synced, x.received)),
    ]),
    ("2", "Tiến độ, kết quả giải quyết", 20, "TDGQ", [
        ("2.1", "Tỷ lệ hồ sơ xử lý trước hạn, đúng hạn", lambda x: i2_1(x.on_time, x.received)),
        ("2.2", "Thời gian giải quyết trung bình (ngày)",
         lambda x: i2_2(x.processing_minutes, x.completed)),
    ]),
    ("3", "Cung cấp dịch vụ trực tuyến", 22, "ONLINE", [
        ("3.1", "Tỷ lệ thủ tục hành chính cung cấp dịch vụ công trực tuyến",
         lambda x: i3_1(x.online_procedures, x.procedures)),
        ("3.2", "Tỷ lệ dịch vụ công trực tuyến có phát sinh hồ sơ",
         lambda x: i3_2(x.services_used, x.services)),
        ("3.3", "Tỷ lệ hồ sơ nộp trực tuyến",
         lambda x: i3_3(x.online_ok, x.received, _sync_ratio(x))),
        ("3.5a", "Tỷ lệ thủ tục có nghĩa vụ tài chính được tích hợp thanh toán trực tuyến",
         lambda x: i3_5a(x.procedures_with_fee_dossiers, x.procedures_with_fee)),
        ("3.5b", "Tỷ lệ thủ tục có giao dịch thanh toán trực tuyến",
         lambda x: i3_5b(x.procedures_paid_online, x.procedures_with_fee_dossiers)),
        ("3.6", "Tỷ lệ hồ sơ thanh toán trực tuyến",
         lambda x: i3_6(x.paid_online, x.fee_dossiers)),
    ]),
    ("4", "Số hóa hồ sơ", 22, "MDSH", [
        ("4.1", "Tỷ lệ hồ sơ có kết quả giải quyết điện tử",
         lambda x: i4_1(x.eresult, x.paper_dossiers)),
        ("4.2", "Tỷ lệ hồ sơ thực hiện số hóa", lambda x: i4_2(x.digitised, x.received)),
        ("4.3", "Tỷ lệ hồ sơ khai thác, sử dụng lại dữ liệu số hóa",
         lambda x: i4_3(x.reused, x.received)),
        ("4.4", "Tỷ lệ hồ sơ có kết nối, chia sẻ dữ liệu từ kho dữ liệu cá nhân",
         lambda x: i4_4(x.from_store, x.received)),
        ("4.5a", "Tỷ lệ thủ tục kết nối, chia sẻ dữ liệu dân cư",
         lambda x: i4_5a(x.procedures_connected, x.procedures_for_individuals)),
        ("4.5b", "Tỷ lệ hồ sơ có sử dụng dữ liệu dân cư",
         lambda x: i4_5b(x.dossiers_connected, x.received)),
        ("4.6", "Tỷ lệ cung cấp dịch vụ chứng thực bản sao điện tử từ bản chính",
         lambda x: i4_6()),
    ]),
    ("5", "Mức độ hài lòng", 18, "MDHL", [
        ("5.1", "Tỷ lệ phản ánh, kiến nghị về quy định, thủ tục hành chính",
         lambda x: i5_1(x.pakn_about_procedures, x.pakn_total)),
        ("5.2", "Tỷ lệ phản ánh, kiến nghị xử lý đúng hạn",
         lambda x: i5_2(x.pakn_on_time, x.pakn_total)),
        ("5.3", "Tỷ lệ hài lòng trong xử lý phản ánh, kiến nghị",
         lambda x: i5_3(x.pakn_satisfied, x.pakn_total)),
        ("5.4", "Tỷ lệ hài lòng trong tiếp nhận, giải quyết thủ tục hành chính",
         lambda x: i5_4(x.satisfied, x.received)),
    ]),
]
# The portal's six cards split group 3 (research note §1): DVCTT 12 = 3.1–3.3, TTTT 10.
PARTS = {"3": [("3a", "Dịch vụ công trực tuyến", 12, ("3.1", "3.2", "3.3")),
               ("3b", "Thanh toán trực tuyến", 10, ("3.5a", "3.5b", "3.6"))]}


@dataclass
class IndicatorResult:
    code: str
    name: str
    score: Score


@dataclass
class GroupResult:
    code: str
    name: str
    max: float
    portal_code: str
    score: float
    indicators: list
    parts: list


def evaluate(x: Inputs) -> tuple[float, list[GroupResult]]:
    """All groups for one unit and period: (total, groups). A group's score is the sum of
    its indicators' rounded scores (null counts 0), as the portal adds them (Phú Thọ
    08/2026: CKMB = 1.96 + 6 = 7.96)."""
    out = []
    for code, name, max_, portal, items in GROUPS:
        inds = [IndicatorResult(c, n, f(x)) for c, n, f in items]
        by = {i.code: i.score.points for i in inds}
        parts = [{"code": pc, "name": pn, "max": pm, "score": round(sum(by[c] for c in cs), 2)}
                 for pc, pn, pm, cs in PARTS.get(code, [])]
        out.append(GroupResult(code, name, max_, portal,
                               round(sum(i.score.points for i in inds), 2), inds, parts))
    return round(sum(g.score for g in out), 2), out
