"""SMS segments as carriers count them (3GPP TS 23.038 / 23.040, the rules Twilio documents).

GSM-7: one segment holds 160 septets; a concatenated message holds 153 per segment (the UDH takes 7).
Characters of the extension table (``^{}\\[~]|€`` and form feed) take two septets (escape + char), and an
escape pair is never split across segments. Text with any character outside GSM-7 is sent as UCS-2:
70 UTF-16 code units in one segment, 67 per segment when concatenated; a grapheme (emoji with
modifiers, ZWJ sequences, flags, combining marks) is never split across segments, unless it alone is
longer than a segment: then it is split between code points, never inside a surrogate pair.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from omnimeter.schemas.types import SmsEncoding

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7 = GSM7_BASIC | GSM7_EXTENSION

SINGLE = {SmsEncoding.GSM7: 160, SmsEncoding.UCS2: 70}
CONCATENATED = {SmsEncoding.GSM7: 153, SmsEncoding.UCS2: 67}


@dataclass(frozen=True, slots=True)
class Segmentation:
    encoding: SmsEncoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def encoding_of(text: str) -> SmsEncoding:
    return SmsEncoding.GSM7 if GSM7.issuperset(text) else SmsEncoding.UCS2


def _gsm_units(text: str) -> Iterator[list[int]]:
    for c in text:
        yield [2 if c in GSM7_EXTENSION else 1]  # an escape pair is one item: never split


def _is_extend(c: str) -> bool:
    cp = ord(c)
    return (
        unicodedata.category(c) in ("Mn", "Me", "Mc")
        or 0xFE00 <= cp <= 0xFE0F  # variation selectors
        or 0x1F3FB <= cp <= 0x1F3FF  # skin tone modifiers
        or 0xE0020 <= cp <= 0xE007F  # tag characters (subdivision flags)
    )


def _is_regional(c: str) -> bool:
    return 0x1F1E6 <= ord(c) <= 0x1F1FF


def graphemes(text: str) -> Iterator[str]:
    """Extended grapheme clusters, for the cases that occur in messages (not the full UAX #29)."""
    cluster = ""
    ri_run = 0
    join_next = False
    for c in text:
        if cluster and (join_next or _is_extend(c) or c == "\u200d" or (_is_regional(c) and ri_run % 2 == 1)):
            cluster += c
        else:
            if cluster:
                yield cluster
            cluster = c
            ri_run = 0
        join_next = c == "\u200d"
        ri_run = ri_run + 1 if _is_regional(c) else 0
    if cluster:
        yield cluster


def _utf16_units(text: str) -> Iterator[list[int]]:
    """Per grapheme, the UTF-16 units of each of its code points (1, or 2 for a surrogate pair)."""
    for g in graphemes(text):
        yield [2 if ord(c) > 0xFFFF else 1 for c in g]


def _pack(items: list[list[int]], capacity: int) -> int:
    """Segments needed when items (graphemes or escape pairs, each the costs of its code points) are
    packed greedily in order. An item never straddles two segments, unless it alone is longer than a
    segment (a long ZWJ chain): then it is split between code points, never inside one."""
    segments, used = 1, 0
    for item in items:
        cost = sum(item)
        if used + cost <= capacity:
            used += cost
        elif cost <= capacity:
            segments, used = segments + 1, cost
        else:
            for unit in item:
                if used + unit > capacity:
                    segments, used = segments + 1, 0
                used += unit
    return segments


CACHED_CHARS = 1_600  # texts up to 10 segments are remembered: 4,096 of them hold at most ~26 MB


def segment(text: str, encoding: SmsEncoding | None = None) -> Segmentation:
    """Pure, so cached for short texts: rating asks once per book whose settings differ, and campaigns
    repeat their text (a producer's 64k-character bodies are not kept)."""
    return _segment_cached(text, encoding) if len(text) <= CACHED_CHARS else _segment(text, encoding)


def _segment(text: str, encoding: SmsEncoding | None) -> Segmentation:
    enc = encoding or encoding_of(text)
    if enc is SmsEncoding.GSM7 and GSM7_BASIC.issuperset(text):  # one septet a character: nothing to keep whole
        n = len(text)
        return Segmentation(enc, n, 1 if n <= SINGLE[enc] else -(-n // CONCATENATED[enc]))
    items = list(_gsm_units(text) if enc is SmsEncoding.GSM7 else _utf16_units(text))
    units = sum(sum(item) for item in items)
    if units <= SINGLE[enc]:
        return Segmentation(enc, units, 1)
    return Segmentation(enc, units, _pack(items, CONCATENATED[enc]))


_segment_cached = lru_cache(maxsize=4096)(_segment)
