"""Vietnamese text helpers."""

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_NON_WORD = re.compile(r"[^0-9a-z ]+")


def fold(text: str) -> str:
    """Lower case, no diacritics, đ → d, single spaces: «Đăng ký khai sinh» → «dang ky khai
    sinh». Used for search that ignores diacritics and case."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    text = unicodedata.normalize("NFD", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Mn").lower()
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()
