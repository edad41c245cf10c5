"""API tokens (signature, scope, expiry) and the shared store's wire format."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from omnimeter.tokens import InvalidToken, issue, verify
from reports.scope import Kind, Scope
from sinks.shared import dumps, loads

SECRET = b"s3cret"


def test_token_round_trip_and_scope() -> None:
    for text in ("platform", "reseller:reseller-01", "tenant:tenant-001"):
        assert str(verify(SECRET, issue(SECRET, Scope.parse(text)))) == text
    assert verify(SECRET, issue(SECRET, Scope.parse("tenant:t"))).kind is Kind.TENANT


def test_forged_expired_and_foreign_tokens_are_refused() -> None:
    token = issue(SECRET, Scope.parse("tenant:t"))
    head, _payload, sig = token.split(".")
    other = issue(SECRET, Scope.parse("platform")).split(".")[1]
    with pytest.raises(InvalidToken, match="signature"):
        verify(SECRET, f"{head}.{other}.{sig}")  # a platform scope under a tenant's signature
    with pytest.raises(InvalidToken, match="signature"):
        verify(b"another deployment", token)
    with pytest.raises(InvalidToken, match="expired"):
        verify(SECRET, issue(SECRET, Scope.parse("platform"), valid_s=60), now=datetime.now(UTC).timestamp() + 61)
    with pytest.raises(InvalidToken):
        verify(SECRET, "Bearer nonsense")


@pytest.mark.parametrize("text", ["", "tenant", "tenant:", "platform:x", "admin:x"])
def test_bad_scopes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="scope"):
        Scope.parse(text)


def test_shared_store_wire_format_keeps_types() -> None:
    rows = [("t", Decimal("0.012345"), datetime(2026, 11, 22, 5, 0, tzinfo=UTC), date(2026, 11, 1), 7, b"\xff", None)]
    assert [tuple(r) for r in loads(dumps(rows))] == rows
    assert loads(dumps({"k": [("a", "b", "c")], "s": datetime(2026, 1, 1, tzinfo=UTC)}))["s"].tzinfo is not None
