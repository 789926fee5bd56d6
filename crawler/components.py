"""Adding a spider's own middlewares to the project's, instead of replacing them.

A spider's ``custom_settings`` *replaces* a component dict (``DOWNLOADER_MIDDLEWARES``, ``SPIDER_MIDDLEWARES``):
a spider that named its one middleware there would silently lose the project's (the session middleware, the
refusal outcome) and, in distributed mode (whose dicts are set at command-line priority), its own. Spiders add
theirs from ``update_settings`` with :func:`add_components` instead.
"""

from __future__ import annotations

from scrapy.settings import BaseSettings, SETTINGS_PRIORITIES


def add_components(settings: BaseSettings, key: str, components: dict[str, int]) -> None:
    """Merge ``components`` into the component dict ``key``, keeping what is there and its priority (at least
    the spider's)."""
    priority = max(settings.getpriority(key) or 0, SETTINGS_PRIORITIES["spider"])
    settings.set(key, {**settings.getdict(key), **components}, priority=priority)
