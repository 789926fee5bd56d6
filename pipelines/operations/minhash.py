"""MinHash signatures of character 3-grams, many texts per numpy pass, equal to datasketch's own.

datasketch is the reference: ``MinHash(num_perm=NUM_PERM, seed=10, hashfunc=zlib.crc32)`` fed the UTF-8 bytes of
each distinct 3-gram (its permutations, its affine32 scheme: MurmurHash3's finalizer, then ``a*h+b`` mod 2^32).
Signatures stored by earlier runs were made that way, so these must be the same values (tests/test_operations.py
compares them). What changes is the cost: one MinHash object and one Python call per 3-gram made the signature
most of a post's linking time. Here a batch of texts is one array of code points, and each 3-gram's CRC-32 comes
from three table lookups: CRC-32 is affine over GF(2), so for messages of one length
``crc(a‖b‖c) = crc(a‖0‖0) ^ crc(0‖b‖0) ^ crc(0‖0‖c)``, and a 3-gram of CJK characters is always 9 bytes (3 per
character). The few 3-grams with another character (CJK extensions beyond the BMP, which traditional → simplified
folding produces, accented letters …) are hashed one by one, as before.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from functools import cache

import numpy as np
from datasketch import MinHash

NUM_PERM = 64
SHINGLE = 3
MIN_SHINGLES = 20  # a shorter script ("征信修复，成功率高，加V咨询") is every outfit's: no evidence of one
# The shingle hash: CRC-32, stable across processes (stored signatures stay comparable), ~10x cheaper than SHA-1.
_REFERENCE = MinHash(num_perm=NUM_PERM, seed=10, hashfunc=zlib.crc32)
if _REFERENCE.scheme != "affine32":  # another datasketch default: the values below would not match its own
    raise ImportError(f"pipelines.operations expects datasketch's affine32 MinHash scheme, not {_REFERENCE.scheme}")
_PERM_A, _PERM_B = (np.asarray(x, dtype=np.uint32) for x in _REFERENCE.permutations)
DTYPE = _REFERENCE.hashvalues.dtype
_ROWS = 1 << 12  # 3-grams per permutation pass: a 64-column uint32 matrix of 1 MB stays in the CPU cache
_BATCH_CHARS, _BATCH_TEXTS = 1 << 16, 1 << 12  # scripts per batch (fewer than 2^16: their number is packed in a key)
# The characters whose UTF-8 form is 3 bytes (CJK and most of the BMP, not the surrogates).
_LOW, _HIGH, _SURROGATES = 0x800, 0xFFFF, (0xD800, 0xDFFF)


def grams(script: str) -> set[str]:
    """The distinct 3-grams of ``script``."""
    return set(map("".join, zip(*(script[i:] for i in range(SHINGLE)))))


def _encode(gram: str) -> bytes:
    return gram.encode("utf-8", "surrogatepass")


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (datasketch's pre-mix for the affine32 scheme); wraps modulo 2^32."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


@cache
def _crc_tables() -> np.ndarray:
    """``tables[k][c]``: CRC-32 of character ``c``'s UTF-8 bytes at place ``k`` of a 9-byte message of zeros."""
    tables = np.zeros((SHINGLE, _HIGH + 1), dtype=np.uint32)
    zeros = b"\0\0\0"
    for c in range(_LOW, _HIGH + 1):
        if _SURROGATES[0] <= c <= _SURROGATES[1]:
            continue
        b = chr(c).encode("utf-8")
        tables[0, c] = zlib.crc32(b + zeros + zeros)
        tables[1, c] = zlib.crc32(zeros + b + zeros)
        tables[2, c] = zlib.crc32(zeros + zeros + b)
    return tables


def _minima(hashes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Each segment's signature: the minimum of its 3-gram hashes under every permutation."""
    mixed = _fmix32(hashes)
    out = np.empty((len(starts), NUM_PERM), dtype=np.uint32)
    ends = np.append(starts[1:], len(hashes))
    first = 0  # the first segment not yet finished
    for lo in range(0, len(hashes), _ROWS):
        hi = min(lo + _ROWS, len(hashes))
        permuted = np.multiply.outer(mixed[lo:hi], _PERM_A)
        permuted += _PERM_B
        # Segments overlapping rows lo..hi: their minimum over this slice, folded into what earlier slices gave.
        last = int(np.searchsorted(starts, hi, side="left"))  # segments starting before hi
        cuts = np.clip(starts[first:last], lo, hi) - lo
        part = np.minimum.reduceat(permuted, cuts, axis=0)
        carried = starts[first:last] < lo
        out[first:last] = np.where(carried[:, None], np.minimum(out[first:last], part), part)
        first += int(np.count_nonzero(ends[first:last] <= hi))
    return out


def _batches(scripts: Iterable[str]) -> Iterator[list[str]]:
    batch: list[str] = []
    size = 0
    for script in scripts:
        batch.append(script)
        size += len(script)
        if size >= _BATCH_CHARS or len(batch) >= _BATCH_TEXTS:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def signatures(scripts: Iterable[str]) -> list[np.ndarray | None]:
    """The MinHash signature of each script's distinct 3-grams; None for fewer than ``MIN_SHINGLES`` of them."""
    return [sig for batch in _batches(scripts) for sig in _batch(batch)]


def _batch(scripts: list[str]) -> list[np.ndarray | None]:
    joined = "".join(scripts)
    lengths = np.fromiter(map(len, scripts), dtype=np.int64, count=len(scripts))
    points = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    owner = np.repeat(np.arange(len(scripts), dtype=np.uint64), lengths)
    # A 3-gram starts wherever its third character belongs to the same script.
    start = np.flatnonzero(owner[:-2] == owner[2:]) if len(points) >= SHINGLE else np.empty(0, dtype=np.intp)
    odd = (points < _LOW) | (points > _HIGH) | ((points >= _SURROGATES[0]) & (points <= _SURROGATES[1]))
    odd_gram = odd[start] | odd[start + 1] | odd[start + 2]
    # 3-grams of 3-byte characters: distinct per script through (script, c1, c2, c3) packed in 64 bits; their
    # CRC-32 from the tables.
    fast = start[~odd_gram]
    keys = np.sort(owner[fast] << np.uint64(48) | points[fast].astype(np.uint64) << np.uint64(32)
                   | points[fast + 1].astype(np.uint64) << np.uint64(16) | points[fast + 2].astype(np.uint64))
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys  # np.unique, cheaper
    tables, low16 = _crc_tables(), np.uint64(0xFFFF)
    who = keys >> np.uint64(48)
    hashes = (tables[0][(keys >> np.uint64(32)) & low16] ^ tables[1][(keys >> np.uint64(16)) & low16]
              ^ tables[2][keys & low16])
    # The few 3-grams with another character (CJK extensions beyond the BMP, accented letters …): one by one.
    rare = {(int(k), joined[i : i + SHINGLE]) for k, i in zip(owner[start[odd_gram]].tolist(), start[odd_gram].tolist())}
    if rare:
        who = np.concatenate([who, np.fromiter((k for k, _ in rare), dtype=np.uint64, count=len(rare))])
        hashes = np.concatenate([hashes, np.fromiter((zlib.crc32(_encode(g)) for _, g in rare), dtype=np.uint32,
                                                     count=len(rare))])
        order = np.argsort(who, kind="stable")
        who, hashes = who[order], hashes[order]
    counts = np.bincount(who.astype(np.intp), minlength=len(scripts))
    present = np.flatnonzero(counts)
    out: list[np.ndarray | None] = [None] * len(scripts)
    for k, sig in zip(present.tolist(), _minima(hashes, (np.cumsum(counts) - counts)[present])):
        if counts[k] >= MIN_SHINGLES:
            out[k] = sig.astype(DTYPE, copy=False)
    return out


def from_bytes(blob: bytes) -> np.ndarray:
    """A signature as stored (its values' bytes)."""
    return np.frombuffer(blob, dtype=DTYPE).copy()
