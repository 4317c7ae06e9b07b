"""Read side of the catalogue: search that ignores diacritics and case, best match first."""

import re

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
