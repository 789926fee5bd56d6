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

from tests.simulator.core import Reply, Site, html_reply, js_literal, json_reply
from tests.simulator.corpus import KEYWORDS, SimPost, search
from tests.simulator.platforms.douyin import fnv1a
from tests.simulator.stills import pictures, still_reply

SEARCH = "/f/search/res"
TOTAL_COMMENT = "/p/totalComment"
USER_CARD = "/c/u/pc/userCard"
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
        if (reply := self.followup_route(path, query)) is not None:
            return reply
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

    # --- follow-ups: 楼中楼 (totalComment), the home page and its signed user card ---------------------------------
    api_paths = api_paths | {TOTAL_COMMENT, USER_CARD}

    def followup_route(self, path: str, query: dict[str, str]) -> Reply | None:
        if path == TOTAL_COMMENT:
            return self.total_comment(query)
        if path == "/home/main":
            return self.home(query.get("id", ""))
        if path == USER_CARD:
            return self.user_card(query)
        return None

    def by_portrait(self, portrait: str) -> SimPost | None:
        return next((p for p in self.posts if self.portrait(p) == portrait), None)

    @staticmethod
    def card_sign(portrait: str) -> str:
        """The home page script's userCard ``sign`` (a stand-in for Baidu's: over the parameters and a salt)."""
        return fnv1a(f"tieba-pc|portrait={portrait}&subapp_type=pc&_client_type=20")

    def total_comment(self, query: dict[str, str]) -> Reply:
        """``/p/totalComment?t=&tid=&fid=&pn=&see_lz=0``: the replies inside the floors of one thread page."""
        post = self.post(query.get("tid", ""))
        if post is None or post.deleted or query.get("fid") != "300":
            return json_reply({"errno": 0, "errmsg": "success", "data": {"comment_list": [], "user_list": []}})
        first = str(int(post.post_id) * 10 + 1)
        info, users = [], {}
        for k, c in enumerate(post.comment_list()):
            by = bool(c.get("by_author"))
            uid, name = (post.author_id, post.author_name) if by else (str(3_000_000_000 + k), f"吧友{k + 1:03d}")
            info.append({"thread_id": post.post_id, "post_id": first, "comment_id": str(int(first) * 100 + k + 1),
                         "username": name, "user_id": uid, "now_time": int(post.created.timestamp()) + 60 * (k + 1),
                         "content": html.escape(c["text"], quote=False), "ptype": "0", "during_time": "0",
                         "location": {"name": "广东"}})
            users[uid] = {"user_id": uid, "user_name": name, "user_nickname": name, "portrait": self.portrait(post)
                          if by else f"tb.1.{uid[-8:]}"}
        comment_list = {first: {"comment_num": len(info), "comment_list_num": len(info), "comment_info": info}}
        return json_reply({"errno": 0, "errmsg": "success",
                           "data": {"comment_list": comment_list if info else [], "user_list": users}})

    def home(self, portrait: str) -> Reply:
        """The user's home page; its script fetches (and signs) the PC user card, as the real one does."""
        post = self.by_portrait(portrait)
        if post is None:
            return html_reply("<!DOCTYPE html><html><head><meta charset='utf-8'><title>贴吧404</title></head><body>"
                              "<div class='page404'>抱歉，您访问的用户已被屏蔽。</div></body></html>")
        script = USER_CARD_JS % {"portrait": js_literal(portrait), "sign": js_literal(self.card_sign(portrait)),
                                 "api": USER_CARD}
        return html_reply(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(post.author_name)}的贴吧"
                          f"</title></head><body><div class='userinfo_wrap'><span class='userinfo_username '>"
                          f"{html.escape(post.author_name)}</span><div class='userinfo_userdata'><span>吧龄:5.2年</span>"
                          f"</div><div class='userinfo_intro'></div></div><script>{script}</script></body></html>")

    def user_card(self, query: dict[str, str]) -> Reply:
        portrait = query.get("portrait", "")
        if query.get("sign") != self.card_sign(portrait):
            return json_reply({"error_code": 110001, "error_msg": "未知错误", "data": None})
        post = self.by_portrait(portrait)
        if post is None:
            return json_reply({"error_code": 1990055, "error_msg": "用户不存在", "data": None})
        return json_reply({"error_code": 0, "error_msg": "", "data": {"user_info": {
            "portrait": f"{portrait}?t=1739164613", "name_show": post.author_name, "tieba_uid": str(post.author_id),
            "sex": 1, "tb_age": "5.2", "total_agree_num": post.likes * 3, "fans_num": post.likes // 2,
            "concern_num": 37, "intro": post.author_bio(), "ip_address": "广东"}}})


# The home page's script: fetch the PC user card (signed) and show its 个性签名.
USER_CARD_JS = """
(function () {
  const q = "portrait=" + encodeURIComponent(%(portrait)s) + "&subapp_type=pc&_client_type=20&sign=" + %(sign)s;
  fetch("%(api)s?" + q, {credentials: "include"}).then(function (r) { return r.text(); }).then(function (body) {
    try { document.querySelector(".userinfo_intro").textContent = JSON.parse(body).data.user_info.intro || ""; }
    catch (e) { document.querySelector(".userinfo_intro").textContent = ""; }
  });
})();
"""
