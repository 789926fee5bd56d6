"""WeChat official-account articles through Sogou's WeChat search (weixin.sogou.com): the result list
(``/weixin?type=2``, ``ul.news-list``), Sogou's jump pages (``/link?url=…``, whose script assembles the article's
temporary address), and the articles themselves (mp.weixin.qq.com, same port: ``/s?__biz=…``, ``/s?src=11…``,
``/s/{token}``); the refusal state — a redirect to ``/antispider/``. A deleted article's page says
该内容已被发布者删除.

Video ads are posted as articles showing the video's stills.
"""

from __future__ import annotations

import base64
import hashlib
import html
from functools import cached_property
from typing import Any
from urllib.parse import quote, urlencode

from tests.simulator.core import Reply, Site, html_reply
from tests.simulator.corpus import KEYWORDS, SimPost, search
from tests.simulator.stills import pictures, still_reply

SEARCH = "/weixin"
ANTISPIDER_PAGE = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>搜狗搜索</title></head><body>"
                   "<div class='content-box'><p class='p2'>用户您好，我们的系统检测到您网络中存在异常访问请求。</p>"
                   "<img id='seccodeImage' src='util/seccode.php?tc=1'><input id='seccodeInput'></div></body></html>")
GONE_PAGE = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title></title></head><body><div class='weui-msg'>"
             "<div class='weui-msg__text-area'><h2 class='weui-msg__title'>该内容已被发布者删除</h2></div></div></body></html>")
LINK_PREFIX = "dn9a_-gY295K0Rci_xozVXfdMkSQTLW6"


class WechatSite(Site):
    name = "wechat"
    api_paths = frozenset({SEARCH})
    bench_by_id = True  # every result is read again through its jump page and article

    @classmethod
    def stored_id(cls, post: SimPost) -> str:
        return stored_id(post)

    @classmethod
    def new_post_id(cls, rng: Any) -> str:
        return str(rng.randint(2_247_483_000, 2_247_499_999))  # an article's mid

    @classmethod
    def new_author_id(cls, rng: Any) -> str:
        # __biz: base64 of the account's number, e.g. MzIxNDU2Nzg5MA==
        return base64.b64encode(str(rng.randint(3_000_000_000, 3_999_999_999)).encode()).decode()

    def refusal(self, path: str, query: dict[str, str]) -> Reply:
        back = quote(f"{path}?{urlencode(query)}", safe="")
        return 302, {"Location": f"{self.origin}/antispider/?from={back}"}, b""

    # --- ids --------------------------------------------------------------------------------------------------
    @staticmethod
    def token(post: SimPost) -> str:
        return base64.urlsafe_b64encode(hashlib.md5(post.post_id.encode()).digest()).decode().rstrip("=")

    @staticmethod
    def sn(post: SimPost) -> str:
        return hashlib.md5(f"sn|{post.post_id}".encode()).hexdigest()

    def signature(self, post: SimPost) -> str:
        return f"{self.token(post)[:12]}*{self.sn(post)[:8]}"

    @cached_property
    def _by_token(self) -> dict[str, SimPost]:
        return {key: p for p in self.posts for key in (self.token(p), self.signature(p))}

    def by_token(self, key: str) -> SimPost | None:
        """The post behind a share token or a temporary address's signature; posts published since start
        (``sim.add_post``) are looked up too, bench posts once their jump page issued the address."""
        if key not in self._by_token:
            self.remember(*self.posts)
        return self._by_token.get(key)

    def remember(self, *posts: SimPost) -> None:
        self._by_token.update({key: p for p in posts for key in (self.token(p), self.signature(p))})

    def canonical(self, post: SimPost) -> str:
        return f"https://mp.weixin.qq.com/s?__biz={post.author_id}&mid={post.post_id}&idx=1&sn={self.sn(post)}"

    # --- routes -----------------------------------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply | None:
        if (reply := self.followup_route(path, query)) is not None:
            return reply
        if path == SEARCH:
            return self.search(query)
        if path.startswith("/antispider"):
            return html_reply(ANTISPIDER_PAGE)
        if path == "/link":
            return self.link(query.get("url", ""))
        if path == "/s":
            post = self.post(query.get("mid", "")) if "mid" in query else self.by_token(query.get("signature", ""))
            return self.article(post)
        if path.startswith("/s/"):
            return self.article(self.by_token(path[len("/s/") :].strip("/")))
        if path.startswith("/mmbiz_jpg/"):
            stem = path.split("/")[2]
            return self.image_reply(stem) if stem.endswith("_cover") else still_reply(self, stem)
        return None

    def search(self, query: dict[str, str]) -> Reply:
        keyword = query.get("query", "")
        page = max(1, int(query.get("page") or 1))
        if self.config.ban.get("wechat") == "antispider":
            return self.refusal(SEARCH, query)
        if self.config.faults and keyword == KEYWORDS[0] and page == 2 and self.first_hit(f"502:{keyword}"):
            return 502, {"Content-Type": "text/html"}, b"<html><body>502 Bad Gateway</body></html>"
        posts, total = self.result_page(keyword, page)
        kw = html.escape(keyword)
        items = []
        for i, post in enumerate(posts):
            link = f"/link?url={LINK_PREFIX}{post.post_id.encode().hex()}&amp;type=2&amp;query={quote(keyword)}"
            items.append(
                f'<li id="sogou_vr_11002601_box_{i}" d="{self.token(post)}"><div class="img-box">'
                f'<a data-z="art" target="_blank" href="{link}"><img src="//img01.sogoucdn.com/net/a/04/link?appid=100520033&amp;url={post.post_id}"></a></div>'
                f'<div class="txt-box"><h3><a target="_blank" href="{link}" id="sogou_vr_11002601_title_{i}">'
                f'{html.escape(self.title(post)).replace(kw, f"<em><!--red_beg-->{kw}<!--red_end--></em>")}</a></h3>'
                f'<p class="txt-info" id="sogou_vr_11002601_summary_{i}">{html.escape(post.text[:60])}</p>'
                f'<div class="s-p" t="{int(post.created.timestamp())}"><span class="all-time-y2">{html.escape(post.author_name)}</span>'
                f"<span class=\"s2\"><script>document.write(timeConvert('{int(post.created.timestamp())}'))</script></span>"
                f"</div></div></li>")
        pager = ""
        if page * self.config.page_size < total:
            nxt = html.escape(f"?{urlencode({'query': keyword, 'type': 2, 'page': page + 1, 'ie': 'utf8'})}")
            pager = f'<div class="p-fy" id="pagebar_container"><span>{page}</span><a id="sogou_next" href="{nxt}" class="np">下一页</a></div>'
        body = (f'<ul class="news-list">{"".join(items)}</ul>' if items
                else f'<div id="noresult_part1_container"><p>暂无与“{kw}”相关的微信公众号文章</p></div>')
        return html_reply(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{kw}的相关微信公众号文章 – 搜狗微信搜索</title>"
                          f"</head><body><div class='news-box'>{body}</div>{pager}</body></html>")

    @staticmethod
    def title(post: SimPost) -> str:
        return f"{post.keyword}：一篇说清楚" if post.is_ad else f"关于{post.keyword}，请注意"

    def link(self, opaque: str) -> Reply:
        """Sogou's jump page: the temporary article address in pieces, then ``location.replace``."""
        try:
            post = self.post(bytes.fromhex(opaque.removeprefix(LINK_PREFIX)).decode())
        except ValueError:
            post = None
        if post is None:
            return html_reply("<html><body>链接已失效</body></html>", status=404)
        self.remember(post)  # the temporary address it issues leads to this post
        target = (f"https://mp.weixin.qq.com/s?src=11&timestamp={int(post.created.timestamp())}&ver=6996"
                  f"&signature={self.signature(post)}&new=1")
        pieces = "\n".join(f"        url += '{target[i : i + 11]}';" for i in range(0, len(target), 11))
        return html_reply(f"<meta content=\"always\" name=\"referrer\">\n<script>\n    (new Image()).src = "
                          f"'https://weixin.sogou.com/approve?uuid={self.token(post)}&token=0&from=inner';\n"
                          f"    setTimeout(function () {{\n        var url = '';\n{pieces}\n"
                          f"        window.location.replace(url)\n    }},100);\n</script>\n")

    def article(self, post: SimPost | None) -> Reply:
        if post is None or post.deleted:
            return html_reply(GONE_PAGE)  # WeChat's own words, status 200
        imgs = "".join(f'<p><img class="rich_pages wxw-img" data-src="{self.origin}/mmbiz_jpg/{post.post_id}_{k}/640?wx_fmt=jpeg"'
                       f' data-ratio="1.3333" data-type="jpeg" data-w="1080"></p>' for k in range(len(pictures(post))))
        cover = f"{self.origin}/mmbiz_jpg/{post.post_id}_cover/0?wx_fmt=jpeg"
        title = html.escape(self.title(post))
        name = html.escape(post.author_name)
        canonical = html.escape(self.canonical(post))
        script = "\n".join([
            f'var biz = "{post.author_id}" || "";', f'var sn = "{self.sn(post)}" || "";',
            f'var mid = "{post.post_id}" || "";', 'var idx = "1" || "" ;',
            f'var nickname = htmlDecode("{name}");', f'var user_name = "gh_{post.author_id[:12].lower()}";',
            f"var msg_title = '{title}'.html(false);", f'var msg_cdn_url = "{cover}";',
            f'var ct = "{int(post.created.timestamp())}";', f'var publish_time = "{post.created:%Y-%m-%d}" || "";',
        ])
        return html_reply(
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><meta property="og:title" content="{title}" />'
            f'<meta property="og:url" content="{canonical}#rd" /><meta property="og:image" content="{cover}" />'
            f'<title>{title}</title></head><body id="activity-detail" class="zh_CN wx_wap_page">'
            f'<div class="rich_media_inner"><h1 class="rich_media_title" id="activity-name">{title}</h1>'
            f'<div id="meta_content" class="rich_media_meta_list"><span class="rich_media_meta rich_media_meta_nickname" '
            f'id="profileBt"><a href="javascript:void(0);" id="js_name">{name}</a></span>'
            f'<em id="publish_time" class="rich_media_meta rich_media_meta_text"></em></div>'
            f'<div class="rich_media_content js_underline_content" id="js_content" style="visibility: hidden;">'
            f'<section><p>{html.escape(post.text, quote=False)}</p>{imgs}</section></div></div>'
            f'<script type="text/javascript">\n{script}\n</script></body></html>')

    # --- follow-ups: Sogou's account search (type=1), which shows each account's 功能介绍 ---------------------------
    def followup_route(self, path: str, query: dict[str, str]) -> Reply | None:
        if path == SEARCH and query.get("type") == "1":
            return self.account_search(query)
        return None

    def request_name(self, path: str, query: dict[str, str]) -> str:
        """/weixin serves article searches and (type=1) account searches: tests count the article searches."""
        return f"{SEARCH}#account" if path == SEARCH and query.get("type") == "1" else path

    def account_search(self, query: dict[str, str]) -> Reply:
        name = query.get("query", "")
        if self.config.ban.get("wechat") == "antispider":
            return self.refusal(SEARCH, query)
        accounts: dict[str, SimPost] = {}
        for post in self.posts:
            if name and name in post.author_name:
                accounts.setdefault(post.author_id, post)
        kw = html.escape(name)
        items = []
        for i, post in enumerate(accounts.values()):
            shown = html.escape(post.author_name).replace(kw, f"<em><!--red_beg-->{kw}<!--red_end--></em>")
            link = f"/link?url={LINK_PREFIX}{post.author_id.encode().hex()}&amp;type=1&amp;query={quote(name)}"
            items.append(
                f'<li id="sogou_vr_11002301_box_{i}" d="oIWsFt{hashlib.md5(post.author_id.encode()).hexdigest()[:22]}">'
                f'<div class="gzh-box2"><div class="img-box"><a target="_blank" href="{link}"><span></span>'
                f'<img src="//img01.sogoucdn.com/app/a/100520090/{post.author_id}" onload="resizeImage(this,58,58)"></a></div>'
                f'<div class="txt-box"><p class="tit"><a target="_blank" href="{link}">{shown}</a></p>'
                f'<p class="info">微信号：<label name="em_weixinhao">gh_{post.author_id[:12].lower()}</label></p></div></div>'
                f'<dl><dt>功能介绍：</dt><dd>{html.escape(post.author_bio())}</dd></dl>'
                f'<dl><dt>最近文章：</dt><dd><a target="_blank" href="{link}">{html.escape(self.title(post))}</a></dd></dl></li>')
        body = (f'<ul class="news-list2">{"".join(items)}</ul>' if items
                else f'<div id="noresult_part1_container"><p>暂无与“{kw}”相关的公众号</p></div>')
        return html_reply(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{kw}的相关微信公众号 – 搜狗微信搜索</title>"
                          f"</head><body><div class='news-box'>{body}</div></body></html>")


def stored_id(post: SimPost) -> str:
    """The ``post_id`` the WeChat spider stores for a corpus post: ``{biz}_{mid}_{idx}``."""
    return f"{post.author_id}_{post.post_id}_1"
