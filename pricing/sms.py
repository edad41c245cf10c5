"""SMS segments as carriers count them (3GPP TS 23.038 / 23.040, the rules Twilio documents).

GSM-7: one segment holds 160 septets; a concatenated message holds 153 per segment (the UDH takes 7).
Characters of the extension table (``^{}\\[~]|€`` and form feed) take two septets (escape + char), and an
escape pair is never split across segments. Text with any character outside GSM-7 is sent as UCS-2:
70 UTF-16 code units in one segment, 67 per segment when concatenated; a surrogate pair or a grapheme
(emoji with modifiers, ZWJ sequences, flags, combining marks) is never split across segments.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from omnimeter.schemas.types import SmsEncoding

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

SINGLE = {SmsEncoding.GSM7: 160, SmsEncoding.UCS2: 70}
CONCATENATED = {SmsEncoding.GSM7: 153, SmsEncoding.UCS2: 67}


@dataclass(frozen=True, slots=True)
class Segmentation:
    encoding: SmsEncoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def encoding_of(text: str) -> SmsEncoding:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        return SmsEncoding.GSM7
    return SmsEncoding.UCS2


def _gsm_units(text: str) -> Iterator[int]:
    for c in text:
        yield 2 if c in GSM7_EXTENSION else 1


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


def _utf16_units(text: str) -> Iterator[int]:
    for g in graphemes(text):
        yield len(g.encode("utf-16-le")) // 2


def _pack(costs: list[int], capacity: int) -> int:
    """Segments needed when indivisible items of the given costs are packed greedily in order."""
    segments, used = 1, 0
    for cost in costs:
        if used + cost > capacity and used > 0:
            segments, used = segments + 1, 0
        used += cost
        while used > capacity:  # one item larger than a segment (a very long ZWJ chain): split it
            segments, used = segments + 1, used - capacity
    return segments


def segment(text: str, encoding: SmsEncoding | None = None) -> Segmentation:
    enc = encoding or encoding_of(text)
    costs = list(_gsm_units(text) if enc is SmsEncoding.GSM7 else _utf16_units(text))
    units = sum(costs)
    if units <= SINGLE[enc]:
        return Segmentation(enc, units, 1)
    return Segmentation(enc, units, _pack(costs, CONCATENATED[enc]))
