"""SMS segment counts, written by hand from the published rules. Never computed by the project's code.

Sources:
- 3GPP TS 23.038 (GSM 03.38), section 6.2.1: the GSM 7-bit default alphabet and its extension table;
  the extension characters ^ { } \\ [ ~ ] | € and form feed are sent as ESC + character (two septets).
- 3GPP TS 23.040, section 9.2.3.24: a concatenated message carries a 6-octet user data header, leaving
  153 septets (GSM-7) or 67 UTF-16 code units (UCS-2) per segment; a single message holds 160 / 70.
- Twilio, "What the Heck is a Segment?" and the Messaging docs "SMS character limit": 160 GSM-7
  characters or 70 UCS-2 code units fit one segment; longer messages are split at 153 / 67; an
  extension character counts as two; any non-GSM character switches the whole message to UCS-2;
  an emoji outside the BMP is a surrogate pair (two units) and is not split between segments.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from omnimeter.pricing.sms import segment

ZH = "ж"  # Cyrillic: not GSM-7, one UTF-16 unit
GRIN = "😀"  # U+1F600: a surrogate pair, two UTF-16 units
FLAG = "🇫🇷"  # two regional indicators: one grapheme, four UTF-16 units


@pytest.mark.parametrize(
    ("text", "segments", "why"),
    [
        ("a" * 160, 1, "160 GSM-7 septets fit one segment"),
        ("a" * 161, 2, "161 septets: 153 + 8"),
        ("a" * 306, 2, "2 x 153"),
        ("a" * 307, 3, "153 + 153 + 1"),
        ("€" * 80, 1, "80 extension characters = 160 septets"),
        ("€" * 81, 2, "162 septets: 76 escape pairs (152) + 5 pairs (10); a pair is not split at 153"),
        ("a" * 152 + "€" * 5, 2, "the first pair would straddle septet 153: 152 + 10"),
        (ZH * 70, 1, "70 UCS-2 units fit one segment"),
        (ZH * 71, 2, "67 + 4"),
        (ZH * 134, 2, "2 x 67"),
        (ZH * 135, 3, "67 + 67 + 1"),
        ("a" * 159 + ZH, 3, "one non-GSM character makes the whole text UCS-2: 160 units = 67 + 67 + 26"),
        (GRIN * 35, 1, "35 surrogate pairs = 70 units"),
        (GRIN * 36, 2, "72 units: 33 pairs (66) + 3 pairs (6); the 34th pair is not split at unit 67"),
        (ZH * 66 + GRIN + ZH * 66, 3, "134 units, but the pair at units 67-68 moves: 66 + 67 + 1"),
        (ZH * 65 + FLAG + ZH * 65, 3, "a flag is one grapheme: 65 + (4 + 63) + 2"),
        ("👨" + "\u200d👨" * 44, 3, "a 134-unit ZWJ chain, longer than a segment, is split between code points"),
    ],
)
def test_segments(text: str, segments: int, why: str) -> None:
    assert segment(text).segments == segments, why


def test_each_party_bills_on_its_own_status() -> None:
    """Wholesale bills SMS on sent, retail on delivered: the sent event carries the price to platform,
    the delivered event the price to reseller (2 segments of 161 GSM-7 characters each time)."""
    from tests.reference.books import book, books, by_meter, event, rate

    b = books(
        book("wholesale", {"sms.outbound.segments": {"unit": "0.01"}}, {"sms_billed_on": "sent"}),
        book("retail", {"sms.outbound.segments": {"unit": "0.03"}}, {"sms_billed_on": "delivered"}),
    )
    data = {"channel": "sms", "account": "+1555", "contact": "+1556", "body": "a" * 161}
    sent = event("sub", "message.sent", {**data, "sender_kind": "operator"}, 1)
    delivered = event("sub", "message.delivered", {**data, "message_id": "m1"}, 2)
    seg = by_meter(rate([sent, delivered], b))["sms.outbound.segments"]
    got = [(ln.event_id, ln.quantity_platform, ln.amount_platform, ln.quantity, ln.amount_reseller) for ln in seg]
    assert got == [("e1", D(2), D("0.020000"), D(0), D(0)), ("e2", D(0), D(0), D(2), D("0.060000"))]
