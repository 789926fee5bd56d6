"""What adwatch's Scrapy commands share (kept outside ``crawler/commands``, where every class becomes a command)."""

from __future__ import annotations

from typing import ClassVar

from scrapy.commands import ScrapyCommand


class ProjectCommand(ScrapyCommand):
    """A command of this project: options only, no positional arguments; ``summary`` is its one-line help."""

    requires_project = True
    requires_crawler_process = False
    summary: ClassVar[str] = ""

    def syntax(self) -> str:
        return "[options]"

    def short_desc(self) -> str:
        return self.summary
