"""Clue matching between institutions (线索对碰) without handing over raw clues.

Public API (the ``scrapy clues`` command, and later the operation/account code, the index and the reports):

    normalise_clue("wechat", "VX：Abc_123")          # Clue("wechat", "abc_123") — the detector's normalisation
    ClueExchange(ClueConfig.from_settings(s))       # export / respond / match / forget over the store
    with ClueBook(store_path) as book:
        book.seen_by("phone", "138-0013-8000")      # how many other members hold this contact (any spelling)
        book.seen_by("account", "weibo:123456")     # … or this account
        book.seen_by_posts(uids); book.seen_by_accounts(keys); book.matches()

Modules: :mod:`.normalise` (what a clue is), :mod:`.psi` (library primitives), :mod:`.fileformat` (the exchange
file), :mod:`.keys`, :mod:`.protocol` (the steps), :mod:`.book` (the store's clue tables), :mod:`.exchange`,
:mod:`.fields` (what an index document carries about the matches), :mod:`.es` (updating indexed documents).
"""

from pipelines.clues.book import ClueBook, ClueMatch, Held
from pipelines.clues.exchange import ClueConfig, ClueExchange
from pipelines.clues.fileformat import ClueFile, ClueFileError
from pipelines.clues.keys import ClueKeyError
from pipelines.clues.normalise import ACCOUNT, KINDS, Clue, ClueSet, collect_clues, normalise_clue
from pipelines.clues.protocol import MatchResult
from pipelines.clues.psi import ECDH, HMAC

__all__ = [
    "ACCOUNT", "KINDS", "ECDH", "HMAC", "Clue", "ClueBook", "ClueConfig", "ClueExchange", "ClueFile", "ClueFileError",
    "ClueKeyError", "ClueMatch", "ClueSet", "Held", "MatchResult", "collect_clues", "normalise_clue",
]
