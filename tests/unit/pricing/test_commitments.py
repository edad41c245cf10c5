"""Commitment usage %, carrier credit used %, and cycle minimums."""

from __future__ import annotations

from decimal import Decimal as D

from omnimeter.pricing.books import Price
from omnimeter.pricing.commitments import CommitmentUsage, CreditUsage, percent


def test_commitment_usage_and_overage() -> None:
    c = CommitmentUsage("whatsapp.template.marketing", D(500), D(123))
    assert (c.remaining, c.overage, c.used_percent) == (D(377), D(0), D("24.6"))
    over = CommitmentUsage("whatsapp.template.marketing", D(500), D(650))
    assert (over.remaining, over.overage, over.used_percent) == (D(0), D(150), D("130.0"))


def test_credit_used_percent() -> None:
    c = CreditUsage(D("250.00"), D("83.3333"))
    assert c.used_percent == D("33.3") and c.remaining == D("166.6667")
    assert CreditUsage(D(0), D(5)).used_percent == D("0.0")
    assert percent(D(1), D(3)) == D("33.3") and percent(D(2), D(3)) == D("66.7")


def test_cycle_minimum() -> None:
    p = Price(unit=D("0.01"), minimum=D("5.00"))
    assert p.cycle_amount(D(100)) == D("5.00")
    assert p.cycle_amount(D(1000)) == D("10.00")
