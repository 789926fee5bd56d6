"""The exchange as ``scrapy clues`` runs it: settings read once, clues read from the store, files in and out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Self

from scrapy.settings import BaseSettings

from pipelines.clues.book import ClueBook
from pipelines.clues.fileformat import EXPORT, ClueFile, ClueFileError, valid_name
from pipelines.clues.keys import BatchKeys, load_alliance_key
from pipelines.clues.normalise import ClueSet, collect_clues
from pipelines.clues.protocol import MatchResult, export_ecdh, export_hmac, match_hmac, match_response, respond
from pipelines.clues.psi import ECDH, HMAC
from pipelines.store import SqliteStore, data_dir, store_path


@dataclass(frozen=True)
class ClueConfig:
    store: Path
    key_dir: Path  # our batch keys; never shared
    member: str  # our institution's name in the alliance, written into every file
    alliance_key_file: Path | None  # HMAC mode only

    @classmethod
    def from_settings(cls, settings: BaseSettings, member: str | None = None, alliance_key_file: str | None = None) -> Self:
        key_file = alliance_key_file or settings.get("ADWATCH_CLUES_HMAC_KEY_FILE") or None
        return cls(
            store=store_path(settings),
            key_dir=Path(settings.get("ADWATCH_CLUES_KEY_DIR") or data_dir(settings) / "clue-keys"),
            member=member or settings.get("ADWATCH_CLUES_MEMBER") or "",
            alliance_key_file=Path(key_file) if key_file else None,
        )


class ClueExchange:
    """export / respond / match / forget over one store, as the command's sub-commands."""

    def __init__(self, config: ClueConfig) -> None:
        self.config = config
        self.keys = BatchKeys(config.key_dir)

    def _member(self) -> str:
        if not valid_name(self.config.member):
            raise ClueFileError("our member name is missing or not a plain name (ADWATCH_CLUES_MEMBER or --member: "
                                "letters, digits, _ . -)")
        return self.config.member

    def our_clues(self) -> ClueSet:
        store = SqliteStore(self.config.store)
        try:
            return collect_clues(store.iter_posts())
        finally:
            store.close()

    def export(self, out: str | Path, mode: str = ECDH) -> tuple[ClueFile, ClueSet]:
        member = self._member()
        if mode not in (ECDH, HMAC):
            raise ClueFileError(f"unknown mode {mode!r} (expected {ECDH} or {HMAC})")
        alliance_key = load_alliance_key(self.config.alliance_key_file) if mode == HMAC else b""
        clues = self.our_clues()
        if mode == HMAC:
            exported = export_hmac(clues, member, alliance_key)
        else:
            with ClueBook(self.config.store) as book:
                exported = export_ecdh(clues, member, book, self.keys)
        exported.write(out)
        return exported, clues

    def respond(self, partner_file: str | Path, out: str | Path) -> tuple[ClueFile, int]:
        partner = ClueFile.read(partner_file)
        response, unusable = respond(partner, self.our_clues(), self._member())
        response.write(out)
        return response, unusable

    def match(self, partner_file: str | Path) -> MatchResult:
        partner = ClueFile.read(partner_file)
        with ClueBook(self.config.store) as book:
            before_posts, before_accounts = book.matched_refs()
            if partner.type == EXPORT and partner.mode == HMAC:
                alliance_key = load_alliance_key(self.config.alliance_key_file)
                result = match_hmac(partner, self.our_clues(), alliance_key, book)
            else:
                result = match_response(partner, book, self.keys)
            after_posts, after_accounts = book.matched_refs()
        # A member that no longer holds a clue leaves refs that matched before: their count goes down (maybe to 0).
        result.touched_posts = before_posts | after_posts
        result.touched_accounts = before_accounts | after_accounts
        return result

    def forget(self, batch: str) -> bool:
        """Key rotation: drop one of our batches and its key; responses to it can no longer be matched."""
        with ClueBook(self.config.store) as book:
            had_batch = book.forget_batch(batch)
        return self.keys.forget(batch) or had_batch

    def matched_refs(self) -> tuple[set[str], set[str]]:
        """Every post uid and account key a match points at now."""
        with ClueBook(self.config.store) as book:
            return book.matched_refs()

    def batches(self) -> list[tuple[str, str, str, int]]:
        with ClueBook(self.config.store) as book:
            return book.batches()
