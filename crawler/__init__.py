"""adwatch crawler: platform spiders, items, settings and Scrapy commands."""

from scrapy.downloadermiddlewares import cookies as _cookies
from tldextract import TLDExtract

# Scrapy's cookie middleware asks tldextract for the public suffix list, whose default fetches it from the internet
# on first use (and logs a traceback when that fails). adwatch runs offline: it uses the snapshot that ships inside
# the tldextract wheel, never a download.
_cookies._split_domain = TLDExtract(suffix_list_urls=(), include_psl_private_domains=True)
