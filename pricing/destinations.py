"""The destination prefix of a line: the longest leading digits of the destination number (an SMS or
call's contact, a WhatsApp calling code) that some deck consulted for the line knows (the by_prefix decks
of the books that price or cost it, and the rate deck's high-risk list). '' when none does or the event
names no number. Pumping alerts and the spend per prefix group lines by it."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from functools import lru_cache

MAX_DIGITS = 15  # E.164


ASCII_DIGITS = frozenset("0123456789")


@lru_cache(maxsize=8_192)  # pure; contacts repeat (at most 256 characters each: a few MB)
def digits_of(number: str) -> str:
    """The number's ASCII digits (at most 15). '' when it holds any other digit (str.isdigit() is True for
    Arabic-Indic, superscript, fullwidth ... digits): dropping them would leave the digits of another number."""
    if any(ch.isdigit() and ch not in ASCII_DIGITS for ch in number):
        return ""
    return "".join(ch for ch in number if ch in ASCII_DIGITS)[:MAX_DIGITS]


def matched_prefix(number: str | None, decks: Iterable[Collection[str]]) -> str:
    """The longest prefix of `number`'s digits found in one of `decks` ('' for none)."""
    if not number:
        return ""
    known = [d for d in decks if d]
    if not known:
        return ""
    digits = digits_of(number)
    for n in range(len(digits), 0, -1):
        p = digits[:n]
        for d in known:
            if p in d:
                return p
    return ""
