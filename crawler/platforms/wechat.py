"""WeChat official-account articles, searched through Sogou's WeChat search (``weixin.sogou.com/weixin?type=2``).

A result links to Sogou's ``/link?url=…`` page, whose script assembles the article's (temporary) address on
``mp.weixin.qq.com`` piece by piece (``url += '…'``) and jumps there; the article page carries the text and
pictures in ``#js_content`` (``img[data-src]``) and the account, ids and publish time in its script (``var biz``,
``mid``, ``idx``, ``sn``, ``nickname``, ``ct``). Sogou answers a suspected bot with a redirect to ``/antispider/``.

WeChat Moments and Channels cannot be searched from outside the app at all: they come in by link
(``scrapy add-url``) — Channels links are not fetchable either, so they are out of reach for now.

Follow-ups: an article's comments (留言) are out of reach from the web — WeChat serves them only to a client session —
so the spider has no ``comments_request``; the account's intro (功能介绍) comes from Sogou's account search.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from scrapy.http import Request, Response

from crawler.followups import Profile
from crawler.items import AdPost
from crawler.platforms.base import PlatformSpider
from crawler.utils import CN_TZ, as_int

ARTICLE_HOST = "mp.weixin.qq.com"
_PIECE = re.compile(r"url\s*\+=\s*'([^']*)'")
_STORED_ID = re.compile(r"(?P<biz>Mz[A-Za-z0-9+/]+=*)_(?P<mid>\d+)_(?P<idx>\d+)")
# The article page's own words when it no longer shows the article.
GONE_MARKERS = {
    "该内容已被发布者删除": "deleted",
    "此内容因违规无法查看": "removed",  # taken down by WeChat: a takedown that worked
    "此内容被投诉且经审核涉嫌侵权": "removed",
    "该公众号已迁移": "moved",
    "链接已过期": "expired",
}
VERIFY_MARKERS = ("环境异常", "完成验证后即可继续访问")


def script_var(text: str, name: str) -> str:
    """A ``var name = "…"`` (or ``htmlDecode("…")``, or ``"" || "…"``) value of the article page's script."""
    m = re.search(rf"var\s+{name}\s*=\s*(?:htmlDecode\()?([\"'])(.*?)\1\s*(?:\)\s*)?(?:\|\|\s*([\"'])(.*?)\3)?", text)
    if not m:
        return ""
    return htmllib.unescape(m[2] or m[4] or "")


class WechatSpider(PlatformSpider):
    """Searches Sogou's WeChat article search, follows each result to its article on mp.weixin.qq.com."""

    name = "wechat"
    html_text = True
    url_patterns = (
        r"https?://mp\.weixin\.qq\.com/s/(?P<id>[A-Za-z0-9_-]{16,})/?(?:[?#].*)?",
        r"https?://mp\.weixin\.qq\.com/s\?(?P<id>[^#]*(?:__biz|src)=[^#]*)(?:#.*)?",
        r"https?://weixin\.sogou\.com/link\?(?P<id>[^#]*url=[^#]*)(?:#.*)?",
    )
    link_hosts = ("mp.weixin.qq.com", "weixin.sogou.com")
    url_examples = (
        ("https://mp.weixin.qq.com/s/Gx1lC7xJ7G4T2kY1s8aQzw", "Gx1lC7xJ7G4T2kY1s8aQzw"),
        ("https://mp.weixin.qq.com/s?__biz=MzIxNDU2Nzg5MA==&mid=2247483650&idx=1&sn=0a1b2c3d4e5f60718293a4b5c6d7e8f9#rd",
         "__biz=MzIxNDU2Nzg5MA==&mid=2247483650&idx=1&sn=0a1b2c3d4e5f60718293a4b5c6d7e8f9"),
        ("https://mp.weixin.qq.com/s?src=11&timestamp=1790677247&ver=6996&signature=c4XtL7f5yWA*L9&new=1",
         "src=11&timestamp=1790677247&ver=6996&signature=c4XtL7f5yWA*L9&new=1"),
        ("https://weixin.sogou.com/link?url=dn9a_-gY295K0Rci_xozVXfdMkSQTLW6cwJThYulHEtVjXrGTiVgS&type=2&query=x",
         "url=dn9a_-gY295K0Rci_xozVXfdMkSQTLW6cwJThYulHEtVjXrGTiVgS&type=2&query=x"),
    )

    # --- search ----------------------------------------------------------------------------------------
    def search_request(self, keyword: str, page: int = 1) -> Request:
        query = urlencode({"type": 2, "s_from": "input", "query": keyword, "ie": "utf8", "page": page})
        return Request(f"{self.cfg.origin}/weixin?{query}", callback=self.parse_search,
                       cb_kwargs={"keyword": keyword, "page": page})

    def parse_search(self, response: Response, keyword: str, page: int) -> Iterator[Any]:
        if "/antispider" in response.url:
            yield self.refused("antispider", response)
            return
        self.count("pages")
        # A result shows none of the article's own ids, only Sogou's docid (``d``): the listed posts go by it (the
        # article is stored with it as its listing_id). A result without one is always read.
        listed: list[str] = []
        for li in response.css("ul.news-list > li"):
            href = li.css("div.txt-box h3 a::attr(href)").get()
            if not href:
                continue
            listing_id = f"sogou:{docid}" if (docid := li.attrib.get("d")) else None
            if listing_id:
                listed.append(listing_id)
            if listing_id is None or self.is_due(listing_id, keyword):
                yield self.link_request(response.urljoin(href), keyword, listing_id)
        if not response.css("a#sogou_next"):
            self.count("end_of_results")
        elif page >= self.cfg.max_pages:
            self.count("max_pages_reached")
        elif self.keep_paging(keyword, listed):
            yield self.search_request(keyword, page + 1)

    def link_request(self, url: str, keyword: str | None, listing_id: str | None = None) -> Request:
        return Request(url, callback=self.parse_link, cb_kwargs={"keyword": keyword, "listing_id": listing_id},
                       headers={"Referer": f"{self.cfg.origin}/weixin"})

    def parse_link(self, response: Response, keyword: str | None, listing_id: str | None = None) -> Iterator[Any]:
        """Sogou's jump page: the article address, assembled by its script."""
        if "/antispider" in response.url:
            yield self.refused("antispider", response)
            return
        # Only &amp; is unescaped: html.unescape would read "&timestamp" as "×tamp".
        target = "".join(_PIECE.findall(response.text)).replace("&amp;", "&")
        parts = urlsplit(target)
        if parts.hostname != ARTICLE_HOST or not parts.path.startswith("/s"):
            # Never follow a jump page anywhere but to an article.
            self.warn_once("bad_link", "wechat: Sogou link %s does not lead to an article", response.url)
            return
        yield self.article_request(f"{self.host('article')}{parts.path}" + (f"?{parts.query}" if parts.query else ""),
                                   keyword, listing_id)

    # --- articles --------------------------------------------------------------------------------------
    def article_request(self, url: str, keyword: str | None, listing_id: str | None = None) -> Request:
        return Request(url, callback=self.parse_article, cb_kwargs={"keyword": keyword, "listing_id": listing_id})

    def post_request(self, post_id: str) -> Request:
        """By a share token, an article query (``__biz=…`` / ``src=11…``), a Sogou link, or a stored id."""
        article = self.host("article")
        if m := _STORED_ID.fullmatch(post_id):  # {biz}_{mid}_{idx}, as stored
            query = urlencode({"__biz": m["biz"], "mid": m["mid"], "idx": m["idx"]})
            return self.article_request(f"{article}/s?{query}", None)
        if "url=" in post_id and "__biz=" not in post_id:
            return self.link_request(f"{self.cfg.origin}/link?{post_id}", None)
        if "=" in post_id:
            return self.article_request(f"{article}/s?{post_id}", None)
        return self.article_request(f"{article}/s/{post_id}", None)

    def parse_article(self, response: Response, keyword: str | None, listing_id: str | None = None) -> Iterator[Any]:
        text = response.text
        if any(m in text[:6000] for m in VERIFY_MARKERS) and not response.css("#js_content"):
            yield self.refused("captcha", response)
            return
        if not response.css("#js_content"):
            reason = next((r for m, r in GONE_MARKERS.items() if m in text), None)
            if reason:
                self.count("deleted" if reason == "deleted" else reason)
                yield self.gone(response.url.rsplit("/", 1)[-1], response.url, reason)
            elif retry := self.retry(response.request, "malformed_page"):
                yield retry
            return
        yield self.post(response, keyword, listing_id)

    def post(self, response: Response, keyword: str | None, listing_id: str | None = None) -> AdPost:
        text = response.text
        biz, mid, idx, sn = (script_var(text, v) for v in ("biz", "mid", "idx", "sn"))
        idx = idx or "1"
        article = self.host("article")
        if biz and mid:
            post_id = f"{biz}_{mid}_{idx}"
            url = f"{article}/s?{urlencode({'__biz': biz, 'mid': mid, 'idx': idx, 'sn': sn})}"
        else:  # an odd page without its ids: keep it under the address it was read at
            post_id, url = response.url.rsplit("/", 1)[-1], response.url
        content = response.css("#js_content")
        nickname = script_var(text, "nickname") or (response.css("#js_name::text").get() or "").strip()
        created = as_int(script_var(text, "ct"))
        title = (response.css("#activity-name::text").get() or "").strip() or script_var(text, "msg_title")
        return self.make_post(
            post_id, url,
            author=self.make_author(biz or None, nickname,
                                    f"{article}/mp/profile_ext?action=home&__biz={quote(biz)}" if biz else None),
            title=title,
            text=content.get() or "",
            image_urls=[u for u in content.css("img::attr(data-src)").getall() if u],
            cover_url=script_var(text, "msg_cdn_url") or response.css('meta[property="og:image"]::attr(content)').get(),
            published_at=datetime.fromtimestamp(created, CN_TZ) if created else None,
            keyword=keyword,
            listing_id=listing_id,
            raw={"biz": biz, "mid": mid, "idx": idx, "sn": sn, "nickname": nickname,
                 "user_name": script_var(text, "user_name"), "ct": created, "title": title,
                 "content_html": content.get() or ""},
        )

    # --- follow-ups: the account's intro (功能介绍) through Sogou's account search; no comments ------------------
    # An article's comments (留言) are served only to a WeChat client session (``/mp/appmsg_comment`` wants the
    # client's key / pass_ticket), so comments_request stays None. The account's profile page (``/mp/profile_ext``)
    # wants the same; its intro is public in Sogou's account search (``/weixin?type=1&query={name}``), whose results
    # (``ul.news-list2 > li``) show 功能介绍 and 微信认证 under each account's name. The search is by name, so the intro
    # is taken only when exactly one account carries the author's exact name: never another account's words.
    def profile_request(self, post: AdPost) -> Request | None:
        name = (post.author.name or "").strip()
        if not name:
            return None
        query = urlencode({"type": 1, "s_from": "input", "query": name, "ie": "utf8", "_sug_": "n", "_sug_type_": ""})
        return Request(f"{self.cfg.origin}/weixin?{query}", callback=self.parse_account, cb_kwargs={"name": name},
                       dont_filter=True, headers={"Referer": f"{self.cfg.origin}/"})

    def parse_account(self, response: Response, name: str) -> Any:
        if "/antispider" in response.url:
            return self.refused("antispider", response)
        found = []
        for li in response.css("ul.news-list2 > li"):
            shown = "".join(li.css("p.tit a ::text").getall()).strip()
            if shown != name:
                continue
            fields = {"".join(dl.css("dt ::text").getall()).strip().rstrip("：:"):
                      "".join(dl.css("dd ::text").getall()).strip() for dl in li.css("dl")}
            found.append(Profile(bio=fields.get("功能介绍") or None, verified=bool(fields.get("微信认证")),
                                 name=shown))
        if len(found) != 1:
            self.count("profile_ambiguous" if found else "profile_not_found")
            return None
        return found[0]
