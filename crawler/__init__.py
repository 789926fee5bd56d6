"""adwatch crawler: platform spiders, items, settings and Scrapy commands."""
