"""Password hashing and session tokens (login throttling: chalicelib/limits.py).

Passwords: stdlib scrypt with OWASP's parameters (N=2**14, r=8, p=5: 16 MiB,
fits a 128 MB Lambda), a 16-byte random salt, parameters stored with the hash
so they can be raised later without invalidating accounts. Tokens: 32 random
bytes; only their SHA-256 is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

SESSION_LIFETIME = 7 * 24 * 3600


@dataclass(frozen=True)
class ScryptCost:
    n: int = 2**14
    r: int = 8
    p: int = 5

    @classmethod
    def parse(cls, text: str) -> ScryptCost:
        n, r, p = (int(part) for part in text.split(","))
        return cls(n, r, p)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )


def hash_password(password: str, cost: ScryptCost = ScryptCost()) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, cost.n, cost.r, cost.p)
    return f"scrypt${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, _unb64(digest))


# Verified against when the username does not exist, so that a wrong username
# costs the same time as a wrong password.
def dummy_hash(cost: ScryptCost) -> str:
    return hash_password(secrets.token_urlsafe(12), cost)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()

