"""API tokens: signature, scope, expiry."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omnimeter.reports.scope import Kind, Scope
from omnimeter.reports.tokens import InvalidToken, issue, verify

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
