"""Baidu Tieba (tieba.baidu.com): thread search (``/f/search/res``, HTML with ``div.s_post`` results and a
下一页 link), thread pages (``/p/{tid}``: floors as ``div.l_post`` with their ``data-field`` JSON, the first floor's
pictures as ``img.BDE_Image``), and the refusal state — a redirect to Baidu's 安全验证 captcha page. A deleted thread
still shows in search (the index lags) but its page says 该贴已被删除.

Video ads are posted the way Tieba users post them: the video's stills as pictures of the first floor.
"""

from __future__ import annotations

import hashlib
import html
import json
from typing import Any
from urllib.parse import quote, urlencode

from tests.simulator.core import Reply, Site, html_reply
from tests.simulator.corpus import KEYWORDS, SimPost, search
from tests.simulator.stills import pictures, still_reply

SEARCH = "/f/search/res"
CAPTCHA = "/static/captcha/tuxing.html"
CAPTCHA_PAGE = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>百度安全验证</title></head><body>"
                "<div class='timeout-title'>网络不给力，请稍后重试</div><div class='vcode-spin'>请完成下方验证后继续操作</div>"
                "</body></html>")
DELETED_PAGE = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>贴吧404</title></head><body>"
                "<div class='page404'><p>很抱歉，该贴已被删除。</p><a href='/'>去贴吧首页</a></div></body></html>")
FORUMS = ["信用卡", "负债", "网贷", "征信"]


class TiebaSite(Site):
    name = "tieba"
    api_paths = frozenset({SEARCH})
    bench_by_id = True  # every thread is read again from its page

    @classmethod
    def new_post_id(cls, rng: Any) -> str:
        return str(rng.randint(8_000_000_000, 9_999_999_999))  # thread ids (tid): ten digits

    @classmethod
    def new_author_id(cls, rng: Any) -> str:
        return str(rng.randint(10**9, 4 * 10**9))

    def refusal(self, path: str, query: dict[str, str]) -> Reply:
        back = quote(f"https://tieba.baidu.com{path}?{urlencode(query)}", safe="")
        logid = hashlib.md5(back.encode()).hexdigest()[:16]
        return 302, {"Location": f"{self.origin}{CAPTCHA}?&logid={logid}&ak=c27bbc89afca0463650ac9bde68ebe06"
                                 f"&backurl={back}&signature=0&timestamp=0"}, b""

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply | None:
        if path == SEARCH:
            return self.search(query)
        if path == CAPTCHA:
            return html_reply(CAPTCHA_PAGE)
        if path.startswith("/p/"):
            return self.thread(path[len("/p/") :].strip("/"))
        if path.startswith("/forum/pic/item/"):
            return still_reply(self, path.rsplit("/", 1)[-1].removesuffix(".jpg"))
        return None

    # --- media: tiebapic-like paths on our own origin -----------------------------------------------------
    def image_url(self, post: SimPost, k: int) -> str:
        return f"{self.origin}/forum/pic/item/{post.post_id}_{k}.jpg"

    # --- pages ---------------------------------------------------------------------------------------------
    def forum(self, post: SimPost) -> str:
        return FORUMS[int(post.post_id) % len(FORUMS)]

    def portrait(self, post: SimPost) -> str:
        return "tb.1." + hashlib.md5(post.author_id.encode()).hexdigest()[:8]

    @staticmethod
    def when(post: SimPost) -> str:
        return post.created.strftime("%Y-%m-%d %H:%M")

    def title(self, post: SimPost) -> str:
        return f"{post.keyword}求助帖" if post.kind == "negative" else f"{post.keyword}经验分享"

    def search(self, query: dict[str, str]) -> Reply:
        keyword = query.get("qw", "")
        page = max(1, int(query.get("pn") or 1))
        size = max(1, min(30, int(query.get("rn") or 10)))
        if self.config.ban.get("tieba") == "captcha":
            return self.refusal(SEARCH, query)
        if self.config.faults and keyword == KEYWORDS[1] and page == 1 and self.first_hit(f"429:{keyword}"):
            return 429, {"Content-Type": "text/html", "Retry-After": "1"}, b"<html><body>429</body></html>"
        posts, total = self.result_page(keyword, page, size)
        items = []
        for post in posts:
            kw = html.escape(keyword)
            items.append(
                f'<div class="s_post"><span class="p_title"><a data-tid="{post.post_id}" data-fid="{300 + len(kw)}" '
                f'class="bluelink" href="/p/{post.post_id}?pid={post.post_id}1&amp;cid=#{post.post_id}1" '
                f'target="_blank">{html.escape(self.title(post)).replace(kw, f"<em>{kw}</em>")}</a></span>'
                f'<div class="p_content">{html.escape(post.text[:50])}</div>'
                f'吧名：<a data-fid="300" class="p_forum" href="/f?kw={quote(self.forum(post))}" target="_blank">'
                f'<font class="p_violet">{self.forum(post)}</font></a>'
                f'作者：<a href="/home/main?un={quote(post.author_name)}" target="_blank">'
                f'<font class="p_violet">{html.escape(post.author_name)}</font></a>'
                f'<font class="p_green p_date">{self.when(post)}</font></div>')
        pager = ""
        if page * size < total:
            nxt = urlencode({**query, "pn": page + 1})
            pager = (f'<div class="pager pager-search"><span class="cur">{page}</span>'
                     f'<a class="next" href="/f/search/res?{nxt}">下一页&gt;</a></div>')
        body = "".join(items) or f'<div class="search_noresult">抱歉，没有找到与“{html.escape(keyword)}”相关的结果。</div>'
        return html_reply(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>百度贴吧_全吧搜索</title></head>"
                          f"<body><div class='s_main'><div class='s_post_list'>{body}</div>{pager}</div></body></html>")

    def floor(self, post: SimPost, no: int, author: tuple[str, str, str], content: str, when: str) -> str:
        user_id, name, portrait = author
        field = {"author": {"user_id": int(user_id), "user_name": name, "portrait": portrait},
                 "content": {"post_id": int(post.post_id) * 10 + no, "is_anonym": False, "forum_id": 300,
                             "thread_id": int(post.post_id), "post_no": no, "type": "0", "comment_num": 0}}
        return (f'<div class="l_post l_post_bright j_l_post clearfix  " data-field="{html.escape(json.dumps(field, ensure_ascii=False))}">'
                f'<div class="d_author"><ul class="p_author"><li class="d_name"><a class="p_author_name j_user_card" '
                f'href="/home/main?id={portrait}&amp;fr=pb">{html.escape(name)}</a></li></ul></div>'
                f'<div class="d_post_content_main"><div class="p_content"><cc><div id="post_content_{field["content"]["post_id"]}" '
                f'class="d_post_content j_d_post_content " style="display:;">{content}</div><br></cc></div>'
                f'<div class="core_reply j_lzl_wrapper"><div class="core_reply_tail"><div class="post-tail-wrap">'
                f'<span class="tail-info">来自Android客户端</span><span class="tail-info">{no}楼</span>'
                f'<span class="tail-info">{when}</span></div></div></div></div></div>')

    def thread(self, tid: str) -> Reply:
        post = self.post(tid)
        if post is None or post.deleted:
            return html_reply(DELETED_PAGE)  # Tieba's soft 404: status 200, the page says so
        if self.config.faults and post is self.posts[2] and self.first_hit(f"503:{tid}"):
            return 503, {"Content-Type": "text/html"}, b"<html><body>503 Service Unavailable</body></html>"
        text = html.escape(post.text, quote=False)
        imgs = "".join(f'<br><img class="BDE_Image" src="{self.image_url(post, k)}" size="48210" width="480" '
                           f'height="640">' for k in range(len(pictures(post))))
        first = self.floor(post, 1, (post.author_id, post.author_name, self.portrait(post)), text + imgs,
                           self.when(post))
        reply = self.floor(post, 2, ("1234567890", "路过的吧友", "tb.1.reply000"), "顶一下，谢谢分享", self.when(post))
        title = html.escape(self.title(post))
        return html_reply(
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}【{self.forum(post)}吧】_百度贴吧</title></head>"
            f"<body><div class='card_title'><a class='card_title_fname' href='/f?kw={quote(self.forum(post))}'>"
            f"{self.forum(post)}吧</a></div><div id='j_core_title_wrap'><h3 class='core_title_txt pull-left text-overflow' "
            f"title=\"{title}\">{title}</h3></div><ul class='l_posts_num'><li class='l_reply_num'>"
            f"<span class='red'>{post.comments}</span>回复贴，共<span class='red'>1</span>页</li></ul>"
            f"<div class='p_postlist' id='j_p_postlist'>{first}{reply}</div></body></html>")
