"""Bilibili (www.bilibili.com + api.bilibili.com): the home page (sets ``buvid3``), ``nav`` (the WBI keys), the
WBI-signed video search, the video detail (``view``), the MP4 stream address (``playurl``, ``platform=html5``),
covers (hdslb-like ``/bfs/archive/``) and streams (bilivideo-like ``/upgcxcode/``), with the API's refusal states.

Checked as the real API does (facts: bilibili-API-collect, docs/misc/sign/wbi.md, docs/search/search_request.md,
docs/video/info.md, docs/video/videostream_url.md):

* no ``buvid3`` cookie, or a ban: HTTP 412 with ``{"code":-412,"message":"请求被拦截"}``;
* search / playurl without ``w_rid``+``wts``: ``{"code":-403,"message":"访问权限不足"}``; with a wrong ``w_rid``: code 0
  and nothing but ``data.v_voucher`` (the answer documented since 2024);
* the keys rotate (daily on the real site; here once, a few requests into a sweep, when faults are on);
* a video still listed by search but deleted: view code 62002 (稿件不可见); an unknown bvid: -404 (啥都木有).

The signature check is written here from the documented algorithm, not imported from the spider.
"""

from __future__ import annotations

import hashlib
import html
import math
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from tests.simulator import media
from tests.simulator.core import Reply, Site, html_reply, json_reply
from tests.simulator.corpus import KEYWORDS, SimPost, search

HOME = "/"
NAV = "/x/web-interface/nav"
SEARCH = "/x/web-interface/wbi/search/type"
VIEW = "/x/web-interface/view"
PLAYURL = "/x/player/wbi/playurl"
REPLY = "/x/v2/reply"  # docs/comment/list.md
ACC_INFO = "/x/space/wbi/acc/info"  # docs/user/info.md (WBI-signed)
RELATION = "/x/relation/stat"  # docs/user/status_number.md
FOLLOWUP_PATHS = frozenset({REPLY, ACC_INFO, RELATION})
BV_ALPHABET = "FcwAPNKTMug3GV5Lj7EJnHpWsx4tb8haYeviqBz6rkCy12mUSDQX9RdoZf"
ENC_TAB = [46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49, 33, 9, 42, 19, 29, 28, 14,
           39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40, 61, 26, 17, 0, 1, 60, 51, 30, 4, 22, 25, 54, 21, 56, 59, 6,
           63, 57, 62, 11, 36, 20, 34, 44, 52]
ROTATE_AFTER = 4  # signed requests answered before the keys rotate (faults on)


def expected_w_rid(query: dict[str, str], img_key: str, sub_key: str) -> str:
    """What ``w_rid`` must be for ``query`` (every parameter but ``w_rid``, ``wts`` included)."""
    raw = img_key + sub_key
    mixin = "".join(raw[i] for i in ENC_TAB)[:32]
    pairs = []
    for key in sorted(k for k in query if k != "w_rid"):
        value = "".join(c for c in query[key] if c not in "!'()*")
        pairs.append(f"{quote(key, safe='')}={quote(value, safe='')}")
    return hashlib.md5(("&".join(pairs) + mixin).encode("utf-8")).hexdigest()


@lru_cache(maxsize=64)
def _video(frame_texts: tuple[str, ...], seed: int) -> bytes:
    return media.video_bytes(list(frame_texts), seed)


class BilibiliSite(Site):
    name = "bilibili"
    api_paths = frozenset({SEARCH, VIEW, PLAYURL})
    bench_by_id = True  # every result is read again from view and playurl

    def __init__(self, sim: Any) -> None:
        super().__init__(sim)
        self.generation = 0  # which pair of WBI keys nav hands out now
        self.signed_answers = 0
        ads = [p for p in self.posts if p.kind == "text"]
        # Posts whose pitch is only in the detail desc: a bland title and an empty search description.
        self.desc_only = {self.posts[1].post_id, *(p.post_id for p in ads[:1])}

    @classmethod
    def new_post_id(cls, rng: Any) -> str:
        return "BV1" + "".join(rng.choice(BV_ALPHABET) for _ in range(9))

    @classmethod
    def new_author_id(cls, rng: Any) -> str:
        return str(rng.randint(10**7, 4 * 10**9))

    @classmethod
    def bench_post_id(cls, number: str) -> str:
        # A BV id: its nine characters spell the number (the site's own digit, the first, left out) in base 58.
        n, chars = int(number[1:]), []
        for _ in range(9):
            n, digit = divmod(n, len(BV_ALPHABET))
            chars.append(BV_ALPHABET[digit])
        return "BV1" + "".join(reversed(chars))

    def keys(self, generation: int | None = None) -> tuple[str, str]:
        g = self.generation if generation is None else generation
        seed = self.config.seed
        return (hashlib.md5(f"img|{seed}|{g}".encode()).hexdigest(), hashlib.md5(f"sub|{seed}|{g}".encode()).hexdigest())

    def refusal(self, path: str, query: dict[str, str]) -> Reply:
        return json_reply({"code": -412, "message": "请求被拦截", "ttl": 1, "data": None}, status=412)

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply | None:
        if path == HOME:
            buvid = hashlib.md5(self.header("User-Agent").encode()).hexdigest().upper()
            return html_reply("<!DOCTYPE html><html><head><title>哔哩哔哩 (゜-゜)つロ 干杯~-bilibili</title></head>"
                              "<body></body></html>",
                              headers={"Set-Cookie": f"buvid3={buvid}infoc; path=/; max-age=31536000"})
        if path == NAV:
            img, sub = self.keys()
            return json_reply({"code": -101, "message": "账号未登录", "ttl": 1, "data": {
                "isLogin": False, "wbi_img": {"img_url": f"https://i0.hdslb.com/bfs/wbi/{img}.png",
                                              "sub_url": f"https://i0.hdslb.com/bfs/wbi/{sub}.png"}}})
        if path in FOLLOWUP_PATHS:
            if "buvid3=" not in self.header("Cookie"):
                return self.refusal(path, query)
            return self.followup(path, query)
        if path in self.api_paths:
            if self.config.ban.get("bilibili") == "412" or "buvid3=" not in self.header("Cookie"):
                return self.refusal(path, query)
            if path == VIEW:
                return self.view(query.get("bvid", ""))
            if rejected := self.check_signature(query):
                return rejected
            return self.search(query) if path == SEARCH else self.playurl(query)
        return self.media(path)

    def check_signature(self, query: dict[str, str]) -> Reply | None:
        if "w_rid" not in query or "wts" not in query:
            return json_reply({"code": -403, "message": "访问权限不足", "ttl": 1})
        self.signed_answers += 1
        if self.config.faults and self.signed_answers > ROTATE_AFTER and self.first_hit("rotate"):
            self.generation += 1  # the day's new keys: requests signed with yesterday's are turned away
        if self.config.ban.get("bilibili") == "voucher" or query["w_rid"] != expected_w_rid(query, *self.keys()):
            voucher = "voucher_" + hashlib.md5(query["w_rid"].encode()).hexdigest()[:8]
            return json_reply({"code": 0, "message": "0", "ttl": 1, "data": {"v_voucher": voucher}})
        return None

    # --- media URLs (hdslb / bilivideo-like paths on our own origin) --------------------------------------
    def cover_url(self, post: SimPost, relative: bool) -> str:
        url = f"{self.origin}/bfs/archive/{post.post_id}.jpg"
        return url.split(":", 1)[1] if relative else url  # search cards carry "//host/…"

    def stream_url(self, post: SimPost) -> str:
        return f"{self.origin}/upgcxcode/{post.post_id}/{post.post_id}-1-16.mp4?platform=html5&gen=playurlv2"

    def media(self, path: str) -> Reply | None:
        name = path.rsplit("/", 1)[-1]
        if path.startswith("/bfs/archive/"):
            post = self.post(name.split(".")[0])
            if post is None:
                return 404, {}, b""
            # An image ad's poster is its cover; a video's cover is its first frame.
            return self.image_reply(f"{post.post_id}_0" if post.image_texts else f"{post.post_id}_cover")
        if path.startswith("/upgcxcode/"):
            post = self.post(name.split("-")[0])
            if post is None or post.deleted:
                return 404, {}, b""
            # Every Bilibili post is a video: one without a pitch in its frames shows nothing readable.
            return 200, {"Content-Type": "video/mp4"}, _video(tuple(post.frame_texts), self.config.seed)
        return None

    # --- payloads ------------------------------------------------------------------------------------------
    @staticmethod
    def aid(post: SimPost) -> int:
        return int(hashlib.md5(post.post_id.encode()).hexdigest()[:8], 16) % 10**9 + 10**8

    @staticmethod
    def cid(post: SimPost) -> int:
        return int(hashlib.md5(f"cid{post.post_id}".encode()).hexdigest()[:8], 16) % 10**9 + 10**9

    def title(self, post: SimPost) -> str:
        return "分享一下最近的经历" if post.post_id in self.desc_only else post.text[:30]

    def card(self, post: SimPost, keyword: str) -> dict[str, Any]:
        aid, created = self.aid(post), int(post.created.timestamp())
        # Search texts are HTML-escaped, with <em class="keyword"> around each hit of the keyword.
        title = html.escape(self.title(post)).replace(
            html.escape(keyword), f'<em class="keyword">{html.escape(keyword)}</em>')
        return {
            "type": "video", "id": aid, "author": post.author_name, "mid": int(post.author_id),
            "typeid": "138", "typename": "搞笑", "arcurl": f"http://www.bilibili.com/video/av{aid}", "aid": aid,
            "bvid": post.post_id, "title": title,
            "description": "" if post.post_id in self.desc_only else html.escape(post.text),
            "arcrank": "0", "pic": self.cover_url(post, relative=True), "play": post.likes * 7,
            "video_review": post.comments // 2, "favorites": post.likes // 10, "tag": f"{post.keyword},生活,日常",
            "review": post.comments, "pubdate": created, "senddate": created + 1,
            "duration": f"0:{2 * max(1, len(post.frame_texts)):02d}", "badgepay": False,
            "hit_columns": ["title", "tag"], "view_type": "", "is_pay": 0, "is_union_video": 0, "rec_tags": None,
            "new_rec_tags": [], "rank_score": 10**8 - post.likes, "like": post.likes,
            "upic": f"//i0.hdslb.com/bfs/face/{hashlib.sha1(post.author_id.encode()).hexdigest()}.jpg",
            "corner": "", "cover": "", "desc": "", "url": "", "danmaku": post.comments // 2,
        }

    def view_data(self, post: SimPost) -> dict[str, Any]:
        created, cid, seconds = int(post.created.timestamp()), self.cid(post), 2 * max(1, len(post.frame_texts))
        dimension = {"width": 1280, "height": 720, "rotate": 0}
        return {
            "bvid": post.post_id, "aid": self.aid(post), "videos": 1, "tid": 138, "tname": "搞笑", "copyright": 1,
            "pic": self.cover_url(post, relative=False), "title": self.title(post), "pubdate": created,
            "ctime": created, "desc": post.text, "desc_v2": [{"raw_text": post.text, "type": 1, "biz_id": 0}],
            "state": 0, "duration": seconds, "rights": {"download": 1, "no_reprint": 1, "autoplay": 1},
            "owner": {"mid": int(post.author_id), "name": post.author_name,
                      "face": f"https://i0.hdslb.com/bfs/face/{hashlib.sha1(post.author_id.encode()).hexdigest()}.jpg"},
            "stat": {"aid": self.aid(post), "view": post.likes * 7, "danmaku": post.comments // 2,
                     "reply": post.comments, "favorite": post.likes // 10, "coin": post.likes // 20,
                     "share": post.shares, "now_rank": 0, "his_rank": 0, "like": post.likes, "dislike": 0,
                     "evaluation": "", "vt": 0},
            "dynamic": "", "cid": cid, "dimension": dimension,
            "pages": [{"cid": cid, "page": 1, "from": "vupload", "part": self.title(post), "duration": seconds,
                       "vid": "", "weblink": "", "dimension": dimension}],
            "subtitle": {"allow_submit": False, "list": []},
        }

    def search(self, query: dict[str, str]) -> Reply:
        keyword = query.get("keyword", "")
        page = max(1, int(query.get("page") or 1))
        size = self.config.page_size
        posts, total = self.result_page(keyword, page)
        cards = [self.card(p, keyword) for p in posts]
        status, headers, raw = json_reply({"code": 0, "message": "0", "ttl": 1, "data": {
            "seid": str(int(hashlib.md5(keyword.encode()).hexdigest()[:15], 16)), "page": page, "pagesize": size,
            "numResults": total, "numPages": math.ceil(total / size), "suggest_keyword": "",
            "rqt_type": "search", "cost_time": {"total": "0.080000"}, "exp_list": {"5520": True}, "egg_hit": 0,
            "result": cards, "show_column": 0, "in_black_key": 0, "in_white_key": 0}})
        if self.config.faults and keyword == KEYWORDS[0] and page == 2 and self.first_hit(f"trunc:{keyword}"):
            raw = raw[: len(raw) // 2]  # a connection cut mid-body
        return status, headers, raw

    def view(self, bvid: str) -> Reply:
        post = self.post(bvid)
        if post is None:
            return json_reply({"code": -404, "message": "啥都木有", "ttl": 1})
        if post.deleted:
            return json_reply({"code": 62002, "message": "稿件不可见", "ttl": 1})
        return json_reply({"code": 0, "message": "0", "ttl": 1, "data": self.view_data(post)})

    def playurl(self, query: dict[str, str]) -> Reply:
        post = self.post(query.get("bvid", ""))
        if post is None or post.deleted or query.get("cid") != str(self.cid(post)):
            return json_reply({"code": -404, "message": "啥都木有", "ttl": 1, "data": None})
        ms = 2000 * max(1, len(post.frame_texts))
        return json_reply({"code": 0, "message": "0", "ttl": 1, "data": {
            "from": "local", "result": "suee", "message": "", "quality": 16, "format": "mp4", "timelength": ms,
            "accept_format": "mp4", "accept_description": ["流畅 360P"], "accept_quality": [16],
            "video_codecid": 7, "seek_param": "start", "seek_type": "second",
            "durl": [{"order": 1, "length": ms, "size": 200_000, "ahead": "", "vhead": "",
                      "url": self.stream_url(post),
                      "backup_url": [f"https://xy1x2y3x4xy.mcdn.bilivideo.cn:4483/upgcxcode/{post.post_id}-1-16.mp4"]}],
            "support_formats": [{"quality": 16, "format": "mp4", "new_description": "360P 流畅",
                                 "display_desc": "360P", "superscript": "", "codecs": None}],
            "high_format": None, "last_play_time": 0, "last_play_cid": 0}})

    # --- follow-ups: comment area, uploader's space --------------------------------------------------------
    def followup(self, path: str, query: dict[str, str]) -> Reply:
        if path == REPLY:
            return self.replies(query)
        if path == ACC_INFO and (rejected := self.check_signature(query)):
            return rejected
        mid = query.get("mid") or query.get("vmid") or ""
        post = self.author_post(mid)
        if post is None:
            return json_reply({"code": -404, "message": "啥都木有", "ttl": 1, "data": None})
        if path == RELATION:
            return json_reply({"code": 0, "message": "0", "ttl": 1, "data": {
                "mid": int(mid), "following": 21, "whisper": 0, "black": 0, "follower": post.likes * 2}})
        return json_reply({"code": 0, "message": "0", "ttl": 1, "data": {
            "mid": int(mid), "name": post.author_name, "sex": "保密", "sign": post.author_bio(), "rank": 10000,
            "level": 3, "jointime": 0, "moral": 0, "silence": 0, "coins": 0, "fans_badge": False,
            "face": f"https://i0.hdslb.com/bfs/face/{hashlib.sha1(post.author_id.encode()).hexdigest()}.jpg",
            "official": {"role": 0, "title": "", "desc": "", "type": -1},
            "vip": {"type": 0, "status": 0}, "is_followed": False, "top_photo": "", "birthday": "", "tags": None}})

    def replies(self, query: dict[str, str]) -> Reply:
        """``/x/v2/reply?type=1&oid={aid}``: ``data.replies`` and the uploader's pinned one in ``data.upper.top``."""
        oid = query.get("oid", "")
        post = next((p for p in self.posts if str(self.aid(p)) == oid), None)
        if query.get("type") != "1" or post is None or post.deleted:
            return json_reply({"code": -404, "message": "啥都木有", "ttl": 1, "data": None})
        top, replies = None, []
        for k, c in enumerate(post.comment_list()):
            by = c.get("by_author")
            mid = post.author_id if by else str(30_000_000 + k)
            reply = {"rpid": self.aid(post) * 100 + k, "rpid_str": str(self.aid(post) * 100 + k), "oid": self.aid(post),
                     "type": 1, "mid": int(mid), "root": 0, "parent": 0, "count": 0, "rcount": 0, "state": 0,
                     "ctime": int(post.created.timestamp()) + 60 * (k + 1), "like": 100 - k, "action": 0,
                     "member": {"mid": mid, "uname": post.author_name if by else f"用户{k + 1}", "sign": "",
                                "level_info": {"current_level": 3}, "official_verify": {"type": -1, "desc": ""}},
                     "content": {"message": c["text"], "members": [], "jump_url": {}, "max_line": 6},
                     "replies": [], "up_action": {"like": bool(by), "reply": False}}
            if c.get("pinned") and by:
                top = reply
            else:
                replies.append(reply)
        return json_reply({"code": 0, "message": "0", "ttl": 1, "data": {
            "page": {"num": int(query.get("pn") or 1), "size": int(query.get("ps") or 20), "count": len(replies),
                     "acount": len(replies) + (1 if top else 0)},
            "config": {"showtopic": 1, "show_up_flag": True, "read_only": False},
            "replies": replies, "hots": [], "upper": {"mid": int(post.author_id), "top": top}, "top": None,
            "notice": None, "mode": 3, "support_mode": [1, 2, 3]}})
