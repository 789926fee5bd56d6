"""``scrapy clues export|respond|match|forget``: private clue matching with other institutions (线索对碰).

    scrapy clues export  --out ours.clues [--mode ecdh|hmac]   # our blinded clues, to send to partners
    scrapy clues respond --in theirs.clues --out reply.clues   # answer a partner's ECDH export
    scrapy clues match   --in reply.clues                      # a partner's response (ECDH) or export (HMAC)
    scrapy clues forget  --batch ID                            # drop one of our batches and its key
    scrapy clues index                                         # send the matches to Elasticsearch again

With Elasticsearch configured, ``match`` also updates the indexed posts and accounts it concerns
(``seen_by_members``, ``clue_matches``: pipelines/clues/es.py).

See docs/clue-matching.md.
"""

from __future__ import annotations

import argparse

from elastic_transport import TransportError
from elasticsearch import ApiError
from scrapy.exceptions import NotConfigured, UsageError

from crawler.command_base import ProjectCommand
from pipelines.clues import ECDH, HMAC, ClueConfig, ClueExchange, ClueFileError, ClueKeyError
from pipelines.clues.es import MatchIndexConfig, update_indexed_matches

ACTIONS = ("export", "respond", "match", "forget", "index")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in counts.items()) or "none"


class Command(ProjectCommand):
    summary = "Match clues privately with other institutions: export | respond | match | forget | index"

    def syntax(self) -> str:
        return "export|respond|match|forget|index [options]"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--in", dest="infile", default=None, help="the partner's file (respond, match)")
        parser.add_argument("--out", default=None, help="the file to write (export, respond)")
        parser.add_argument("--mode", choices=("ecdh", "hmac"), default="ecdh", help="export: ECDH PSI on "
                            "ristretto255 (the default) or keyed hashes under the alliance key")
        parser.add_argument("--member", default=None, help="our member name, else ADWATCH_CLUES_MEMBER")
        parser.add_argument("--hmac-key-file", default=None, help="alliance key file, else ADWATCH_CLUES_HMAC_KEY_FILE")
        parser.add_argument("--batch", default=None, help="forget: the batch id")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) != 1 or args[0] not in ACTIONS:
            raise UsageError(f"say what to do: {' | '.join(ACTIONS)}")
        action = args[0]
        needed = {"export": ("out",), "respond": ("infile", "out"), "match": ("infile",), "forget": ("batch",),
                  "index": ()}[action]
        missing = [f"--{'in' if n == 'infile' else n}" for n in needed if not getattr(opts, n)]
        if missing:
            raise UsageError(f"clues {action} needs {' and '.join(missing)}", print_help=False)
        exchange = ClueExchange(ClueConfig.from_settings(self.settings, opts.member, opts.hmac_key_file))
        try:
            getattr(self, f"_{action}")(exchange, opts)
        except (ClueFileError, ClueKeyError) as exc:
            print(f"adwatch: clues {action}: {exc}", flush=True)
            self.exitcode = 1

    def _export(self, exchange: ClueExchange, opts: argparse.Namespace) -> None:
        mode = {"ecdh": ECDH, "hmac": HMAC}[opts.mode]
        exported, clues = exchange.export(opts.out, mode)
        print(f"adwatch: exported batch {exported.batch} ({mode}) from {clues.posts} posts: "
              f"{_counts(exported.counts())} -> {opts.out}", flush=True)
        if clues.unusable:
            print(f"adwatch: {clues.unusable} stored contacts no longer read as a clue and were left out", flush=True)

    def _respond(self, exchange: ClueExchange, opts: argparse.Namespace) -> None:
        response, unusable = exchange.respond(opts.infile, opts.out)
        print(f"adwatch: answered batch {response.batch}: our clues {_counts(response.counts())} -> {opts.out}", flush=True)
        if unusable:
            print(f"adwatch: {unusable} of the partner's entries were not valid and stay unmatched", flush=True)

    def _match(self, exchange: ClueExchange, opts: argparse.Namespace) -> None:
        result = exchange.match(opts.infile)
        if result.key_mismatch:
            print(f"adwatch: {result.member} used another alliance key: nothing can match; ask for the current key",
                  flush=True)
            self.exitcode = 1
            return
        print(f"adwatch: {result.member} also holds {len(result.matched)} of our clues "
              f"({_counts(result.kinds())}; compared {_counts(result.compared)}); recorded in clue_matches", flush=True)
        if result.unusable:
            print(f"adwatch: {result.unusable} of the partner's entries were not valid and were skipped", flush=True)
        self._update_index(result.touched_posts, result.touched_accounts)

    def _index(self, exchange: ClueExchange, opts: argparse.Namespace) -> None:
        posts, accounts = exchange.matched_refs()
        if not self._update_index(posts, accounts):
            print("adwatch: clues index: Elasticsearch is not configured (ADWATCH_ES_URL)", flush=True)
            self.exitcode = 1

    def _update_index(self, posts: set[str], accounts: set[str]) -> bool:
        """The matches onto the indexed documents; False when there is no index to update."""
        assert self.settings is not None
        try:
            config = MatchIndexConfig.from_settings(self.settings)
        except NotConfigured:
            return False
        try:
            done = update_indexed_matches(config, posts, accounts)
        except (TransportError, ApiError) as exc:
            print(f"adwatch: the index at {config.es.safe_url} was not updated ({type(exc).__name__}); the matches are "
                  "in the store: run `scrapy clues index` when it is back", flush=True)
            self.exitcode = 1
            return True
        print(f"adwatch: index updated: {done.posts} posts, {done.accounts} accounts "
              f"({done.missing} not indexed yet, {done.failed} failed)", flush=True)
        if done.failed:
            self.exitcode = 1
        return True

    def _forget(self, exchange: ClueExchange, opts: argparse.Namespace) -> None:
        if exchange.forget(opts.batch):
            print(f"adwatch: forgot batch {opts.batch} and its key", flush=True)
        else:
            print(f"adwatch: no batch {opts.batch}", flush=True)
            self.exitcode = 1
