"""API tokens: standard JWTs (RFC 7519, HS256) carrying a scope and a role.

Claims: `sub` (who it was issued to), `scope` (platform, reseller:ID, tenant:ID), `role`
(reports/scope.py), `iat`, `exp` (default 30 days, at least 60 s, at most 366 days: no token is
permanent), `jti` (its id, for revoking it alone); the header's `kid` names the key that signed it.

Keys: the current key signs; previous keys still verify, so a rotation does not sign everyone out.
The current key is OMNIMETER_API_SECRET, else ``<data dir>/api_secret`` (created on first use, mode
0600); previous keys are OMNIMETER_API_PREVIOUS_SECRETS (comma-separated) and the lines of
``<data dir>/api_secret.previous`` (`omnimeter token rotate` moves the file key there). A key shorter than
32 bytes is refused. Revoked token ids are the lines of ``<data dir>/revoked_tokens``
(`omnimeter token revoke JTI`), re-read when the file changes.

Tokens of the platform's identity provider (OIDC) verify too, when an issuer, audience and JWKS URL are
configured (OMNIMETER_API_OIDC_*): RS256/ES256 against the provider's published keys, the scope and role
read from configurable claims.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from pydantic import SecretStr

from omnimeter.errors import BadInput, ConfigError
from omnimeter.reports.scope import Role, Scope
from omnimeter.settings import Settings

ALGORITHM = "HS256"
DEFAULT_VALID_S = 30 * 86_400
MIN_VALID_S = 60
MAX_VALID_S = 366 * 86_400
MIN_SECRET_BYTES = 32
_REQUIRED = ["sub", "scope", "role", "iat", "exp", "jti"]


class InvalidToken(BadInput):
    """Missing, malformed, forged, expired or revoked."""


def key_id(key: bytes) -> str:
    """A key's public name: a digest, so the header never reveals the key."""
    return "k" + hashlib.sha256(key).hexdigest()[:16]


@dataclass(frozen=True)
class Oidc:
    issuer: str
    audience: str
    jwks_url: str
    scope_claim: str = "omnimeter_scope"
    role_claim: str = "omnimeter_role"


@dataclass
class Keyring:
    """The keys that sign and verify, and the token ids revoked."""

    current: bytes
    previous: Sequence[bytes] = ()
    revoked_file: Path | None = None
    oidc: Oidc | None = None
    _revoked: frozenset[str] = field(default=frozenset(), repr=False)
    _revoked_mtime: float = field(default=-1.0, repr=False)
    _jwks: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for k in (self.current, *self.previous):
            _check_strength(k)

    def key(self, kid: str) -> bytes | None:
        for k in (self.current, *self.previous):
            if key_id(k) == kid:
                return k
        return None

    def revoked(self) -> frozenset[str]:
        if self.revoked_file is None:
            return frozenset()
        try:
            mtime = self.revoked_file.stat().st_mtime
        except FileNotFoundError:
            return frozenset()
        if mtime != self._revoked_mtime:
            lines = self.revoked_file.read_text().split()
            self._revoked, self._revoked_mtime = frozenset(lines), mtime
        return self._revoked


def _check_strength(key: bytes) -> None:
    if len(key) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"api secret: {len(key)} bytes; at least {MIN_SECRET_BYTES} random bytes are needed "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )


def load_secret(data_dir: Path, configured: SecretStr | str = "") -> bytes:
    """The current key: the configured secret, else the one kept in ``<data_dir>/api_secret``."""
    value = configured.get_secret_value() if isinstance(configured, SecretStr) else configured
    if value:
        _check_strength(value.encode())
        return value.encode()
    path = data_dir / "api_secret"
    if not path.exists():
        _write_new_key(path)
    key = path.read_text().strip().encode()
    _check_strength(key)
    return key


def _write_new_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".api_secret.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secrets.token_urlsafe(32))
    try:  # two processes starting at once: the first link wins, both then read the same secret
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def load_keyring(
    data_dir: Path,
    configured: SecretStr | str = "",
    previous: Sequence[SecretStr | str] = (),
    oidc: Oidc | None = None,
) -> Keyring:
    old = [p.get_secret_value() if isinstance(p, SecretStr) else p for p in previous]
    kept = data_dir / "api_secret.previous"
    if kept.exists():
        old += kept.read_text().split()
    return Keyring(load_secret(data_dir, configured), [o.encode() for o in old if o], data_dir / "revoked_tokens", oidc)


def keyring_for(settings: Settings) -> Keyring:
    """The keys (and identity provider) of a deployment's settings."""
    api = settings.api
    oidc = None
    if api.oidc_issuer and api.oidc_audience and api.oidc_jwks_url:
        oidc = Oidc(api.oidc_issuer, api.oidc_audience, api.oidc_jwks_url, api.oidc_scope_claim, api.oidc_role_claim)
    previous = [p for p in api.previous_secrets.get_secret_value().split(",") if p]
    return load_keyring(settings.data_dir, api.secret, previous, oidc)


def rotate(data_dir: Path) -> str:
    """A new file key signs from now on; the old one keeps verifying (until removed from
    ``api_secret.previous``). Returns the new key's id."""
    path = data_dir / "api_secret"
    old = load_secret(data_dir)
    with (data_dir / "api_secret.previous").open("a") as f:
        os.chmod(f.name, 0o600)
        f.write(old.decode() + "\n")
    path.unlink()
    return key_id(load_secret(data_dir))


def revoke(data_dir: Path, jti: str) -> None:
    if not jti or any(c.isspace() for c in jti):
        raise BadInput(f"jti: expected a token id, got {jti!r}")
    with (data_dir / "revoked_tokens").open("a") as f:
        f.write(jti + "\n")


def issue(
    keys: bytes | Keyring,
    scope: Scope,
    valid_s: float | None = None,
    subject: str | None = None,
    role: Role | None = None,
) -> str:
    valid = DEFAULT_VALID_S if valid_s is None else valid_s
    if not MIN_VALID_S <= valid <= MAX_VALID_S:
        raise BadInput(f"valid: a token lives between {MIN_VALID_S} s and {MAX_VALID_S // 86_400} days, got {valid} s")
    key = keys.current if isinstance(keys, Keyring) else keys
    now = int(time.time())
    claims = {
        "sub": subject or str(scope),
        "scope": str(scope),
        "role": (role or scope.role).value,
        "iat": now,
        "exp": now + int(valid),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": key_id(key)})


def claims_of(keys: bytes | Keyring, token: str, now: float | None = None) -> dict[str, Any]:
    """The verified claims of `token`, or InvalidToken saying why."""
    ring = keys if isinstance(keys, Keyring) else Keyring(keys)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidToken("not a token") from None
    kid = header.get("kid")
    key = ring.key(kid) if isinstance(kid, str) else None
    try:
        if key is not None:
            claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": _REQUIRED, "verify_exp": False})
        elif ring.oidc is not None and header.get("alg") in ("RS256", "ES256"):
            claims = _oidc_claims(ring, token)
        else:
            raise InvalidToken("bad signature: unknown key")
    except jwt.InvalidSignatureError:
        raise InvalidToken("bad signature") from None
    except jwt.PyJWTError as e:
        raise InvalidToken(f"unreadable token: {e}") from None
    if (now if now is not None else time.time()) >= float(claims["exp"]):
        raise InvalidToken("token expired")
    if claims.get("jti") in ring.revoked():
        raise InvalidToken("token revoked")
    return claims


def _oidc_claims(ring: Keyring, token: str) -> dict[str, Any]:
    assert ring.oidc is not None
    o = ring.oidc
    if ring._jwks is None:
        ring._jwks = jwt.PyJWKClient(o.jwks_url, cache_keys=True, lifespan=300, timeout=5)
    try:
        signing = ring._jwks.get_signing_key_from_jwt(token)
    except jwt.PyJWKClientError as e:
        raise InvalidToken(f"identity provider key: {e}") from None
    raw = jwt.decode(
        token, signing.key, algorithms=["RS256", "ES256"], audience=o.audience, issuer=o.issuer,
        options={"require": ["sub", "iat", "exp"], "verify_exp": False},
    )  # fmt: skip
    if o.scope_claim not in raw:
        raise InvalidToken(f"identity provider token has no {o.scope_claim!r} claim")
    return {**raw, "scope": raw[o.scope_claim], "role": raw.get(o.role_claim, Role.BILLING_VIEWER.value)}


def verify(keys: bytes | Keyring, token: str, now: float | None = None) -> Scope:
    """The scope (with its role) of a valid token."""
    claims = claims_of(keys, token, now)
    try:
        return Scope.parse(str(claims["scope"])).with_role(Role(claims["role"]))
    except ValueError as e:
        raise InvalidToken(f"unreadable token: {e}") from None
