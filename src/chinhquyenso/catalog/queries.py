"""Read side of the catalogue: search that ignores diacritics and case, best match first."""

import re
import time
from dataclasses import dataclass

from django.db.models import Q

from chinhquyenso.core.text import fold

from .models import Procedure

GENERIC_PREFIX = "thu tuc "


def _score(query: str, words: list[str], text: str) -> float:
    if text.startswith(GENERIC_PREFIX) and not query.startswith(GENERIC_PREFIX):
        text = text[len(GENERIC_PREFIX):]  # «Thủ tục …» says nothing about the match
    tokens = text.split()
    score = 0.0
    if text == query:
        score += 50
    if query and query in text:
        score += 100
        if re.search(rf"(^| ){re.escape(query)}( |$)", text):
            score += 20
        # The phrase near the start of the name ("Thủ tục đăng ký khai sinh").
        score -= text.index(query) * 0.5
    score += 10 * sum(1 for w in words if w in tokens)
    score += 3 * sum(1 for w in words if w in text)
    return score - 0.3 * max(len(tokens) - len(words), 0)


def search_procedures(q: str = "", *, level: str | None = None, agency=None,
                      field: str | None = None):
    """Procedures matching every word of `q` (diacritics and case ignored), best first.
    Returns a list (the catalogue is small: a province has about 2,000 procedures)."""
    qs = Procedure.objects.filter(active=True).select_related("field")
    if level:
        qs = qs.filter(level=level)
    if field:
        qs = qs.filter(field__code=field)
    if agency is not None:
        qs = qs.filter(agencies=agency)
    query = fold(q)
    words = query.split()
    if not words:
        return list(qs.order_by("name"))
    cond = Q()
    for w in words:
        cond &= Q(search_text__contains=w) | Q(code__icontains=w)
    found = list(qs.filter(cond))
    if not found:  # no procedure has every word: rank those with any
        any_word = Q()
        for w in words:
            any_word |= Q(search_text__contains=w)
        found = list(qs.filter(any_word))
    found.sort(key=lambda p: (-_score(query, words, p.search_text), p.name))
    return found


@dataclass(frozen=True)
class ProcedureRef:
    """What a submission needs of a procedure, read once: the procedure, its steps, the
    agencies that accept it (by identity code) and the agencies named on its steps."""

    procedure: Procedure
    steps: tuple
    agencies: dict
    step_agencies: dict


_REF_TTL = 30.0  # seconds; `cqs catalog load` in this process clears it at once
_refs: dict[str, tuple[float, ProcedureRef | None]] = {}


def procedure_reference(code: str) -> ProcedureRef | None:
    """The catalogue is reference data that changes a few times a year; every submission
    used to read it again (five queries). Kept per process for at most 30 seconds."""
    hit = _refs.get(code)
    if hit is not None and time.monotonic() - hit[0] < _REF_TTL:
        return hit[1]
    from chinhquyenso.directory.models import Agency

    proc = Procedure.objects.filter(code=code, active=True).first()
    ref = None
    if proc is not None:
        steps = tuple(proc.steps.all())
        keys = {s.agency_key for s in steps if s.agency_key}
        ref = ProcedureRef(
            procedure=proc, steps=steps,
            agencies={a.code: a for a in proc.agencies.filter(active=True)},
            step_agencies={a.key: a for a in Agency.objects.filter(key__in=keys)},
        )
    if len(_refs) > 5000:
        _refs.clear()
    _refs[code] = (time.monotonic(), ref)
    return ref


def forget_procedure_references() -> None:
    _refs.clear()
