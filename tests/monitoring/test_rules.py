"""The index rules alone (no database): each conversion checked against figures worked out by
hand or published by the portal (../shared/research/766-index.md)."""

from datetime import UTC, datetime, timedelta

from chinhquyenso.monitoring import rules

UTC = UTC


def test_progress_is_linear_and_matches_the_portal_example():
    """2.1: 20 × 486 / 588 = 16.53 (Phú Thọ, research note §2)."""
    s = rules.i2_1(486, 588)
    assert (s.ratio, s.score, s.max) == (82.65, 16.53, 20)


def test_progress_with_no_dossier_is_zero():
    assert rules.i2_1(0, 0).score == 0.0


def test_satisfaction_is_full_from_ninety_percent():
    """5.4: ≥ 90 % → 6; 60 % → 6 × 60 / 90 = 4."""
    assert rules.i5_4(9, 10).score == 6
    assert rules.i5_4(95, 100).score == 6
    assert rules.i5_4(6, 10).score == 4.0
    assert rules.i5_4(0, 0).score == 0.0


def test_petitions_with_no_petition_give_full_points():
    """5.2 and 5.3: no PAKN → 6 each (the API, not the xlsx "split evenly")."""
    assert rules.i5_2(0, 0).score == 6
    assert rules.i5_3(0, 0).score == 6
    assert rules.i5_2(3, 4).score == 4.5  # 6 × 0.75


def test_publication_with_no_procedure_is_not_scored():
    """1.1 / 1.2: denominator 0 → null (counts 0)."""
    s = rules.i1_1(0, 0)
    assert s.score is None and s.points == 0


def test_online_share_is_full_from_fifty_percent_after_the_sync_factor():
    """3.3: 40 % online × sync 100 % → 6 × 40 / 50 = 4.8; 80 % × sync 50 % = 40 % → 4.8."""
    assert rules.i3_3(4, 10, 1.0).score == 4.8
    assert rules.i3_3(8, 10, 0.5).score == 4.8
    assert rules.i3_3(6, 10, 1.0).score == 6


def test_dvctt_group_reproduces_the_phu_tho_value():
    """DVCTT = min(2, 2·A/0.8) + 4·B + min(6, 6·C/0.5) with A = 52/56, B = 406/1968,
    C = 150956/152595 → 2 + 0.825 + 6 = 8.83 (research note §2, checked against the API)."""
    total = (rules.i3_1(52, 56).score + rules.i3_2(406, 1968).score
             + rules.i3_3(150956, 152595, 1.0).score)
    assert round(total, 2) == 8.83


def test_payment_group_thresholds():
    """3.5a/b: ≥ 80 % → 2, else 2 × R / 80; 3.6 linear: 6 × 50 % = 3."""
    assert rules.i3_5a(4, 5).score == 2
    assert rules.i3_5b(1, 2).score == 1.25  # 2 × 50 / 80
    assert rules.i3_6(1, 2).score == 3.0


def test_digitisation_is_linear_not_threshold():
    """4.2: the API is linear: 80.06 % → 3.20 (the docx's 80 % threshold is not applied)."""
    assert rules.i4_2(8006, 10000).score == 3.2
    assert rules.i4_3(7, 10).score == 1.75  # 2 × 70 / 80
    assert rules.i4_6().score == 2


def test_group_maxima_add_up_to_one_hundred():
    maxima = {code: max_ for code, _n, max_, _p, _i in rules.GROUPS}
    assert maxima == {"1": 18, "2": 20, "3": 22, "4": 22, "5": 18}
    for _code, _n, max_, _p, items in rules.GROUPS:
        assert sum(f(rules.Inputs()).max for _c, _n2, f in items) == max_


def test_an_empty_unit_scores_what_the_portal_gives_for_nothing():
    """No dossier, no PAKN: only 5.2 (6), 5.3 (6) and the certified-copy item (2) score."""
    total, groups = rules.evaluate(rules.Inputs())
    assert total == 14
    parts = {p["code"]: p["score"] for g in groups for p in g.parts}
    assert parts == {"3a": 0, "3b": 0}


def test_needed_for_full_points():
    """34 more paid online: 66/100 linear needs 34; 5.4 at 80/100 needs 90 − 80 = 10."""
    assert rules.needed_for_full(rules.i3_6(66, 100)) == 34
    assert rules.needed_for_full(rules.i5_4(80, 100), 90) == 10
    assert rules.needed_for_full(rules.i5_4(95, 100), 90) == 0


T0 = datetime(2026, 10, 5, 1, 0, tzinfo=UTC)


def judge(**kw):
    base = dict(status=10, due_at=T0 + timedelta(days=4), ended_at=None, finished_at=None,
                returned_at=None, paused_at=None, supplement_count=0)
    base.update(kw)
    return rules.judge(**base)


def test_verdicts():
    due = T0 + timedelta(days=4)
    assert judge(ended_at=due).kind == rules.ON_TIME  # on the due minute: on time
    assert judge(ended_at=due + timedelta(minutes=1)).kind == rules.LATE
    # the end is the first of finished / returned when ended_at is missing
    assert judge(finished_at=due, returned_at=due + timedelta(days=3)).kind == rules.ON_TIME
    # waiting for a supplement: the request is the end
    assert judge(status=5, paused_at=due - timedelta(hours=1)).kind == rules.ON_TIME
    assert judge(status=5, paused_at=due + timedelta(hours=1)).kind == rules.LATE
    # more than one request: late whatever the times
    assert judge(ended_at=T0, supplement_count=2).kind == rules.LATE
    # withdrawn / stopped end processing (possibly on time)
    assert judge(status=7, ended_at=T0).kind == rules.ON_TIME
    # still in processing: judged later, at the end of the period
    assert judge(status=4).kind == rules.PENDING
