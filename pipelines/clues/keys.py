"""Keys: one secret ECDH scalar per exported batch (a file of its own, owner-only), and the alliance HMAC key.

Neither ever goes into an exchange file, a log line, stats or the store. A batch key lives from ``export`` until
the batch is forgotten (``scrapy clues forget``): partners' responses to that batch can be matched until then.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.clues.fileformat import valid_name
from pipelines.clues.psi import MIN_ALLIANCE_KEY, check_scalar


class ClueKeyError(Exception):
    """A key that is missing or unusable; the message says which and what to do."""


class BatchKeys:
    """The secret scalars of our exported batches, ``<dir>/<batch>.key`` (mode 0600, dir 0700)."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)

    def _path(self, batch: str) -> Path:
        if not valid_name(batch):
            raise ClueKeyError(f"not a batch id: {batch!r}")
        return self.dir / f"{batch}.key"

    def save(self, batch: str, scalar: bytes) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        path = self._path(batch)
        # Created owner-only from the first byte (no window with the default umask), never overwritten.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(scalar)

    def load(self, batch: str) -> bytes:
        path = self._path(batch)
        try:
            return check_scalar(path.read_bytes())
        except FileNotFoundError:
            raise ClueKeyError(f"no key for batch {batch} in {self.dir}: not exported here, or forgotten") from None
        except ValueError:
            raise ClueKeyError(f"{path} is not a batch key") from None

    def forget(self, batch: str) -> bool:
        path = self._path(batch)
        if path.exists():
            path.unlink()
            return True
        return False


def load_alliance_key(path: str | Path | None) -> bytes:
    """The alliance HMAC key: the bytes of a file (surrounding whitespace ignored), at least 32 of them."""
    if not path:
        raise ClueKeyError("hmac mode needs the alliance key file (ADWATCH_CLUES_HMAC_KEY_FILE or --hmac-key-file)")
    try:
        key = Path(path).read_bytes().strip()
    except OSError as exc:
        raise ClueKeyError(f"cannot read the alliance key file {path}: {exc.strerror}") from None
    if len(key) < MIN_ALLIANCE_KEY:
        raise ClueKeyError(f"the alliance key in {path} is too short ({len(key)} bytes; at least {MIN_ALLIANCE_KEY})")
    return key
