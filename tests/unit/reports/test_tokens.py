"""API tokens as JWTs: signature, scope and role, expiry, revocation, key rotation, weak keys, alg none,
and tokens of an identity provider verified against its JWKS."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from omnimeter.errors import BadInput, ConfigError
from omnimeter.reports.scope import Kind, Role, Scope
from omnimeter.reports.tokens import (
    InvalidToken,
    Keyring,
    Oidc,
    claims_of,
    issue,
    load_keyring,
    load_secret,
    revoke,
    rotate,
    verify,
)

SECRET = b"0123456789abcdef0123456789abcdef"  # 32 bytes


def test_token_round_trip_scope_role_and_standard_claims() -> None:
    for text in ("platform", "reseller:reseller-01", "tenant:tenant-001"):
        assert str(verify(SECRET, issue(SECRET, Scope.parse(text)))) == text
    token = issue(SECRET, Scope.parse("tenant:t"), role=Role.BILLING_UNITS_VIEWER, subject="ana@example.com")
    scope = verify(SECRET, token)
    assert scope.kind is Kind.TENANT and scope.role is Role.BILLING_UNITS_VIEWER
    claims = claims_of(SECRET, token)
    assert claims["sub"] == "ana@example.com" and claims["exp"] - claims["iat"] == 30 * 86_400  # default 30 days
    assert len(claims["jti"]) == 32 and jwt.get_unverified_header(token)["kid"].startswith("k")


def _b64(doc: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


def test_forged_foreign_expired_and_alg_none_tokens_are_refused() -> None:
    token = issue(SECRET, Scope.parse("tenant:t"))
    head, _payload, sig = token.split(".")
    other = issue(SECRET, Scope.parse("platform")).split(".")[1]
    with pytest.raises(InvalidToken, match="signature"):
        verify(SECRET, f"{head}.{other}.{sig}")  # a platform scope under a tenant's signature
    with pytest.raises(InvalidToken, match="signature"):
        verify(b"another deployment's key of 32 bytes", token)
    with pytest.raises(InvalidToken, match="expired"):
        verify(SECRET, issue(SECRET, Scope.parse("platform"), valid_s=60), now=time.time() + 61)
    with pytest.raises(InvalidToken):
        verify(SECRET, "Bearer nonsense")
    claims = claims_of(SECRET, issue(SECRET, Scope.parse("tenant:t")))
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': head})}.{_b64({**claims, 'scope': 'platform'})}."
    with pytest.raises(InvalidToken):
        verify(SECRET, unsigned)
    kid = jwt.get_unverified_header(token)["kid"]
    none_with_our_kid = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{_b64({**claims, 'scope': 'platform'})}."
    with pytest.raises(InvalidToken):
        verify(SECRET, none_with_our_kid)


def test_lifetimes_are_bounded_and_weak_keys_refused(tmp_path: Path) -> None:
    for valid in (0.5, 59, 367 * 86_400):  # a sub-second --days made a permanent token once
        with pytest.raises(BadInput, match="valid"):
            issue(SECRET, Scope.parse("platform"), valid_s=valid)
    for weak in ("", "x", "s3cret", "a" * 31):
        with pytest.raises(ConfigError, match="32"):
            if weak:
                load_secret(tmp_path, weak)
            else:
                (tmp_path / "api_secret").write_text("short")
                load_secret(tmp_path)
    with pytest.raises(ConfigError):
        Keyring(b"a" * 31)


def test_one_token_is_revoked_by_its_id_and_others_stay_valid(tmp_path: Path) -> None:
    ring = load_keyring(tmp_path)
    a, b = issue(ring, Scope.parse("tenant:t")), issue(ring, Scope.parse("tenant:t"))
    revoke(tmp_path, claims_of(ring, a)["jti"])
    with pytest.raises(InvalidToken, match="revoked"):
        verify(ring, a)
    assert verify(ring, b).id == "t"
    assert verify(load_keyring(tmp_path), b).id == "t"  # another process reads the same list


def test_rotation_signs_with_a_new_key_and_keeps_old_tokens_valid(tmp_path: Path) -> None:
    old_ring = load_keyring(tmp_path)
    old = issue(old_ring, Scope.parse("reseller:r"))
    new_kid = rotate(tmp_path)
    ring = load_keyring(tmp_path)
    assert verify(ring, old).id == "r"  # signed by the previous key
    new = issue(ring, Scope.parse("platform"))
    assert jwt.get_unverified_header(new)["kid"] == new_kid != jwt.get_unverified_header(old)["kid"]
    with pytest.raises(InvalidToken, match="signature"):
        verify(old_ring, new)  # a process still on the old key set does not know the new key
    (tmp_path / "api_secret.previous").write_text("")  # retiring the old key revokes what it signed
    with pytest.raises(InvalidToken, match="signature"):
        verify(load_keyring(tmp_path), old)


@pytest.fixture
def identity_provider() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    """A JWKS endpoint on 127.0.0.1 serving one RSA public key, as an OIDC provider publishes it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "idp-1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", key
    server.shutdown()


def test_tokens_of_the_platforms_identity_provider_verify_against_its_jwks(
    identity_provider: tuple[str, rsa.RSAPrivateKey],
) -> None:
    url, key = identity_provider
    ring = Keyring(SECRET, oidc=Oidc("https://sso.example.com", "omnimeter", url))
    now = int(time.time())
    claims = {"iss": "https://sso.example.com", "aud": "omnimeter", "sub": "ana", "iat": now, "exp": now + 300,
              "omnimeter_scope": "reseller:r1", "omnimeter_role": "billing_viewer"}  # fmt: skip
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "idp-1"})
    scope = verify(ring, token)
    assert str(scope) == "reseller:r1" and scope.role is Role.BILLING_VIEWER
    for bad in ({"aud": "another-app"}, {"iss": "https://evil.example.com"}, {"exp": now - 1}):
        with pytest.raises(InvalidToken):
            verify(ring, jwt.encode({**claims, **bad}, key, algorithm="RS256", headers={"kid": "idp-1"}))
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken):
        verify(ring, jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": "idp-1"}))
    with pytest.raises(InvalidToken):
        verify(Keyring(SECRET), token)  # no identity provider configured


@pytest.mark.parametrize("text", ["", "tenant", "tenant:", "platform:x", "admin:x"])
def test_bad_scopes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="scope"):
        Scope.parse(text)
