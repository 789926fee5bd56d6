"""Weibo (m.weibo.cn): the mobile web JSON API — search (``/api/container/getIndex``), long texts
(``/statuses/extend``) and the post page (``/detail/{id}``), with its refusal states (HTTP 418, the login wall)."""

from __future__ import annotations

import hashlib
import html
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote

from tests.simulator.core import HTML_TYPE, RENDER_POST_JS, Reply, Site, html_reply, js_literal, json_reply
from tests.simulator.corpus import KEYWORDS, SimPost, _nick, load_texts, search

SEARCH = "/api/container/getIndex"
EXTEND = "/statuses/extend"
HOTFLOW = "/comments/hotflow"
PROFILE_CONTAINER = "100505"  # containerid 100505{uid}: the account's profile (userInfo)
LOGIN_WALL = "/signin/login?entry=mweibo&r=https%3A%2F%2Fm.weibo.cn%2F"
# What m.weibo.cn shows in place of a reposted original its author deleted (``user`` is null).
GONE_STUB = ('抱歉，此微博已被作者删除。查看帮助：<a  href="https://kefu.weibo.com/faqdetail?id=20214">'
             '<span class="url-icon"><img style="width: 1rem;height: 1rem" '
             'src="https://h5.sinaimg.cn/upload/2015/09/25/3/timeline_card_small_web_default.png"></span>'
             '<span class="surl-text">网页链接</span></a>')


class WeiboSite(Site):
    name = "weibo"
    api_paths = frozenset({SEARCH, EXTEND})

    @classmethod
    def corpus_extras(cls, posts: list[SimPost], rng: Any) -> list[SimPost]:
        """Reposts, as outfits amplify an ad: several accounts repost it with a bump ("捞") or nothing of their own.

        Reposted: two text ads (one three times), an image ad (its pitch only in the original's picture), the long
        post (the original needs ``/statuses/extend``), a harmless post (twice) and the deleted post.
        """
        texts = load_texts()["repost_texts"]
        ads = [p for p in posts if p.kind == "text" and not p.long_text]
        image = next(p for p in posts if p.kind == "image")
        harmless = next(p for p in posts if p.kind == "negative")
        deleted = next(p for p in posts if p.deleted)
        originals = [ads[0], ads[0], ads[0], ads[1], image, posts[1], harmless, harmless, deleted]
        reposts = []
        for n, orig in enumerate(originals):
            reposts.append(SimPost(
                platform=orig.platform, post_id=cls.new_post_id(rng), keyword=orig.keyword, text=texts[n % len(texts)],
                kind="repost", is_ad=orig.is_ad and not orig.deleted, category=orig.category, family=None,
                author_id=cls.new_author_id(rng), author_name=_nick(rng), created=orig.created + timedelta(hours=n + 1),
                likes=rng.randint(0, 50), comments=rng.randint(0, 5), extra={"repost_of": orig.post_id},
            ))
        return reposts

    def request_name(self, path: str, query: dict[str, str]) -> str:
        """getIndex serves searches and (containerid ``100505{uid}``) profiles: tests count the searches."""
        if path == SEARCH and query.get("containerid", "").startswith("100505"):
            return f"{SEARCH}#profile"
        return path

    def refusal(self, path: str, query: dict[str, str]) -> Reply:
        return 418, {"Content-Type": "text/html"}, b""  # Weibo's "I'm a teapot": too many requests, try later

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply | None:
        if path == SEARCH and query.get("containerid", "").startswith(PROFILE_CONTAINER):
            return self.profile(query)
        if path == HOTFLOW:
            return self.hotflow(query)
        if path == SEARCH:
            return self.get_index(query)
        if path == EXTEND:
            return self.extend(query)
        if path.startswith("/detail/") or path.startswith("/status/"):
            return self.detail(path.rsplit("/", 1)[-1])
        if path.startswith("/signin/login"):
            return html_reply("<html><body>登录 - 新浪微博</body></html>")
        return self.media(path)

    # --- media URLs (sinaimg-like paths on our own origin) ----------------------------------------------
    def image_url(self, post: SimPost, k: int) -> str:
        return f"{self.origin}/large/{post.post_id}_{k}.jpg"

    def video_url(self, post: SimPost) -> str:
        return f"{self.origin}/o0/{post.post_id}.mp4?label=mp4_hd"

    def cover_url(self, post: SimPost) -> str:
        return f"{self.origin}/orj480/{post.post_id}_cover.jpg"

    def media(self, path: str) -> Reply | None:
        name = path.rsplit("/", 1)[-1]
        if path.startswith("/o0/"):
            return self.video_reply(self.post(name.split(".")[0]))
        if any(path.startswith(p) for p in ("/large/", "/orj360/", "/orj480/")):
            return self.image_reply(name.split(".")[0])
        return None

    # --- payloads ------------------------------------------------------------------------------------------
    def mblog(self, post: SimPost) -> dict[str, Any]:
        """A post as ``mblog``; a repost carries its original in ``retweeted_status`` and only a few words itself."""
        if "repost_of" not in post.extra:
            return self.own_mblog(post)
        mblog = self.own_mblog(post)
        mblog.update(text=html.escape(post.text, quote=False).replace(
            "[doge]", '<span class="url-icon"><img alt=[doge] src="https://h5.sinaimg.cn/m/emoticon/icon/others/'
                      'd_doge-be7f768d78.png" style="width:1em; height:1em;" /></span>'),
            textLength=len(post.text.encode("utf-8")), isLongText=False, pic_num=0, raw_text=post.text)
        orig = self.sim.by_id[post.extra["repost_of"]]
        if orig.deleted:
            mblog["retweeted_status"] = {"created_at": "", "id": orig.post_id, "idstr": orig.post_id,
                                         "mid": orig.post_id, "text": GONE_STUB, "user": None,
                                         "visible": {"type": 0, "list_id": 0}, "pic_num": 0,
                                         "reposts_count": 0, "comments_count": 0, "attitudes_count": 0}
        else:
            mblog["retweeted_status"] = self.own_mblog(orig)
        return mblog

    def own_mblog(self, post: SimPost) -> dict[str, Any]:
        text = html.escape(post.text, quote=False)
        if post.long_text:
            text = text[:40] + f'...<a href="/status/{post.post_id}">全文</a>'
        tag = f'<a href="https://m.weibo.cn/search?containerid=231522type%3D1%26q%3D%23{quote(post.keyword)}%23">' \
              f'<span class="surl-text">#{post.keyword}#</span></a>'
        mblog: dict[str, Any] = {
            "created_at": post.created.strftime("%a %b %d %H:%M:%S %z %Y"),
            "id": post.post_id,
            "idstr": post.post_id,
            "mid": post.post_id,
            "bid": hashlib.md5(post.post_id.encode()).hexdigest()[:9],
            "text": f"{tag} {text}<br />" if not post.deleted else post.text,
            "textLength": len(post.text.encode("utf-8")),
            "isLongText": post.long_text,
            "source": "iPhone客户端",
            "user": {
                "id": int(post.author_id),
                "screen_name": post.author_name,
                "profile_url": f"https://m.weibo.cn/u/{post.author_id}?uid={post.author_id}&luicode=10000011",
                "profile_image_url": f"{self.origin}/crop.0.0.180.180.180/{post.author_id}.jpg",
                "verified": False,
                "followers_count": post.likes // 3,
            },
            "reposts_count": post.shares,
            "comments_count": post.comments,
            "attitudes_count": post.likes,
            "pic_num": len(post.image_texts),
        }
        if post.deleted:
            mblog["deleted"] = "1"
        if post.image_texts:
            mblog["pics"] = [
                {"pid": f"{post.post_id}_{k}", "url": self.image_url(post, k).replace("/large/", "/orj360/"),
                 "large": {"url": self.image_url(post, k), "geo": {"width": 480, "height": 640}}}
                for k in range(len(post.image_texts))
            ]
        if post.frame_texts:
            mblog["page_info"] = {
                "type": "video",
                "object_type": 11,
                "page_pic": {"url": self.cover_url(post)},
                "page_url": f"https://video.weibo.com/show?fid=1034:{post.post_id}",
                "media_info": {
                    "stream_url": self.video_url(post).replace("mp4_hd", "mp4_ld"),
                    "mp4_hd_url": self.video_url(post),
                    "duration": 2 * len(post.frame_texts),
                },
            }
        return mblog

    def get_index(self, query: dict[str, str]) -> Reply:
        containerid = query.get("containerid", "")
        keyword = (parse_qs(containerid).get("q") or [""])[0]
        page = max(1, int(query.get("page") or 1))
        ban = self.config.ban.get("weibo")
        if ban == "418":
            return self.refusal(SEARCH, query)
        if ban == "login":
            return 302, {"Location": LOGIN_WALL}, b""
        faults = self.config.faults
        if faults and keyword == KEYWORDS[1] and page == 1 and self.first_hit(f"429:{keyword}"):
            return json_reply({"ok": 0, "msg": "请求过于频繁"}, status=429, headers={"Retry-After": "1"})
        if self.config.bench_pages and keyword.startswith("bench"):
            posts = self.bench_posts(keyword, page) if page <= self.config.bench_pages else []
            has_next = page < self.config.bench_pages
        else:
            found = search(self.posts, keyword)
            posts = self.page(found, page - 1)
            has_next = page * self.config.page_size < len(found)
        if not posts:
            return json_reply({"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}})
        cards: list[dict[str, Any]] = []
        for i, post in enumerate(posts):
            card = {"card_type": 9, "itemid": f"seqid:{post.post_id}",
                    "scheme": f"https://m.weibo.cn/status/{post.post_id}", "mblog": self.mblog(post)}
            # Real result pages nest some posts in card_group blocks (card_type 11) beside user cards.
            cards.append({"card_type": 11, "card_group": [{"card_type": 10, "user": {"id": 1}}, card]}
                         if i % 4 == 3 else card)
        body = {
            "ok": 1,
            "data": {
                "cardlistInfo": {"containerid": containerid, "v_p": 42, "show_style": 1, "total": 1000,
                                 "page": page + 1 if has_next else None, "page_size": self.config.page_size},
                "cards": cards,
                "scheme": f"sinaweibo://cardlist?containerid={quote(containerid)}",
            },
        }
        status, headers, raw = json_reply(body)
        if faults and keyword == KEYWORDS[0] and page == 2 and self.first_hit(f"trunc:{keyword}:{page}"):
            raw = raw[: len(raw) // 2]  # a connection cut mid-body: the status says 200, the JSON ends abruptly
        return status, headers, raw

    def extend(self, query: dict[str, str]) -> Reply:
        post = self.post(query.get("id", ""))
        if post is None or post.deleted:
            return json_reply({"ok": 0, "msg": "微博不存在或暂无查看权限"})
        return json_reply({"ok": 1, "data": {"ok": 1, "longTextContent": html.escape(post.text, quote=False),
                                             "reposts_count": post.shares, "comments_count": post.comments,
                                             "attitudes_count": post.likes}})

    def detail(self, post_id: str) -> Reply:
        post = self.post(post_id)
        if post is None or post.deleted:
            return html_reply("<html><body>微博不存在</body></html>", status=404)
        data = json.dumps([{"status": self.mblog(post)}], ensure_ascii=False).replace("</", "<\\/")
        shown = js_literal({"author": post.author_name, "text": post.text,
                            "images": [self.image_url(post, k) for k in range(len(post.image_texts))]
                            + ([self.cover_url(post)] if post.frame_texts else [])})
        page = f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>微博</title></head><body>" \
               f"<script>var $render_data = {data}[0] || {{}};</script>" \
               f"<script>{RENDER_POST_JS}renderPost({shown});</script></body></html>"
        return 200, {"Content-Type": HTML_TYPE}, page.encode()

    # --- follow-ups: comments and profiles ---------------------------------------------------------------
    def user(self, post: SimPost) -> dict[str, Any]:
        return {"id": int(post.author_id), "screen_name": post.author_name,
                "profile_image_url": f"{self.origin}/crop.0.0.180.180.180/{post.author_id}.jpg",
                "profile_url": f"https://m.weibo.cn/u/{post.author_id}?uid={post.author_id}&luicode=10000011",
                "verified": False, "verified_type": -1, "followers_count": post.likes // 3}

    def hotflow(self, query: dict[str, str]) -> Reply:
        """``/comments/hotflow?id=&mid=&max_id_type=0``: one page of hot comments, or "快来发表你的评论吧"."""
        post = self.post(query.get("id") or query.get("mid") or "")
        if post is None or post.deleted or not post.comments:
            return json_reply({"ok": 0, "msg": "快来发表你的评论吧"})
        items = []
        for k, c in enumerate(post.comment_list()):
            by = post if c.get("by_author") else None
            user = self.user(by) if by else {"id": 5_000_000_000 + k, "screen_name": f"用户{k + 1}",
                                             "verified": False, "followers_count": k}
            cid = str(int(post.post_id) + k + 1)
            items.append({"created_at": (post.created + timedelta(minutes=k + 1)).strftime("%a %b %d %H:%M:%S %z %Y"),
                          "id": cid, "rootid": cid, "rootidstr": cid, "floor_number": k + 1,
                          "text": html.escape(c["text"], quote=False), "disable_reply": 0, "user": user,
                          "mid": cid, "like_count": 100 - k, "liked": False, "isLikedByMblogAuthor": bool(by),
                          "more_info_type": 0, "source": "来自北京"})
        return json_reply({"ok": 1, "data": {"data": items, "total_number": len(items), "max_id": 0,
                                             "max_id_type": 0}})

    def profile(self, query: dict[str, str]) -> Reply:
        """``getIndex?type=uid&value={uid}&containerid=100505{uid}``: ``data.userInfo`` of the account."""
        uid = query["containerid"][len(PROFILE_CONTAINER):]
        post = self.author_post(uid)
        if post is None:
            return json_reply({"ok": 0, "msg": "用户不存在"})
        info = {**self.user(post), "description": post.author_bio(), "statuses_count": 12, "gender": "m",
                "follow_count": 37, "followers_count": f"{post.likes / 10000:.1f}万" if post.likes > 3000
                else post.likes // 3, "mbtype": 0, "urank": 9, "mbrank": 0, "close_blue_v": False}
        return json_reply({"ok": 1, "data": {"avatar_guide": [], "isStarStyle": 0, "userInfo": info,
                                             "fans_scheme": f"/p/index?containerid=231051_-_fans_-_{uid}",
                                             "tabsInfo": {"selectedTab": 1, "tabs": [
                                                 {"id": 1, "tabKey": "profile", "title": "主页",
                                                  "containerid": f"230283{uid}"},
                                                 {"id": 2, "tabKey": "weibo", "title": "微博",
                                                  "containerid": f"107603{uid}"}]}},
                           })
