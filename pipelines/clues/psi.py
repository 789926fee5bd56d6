"""The two ways to turn a clue into something a partner may see, both on library primitives only.

* ECDH PSI on ristretto255 (libsodium through pysodium): a clue is hashed onto the group
  (``crypto_core_ristretto255_from_hash`` of SHA-512 of a domain-separated message), then raised to a secret
  scalar (``crypto_scalarmult_ristretto255``). Blinding commutes — ``(H(x)^a)^b = (H(x)^b)^a`` — which is the
  whole protocol; ristretto255 is a prime-order group, so no cofactor or small-subgroup care is needed, and
  libsodium rejects invalid encodings and the identity.
* Keyed hashes: HMAC-SHA256 under an alliance key shared by the members (stdlib ``hmac``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

import pysodium

from pipelines.clues.normalise import Clue

ECDH = "ecdh-ristretto255"
HMAC = "hmac-sha256"
MODES = (ECDH, HMAC)
ELEMENT_BYTES = 32  # a ristretto255 encoding and an HMAC-SHA256 tag alike
ABSENT = bytes(ELEMENT_BYTES)  # the identity's encoding: never a blinded clue, so it marks an unusable entry
DOMAIN = b"adwatch-clues/v1"
MIN_ALLIANCE_KEY = 32


def _message(clue: Clue) -> bytes:
    # Kind and value both in, NUL-separated (neither can hold a NUL): a phone and a QQ number with the same
    # digits are different clues.
    return b"\0".join((DOMAIN, clue.kind.encode(), clue.value.encode("utf-8")))


def new_scalar() -> bytes:
    """A fresh secret blinding key (uniform non-zero scalar mod the group order)."""
    return pysodium.crypto_core_ristretto255_scalar_random()


def check_scalar(scalar: bytes) -> bytes:
    if len(scalar) != pysodium.crypto_core_ristretto255_SCALARBYTES or scalar == bytes(len(scalar)):
        raise ValueError("not a ristretto255 scalar")
    return scalar


def hash_to_group(clue: Clue) -> bytes:
    return pysodium.crypto_core_ristretto255_from_hash(hashlib.sha512(_message(clue)).digest())


def blind_clues(clues: Iterable[Clue], scalar: bytes) -> list[bytes]:
    """``H(clue)^scalar`` for each clue, in order."""
    mult, from_hash, sha512 = pysodium.crypto_scalarmult_ristretto255, pysodium.crypto_core_ristretto255_from_hash, hashlib.sha512
    return [mult(scalar, from_hash(sha512(_message(c)).digest())) for c in clues]


def reblind(elements: Iterable[bytes], scalar: bytes) -> tuple[list[bytes], int]:
    """Each element raised to ``scalar``, in order; an element that is no group element (or the identity)
    becomes :data:`ABSENT` so positions stay aligned. Returns the elements and how many were unusable."""
    mult = pysodium.crypto_scalarmult_ristretto255
    out: list[bytes] = []
    bad = 0
    for element in elements:
        if element == ABSENT:
            out.append(ABSENT)
            bad += 1
            continue
        try:
            out.append(mult(scalar, element))
        except ValueError:  # libsodium: not a canonical ristretto255 encoding, or the identity
            out.append(ABSENT)
            bad += 1
    return out, bad


def hmac_tokens(clues: Iterable[Clue], key: bytes) -> list[bytes]:
    """HMAC-SHA256 under the alliance key of each clue, in order."""
    return [hmac.new(key, _message(c), hashlib.sha256).digest() for c in clues]


def key_id(key: bytes) -> str:
    """A short public name of an alliance key (an HMAC of a constant), so members see at once that they hold
    different keys; it tells nothing about the key."""
    return hmac.new(key, DOMAIN + b"\0key-id", hashlib.sha256).hexdigest()[:16]
