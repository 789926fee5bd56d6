"""One spider per platform, all built on :class:`crawler.platforms.base.PlatformSpider`."""
