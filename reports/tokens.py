"""API tokens: a scope signed with the deployment's secret (HMAC-SHA256), checked without a lookup.

A token reads ``om1.<payload>.<signature>`` where the payload is base64url JSON ``{"scope": ..., "exp": ...}``.
The secret comes from OMNIMETER_API_SECRET, else from ``<data dir>/api_secret`` (created on first use,
mode 0600). Rotating the secret revokes every token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path

from pydantic import SecretStr

from omnimeter.errors import BadInput
from omnimeter.reports.scope import Scope


class InvalidToken(BadInput):
    """Missing, malformed, forged or expired."""


def load_secret(data_dir: Path, configured: SecretStr | str = "") -> bytes:
    """The configured secret, else the one kept in ``<data_dir>/api_secret`` (created on first use)."""
    value = configured.get_secret_value() if isinstance(configured, SecretStr) else configured
    if value:
        return value.encode()
    path = data_dir / "api_secret"
    if not path.exists():
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
    return path.read_text().strip().encode()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue(secret: bytes, scope: Scope, valid_s: int | None = None) -> str:
    payload = _b64(json.dumps({"scope": str(scope), "exp": int(time.time()) + valid_s if valid_s else None}).encode())
    sig = _b64(hmac.new(secret, payload.encode(), hashlib.sha256).digest())
    return f"om1.{payload}.{sig}"


def verify(secret: bytes, token: str, now: float | None = None) -> Scope:
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "om1":
        raise InvalidToken("not an omnimeter token")
    good = _b64(hmac.new(secret, parts[1].encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(good, parts[2]):
        raise InvalidToken("bad signature")
    try:
        doc = json.loads(_unb64(parts[1]))
        scope = Scope.parse(doc["scope"])
    except (ValueError, KeyError, TypeError):
        raise InvalidToken("unreadable token") from None
    if doc.get("exp") and (now or time.time()) > doc["exp"]:
        raise InvalidToken("token expired")
    return scope
