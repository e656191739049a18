"""Passwords, tokens and the login throttling rule."""

from __future__ import annotations

from chalicelib import auth


def test_production_hash_uses_owasp_scrypt_parameters_and_verifies() -> None:
    stored = auth.hash_password("correct horse battery")
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "5")
    assert len(salt) >= 21 and len(digest) >= 42  # 16-byte salt, 32-byte key
    assert auth.verify_password("correct horse battery", stored)
    assert not auth.verify_password("correct horse batterY", stored)


def test_same_password_gets_a_different_salt() -> None:
    cheap = auth.ScryptCost(1024, 8, 1)
    assert auth.hash_password("samesame", cheap) != auth.hash_password("samesame", cheap)


def test_malformed_stored_hashes_never_verify() -> None:
    for stored in ["", "plain", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$AA$AA"]:
        assert not auth.verify_password("whatever", stored)


def test_tokens_are_random_and_only_their_hash_is_kept() -> None:
    first, second = auth.new_token(), auth.new_token()
    assert first != second and len(first) >= 43
    assert auth.token_hash(first) == auth.token_hash(first) != first
    assert len(auth.token_hash(first)) == 64

