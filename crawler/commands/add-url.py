"""``scrapy add-url URL … [--file F]``: fetch posts by their links into the store, like swept ones, marked manual."""

from __future__ import annotations

import argparse
from pathlib import Path

from scrapy.exceptions import UsageError

from crawler.addurl import LinkRun, single_post_spider
from crawler.command_base import ProjectCommand
from crawler.links import LinkRouter, Route, UnknownLink


def read_links(path: str) -> list[str]:
    """One link per line; blank lines and ``#`` comments skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [s for line in lines if (s := line.strip()) and not s.startswith("#")]


class Command(ProjectCommand):
    requires_crawler_process = True
    summary = "Add posts by their links (share and short links too): fetch, OCR, detect, store, index"

    def syntax(self) -> str:
        return "[options] URL …"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--file", default=None, metavar="F", help="a file of links, one per line")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process is not None and self.settings is not None
        links = list(args) + (read_links(opts.file) if opts.file else [])
        if not links:
            raise UsageError("give at least one link (or --file F)")
        loader = self.crawler_process.spider_loader
        router = LinkRouter.from_settings(loader, self.settings)
        run = LinkRun(links)
        by_platform: dict[str, dict[int, Route]] = {}
        for index, link in enumerate(links):
            try:
                route = router.route(link)
            except UnknownLink as exc:
                run.unknown(index, exc.why)
                continue
            by_platform.setdefault(route.platform, {})[index] = route
        for platform, routes in sorted(by_platform.items()):
            crawler = self.crawler_process.create_crawler(single_post_spider(loader.load(platform)))
            run.watch(crawler, routes)
            self.crawler_process.crawl(crawler, links=[(i, r.post_id) for i, r in routes.items()])
        if by_platform:
            self.crawler_process.start()
        for line in run.lines():
            print(line, flush=True)
        self.exitcode = 0 if run.ok else 1
