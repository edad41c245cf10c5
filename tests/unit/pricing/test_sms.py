"""SMS segmentation against the published rules (3GPP TS 23.038/23.040; Twilio's segment examples)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnimeter.pricing.sms import (
    CONCATENATED,
    GSM7_BASIC,
    GSM7_EXTENSION,
    _gsm_units,
    _pack,
    encoding_of,
    graphemes,
    segment,
)
from omnimeter.schemas.types import SmsEncoding

GSM, UCS = SmsEncoding.GSM7, SmsEncoding.UCS2


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", GSM, 0, 1),
        ("a" * 160, GSM, 160, 1),  # a full single GSM-7 segment
        ("a" * 161, GSM, 161, 2),  # one more: 153 + 8
        ("a" * 306, GSM, 306, 2),  # 2 x 153
        ("a" * 307, GSM, 307, 3),
        ("€" * 80, GSM, 160, 1),  # extension chars take two septets each
        ("a" * 159 + "€", GSM, 161, 2),
        ("a" * 152 + "€" + "a" * 152, GSM, 306, 3),  # the escape pair is not split at 153: 152 | 2+151 | 1
        ("a" * 153 + "€" + "a" * 151, GSM, 306, 2),  # same septets, boundary falls between chars: 153 | 153
        ("Hello, this is a test 👋", UCS, 24, 1),  # an emoji forces UCS-2; it is 2 UTF-16 units
        ("界" * 70, UCS, 70, 1),
        ("界" * 71, UCS, 71, 2),  # 67 + 4
        ("😀" * 35, UCS, 70, 1),
        ("😀" * 36, UCS, 72, 2),  # 33 emoji (66 units) | 3: the 34th pair is not split at 67
        ("界" * 66 + "😀" + "界" * 60, UCS, 128, 2),  # 66 | 2+60: the pair starts segment 2
        ("界" * 66 + "👍🏽" + "界", UCS, 71, 2),  # emoji + skin tone (4 units) moves whole: 66 | 4+1
    ],
)
def test_segments(text: str, encoding: SmsEncoding, units: int, segments: int) -> None:
    seg = segment(text)
    assert (seg.encoding, seg.units, seg.segments) == (encoding, units, segments)


def test_encoding_detection() -> None:
    assert encoding_of("Ñandù @ 10€ {ok}") is GSM
    assert encoding_of("Ñandú") is UCS  # ú is not in GSM-7 (ù is)
    assert encoding_of("Olá, ação") is UCS  # ã and ç are not in GSM-7 (Ç is)
    assert encoding_of("\u00e7") is UCS


def test_grapheme_clusters() -> None:
    family = "👨\u200d👩\u200d👧"
    assert list(graphemes("a" + family + "b")) == ["a", family, "b"]
    assert list(graphemes("🇨🇴🇧🇷")) == ["🇨🇴", "🇧🇷"]
    assert list(graphemes("e\u0301x")) == ["e\u0301", "x"]
    assert list(graphemes("1\ufe0f\u20e3")) == ["1\ufe0f\u20e3"]


def test_zwj_family_is_never_split() -> None:
    family = "👨\u200d👩\u200d👧\u200d👦"  # 11 UTF-16 units
    seg = segment("界" * 60 + family)
    assert seg.units == 71 and seg.segments == 2  # 60 | 11


@given(st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=800))
def test_the_one_septet_fast_path_counts_as_the_packer_does(text: str) -> None:
    """`segment` counts text of basic GSM-7 characters without packing them; the result is the packer's."""
    seg = segment(text)
    assert seg.encoding is GSM
    assert seg.units == sum(sum(u) for u in _gsm_units(text))
    packed = 1 if seg.units <= 160 else _pack(list(_gsm_units(text)), CONCATENATED[GSM])
    assert seg.segments == packed
