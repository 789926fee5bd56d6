"""Kuaishou (web): videos found by the search page's own signed ``/rest/v/search/feed`` requests.

Since 2026 the web search is ``POST /rest/v/search/feed?__NS_hxfalcon=…&caver=2``, signed by the page's own script
over the body and a time window (an unsigned request gets ``result: 50``), so the spider loads
``/search/video?searchKey=…`` in Chromium and records the answers the page receives (see
:mod:`crawler.platforms.browser`). A search answer already carries each video's whole caption, cover and MP4; a single
video by its id is the GraphQL ``visionVideoDetail`` query, which needs no signature.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from scrapy.http import JsonRequest, Request, Response

from crawler.followups import CommentPage, Profile
from crawler.items import AdPost
from crawler.platforms.browser import BrowserSearchSpider, ResultPage, XhrAnswer
from crawler.utils import CN_TZ, as_int, counts, traverse

SEARCH_API = "/rest/v/search/feed"
# ``result`` codes: 1 is an answer; these are refusals (2 rate limiting, 109 login required).
REFUSALS = {2: "rate-limited", 109: "login-wall"}
UNSIGNED = 50  # the page's own signature was refused: the site changed its script, not a refusal of us
VIDEO_DETAIL_QUERY = (
    "query visionVideoDetail($photoId: String, $type: String, $page: String, $webPageArea: String) {\n"
    "  visionVideoDetail(photoId: $photoId, type: $type, page: $page, webPageArea: $webPageArea) {\n"
    "    status\n    type\n    author {\n      id\n      name\n      following\n      headerUrl\n    }\n"
    "    photo {\n      id\n      duration\n      caption\n      likeCount\n      realLikeCount\n      coverUrl\n"
    "      photoUrl\n      liked\n      timestamp\n      expTag\n      llsid\n      viewCount\n      videoRatio\n"
    "    }\n    tags {\n      type\n      name\n    }\n  }\n}\n"
)


class KuaishouSpider(BrowserSearchSpider):
    """Searches www.kuaishou.com in a real browser page and reads the videos from the answers it receives."""

    name = "kuaishou"
    xhr_paths = (SEARCH_API,)
    url_patterns = (
        r"https?://(?:www\.)?kuaishou\.com/short-video/(?P<id>[0-9A-Za-z]+)(?:[?#].*)?",
        r"https?://(?:v\.m\.chenzhongtech\.com|m\.gifshow\.com)/fw/photo/(?P<id>[0-9A-Za-z]+)(?:[?#].*)?",
    )
    # v.kuaishou.com: the app's share links (followed through their redirects).
    link_hosts = ("www.kuaishou.com", "kuaishou.com", "v.kuaishou.com", "v.m.chenzhongtech.com", "m.gifshow.com")
    url_examples = (
        ("https://www.kuaishou.com/short-video/3xabcdefghijk2m", "3xabcdefghijk2m"),
        ("https://v.m.chenzhongtech.com/fw/photo/3xabcdefghijk2m?fid=1", "3xabcdefghijk2m"),
    )

    def search_request(self, keyword: str, page: int = 1) -> Request:
        query = urlencode({"searchKey": keyword})
        return self.browser_request(f"{self.cfg.origin}/search/video?{query}", self.parse_search, keyword=keyword)

    def post_request(self, post_id: str) -> Request:
        return JsonRequest(
            f"{self.cfg.origin}/graphql",
            data={"operationName": "visionVideoDetail", "variables": {"photoId": post_id, "page": "detail"},
                  "query": VIDEO_DETAIL_QUERY},
            callback=self.parse_detail,
            cb_kwargs={"post_id": post_id},
            dont_filter=True,
            headers={"Referer": f"{self.cfg.origin}/short-video/{post_id}"},
        )

    def refusal(self, answer: XhrAnswer, data: Any) -> str | None:
        if "risk-control" in answer.headers.get("intercept-result", ""):
            return "risk-control"  # the page now shows a captcha
        result = as_int(traverse(data, "result"))
        return REFUSALS.get(result) if result is not None else None

    def read_page(self, data: Any, keyword: str) -> ResultPage | None:
        result = as_int(traverse(data, "result"))
        if result == UNSIGNED:
            self.warn_once("unsigned", "kuaishou: the page's own signature was refused (result 50) for %r; "
                           "has the site changed its search page?", keyword)
            return None
        if result != 1:
            self.warn_once("api_error", "kuaishou: search answered result %s for %r", result, keyword)
            return None
        cursor = traverse(data, "pcursor")
        listed: list[str] = []
        posts = list(self.posts(traverse(data, "feeds", expected=list) or [], keyword, listed))
        return ResultPage(posts, not cursor or cursor == "no_more", listed)

    def posts(self, feeds: list[Any], keyword: str, listed: list[str] | None = None) -> Iterator[AdPost]:
        """The feed's videos that are due (``is_due``), every video's id added to ``listed`` (deleted videos leave
        the search index: they are never listed)."""
        for feed in feeds:
            photo_id = traverse(feed, "photo", "id")
            if not photo_id:
                self.count("feed_without_photo")  # live streams, users and banners share the list
                continue
            if listed is not None:
                listed.append(str(photo_id))
            if self.is_due(photo_id, keyword) and self.once(str(photo_id)):
                yield self.post(feed, keyword)

    def parse_detail(self, response: Response, post_id: str) -> Iterator[Any]:
        data = self.load_json(response)
        if data is None:
            if retry := self.retry(response.request, "malformed_json"):
                yield retry
            return
        if as_int(traverse(data, "result")) in REFUSALS:
            yield self.refused(REFUSALS[as_int(data["result"])], response)
            return
        detail = traverse(data, "data", "visionVideoDetail", expected=dict)
        if detail is None:
            self.warn_once("api_error", "kuaishou: video detail of %s without data (%s)", post_id,
                           traverse(data, "errors", 0, "message"))
            return
        if not isinstance(detail.get("photo"), dict):
            yield self.gone(post_id, f"{self.cfg.origin}/short-video/{post_id}", "deleted")
            return
        yield self.post(detail, None)

    def post(self, feed: dict[str, Any], keyword: str | None) -> AdPost:
        """One video from a search feed entry or a ``visionVideoDetail`` (both hold ``photo``, ``author``, ``tags``)."""
        photo = traverse(feed, "photo", expected=dict) or {}
        photo_id = photo.get("id")
        author_id = traverse(feed, "author", "id")
        stamp = as_int(photo.get("timestamp"))
        return self.make_post(
            photo_id,
            f"{self.cfg.origin}/short-video/{photo_id}",
            author=self.make_author(author_id, traverse(feed, "author", "name"),
                                    f"{self.cfg.origin}/profile/{author_id}" if author_id else None),
            text=photo.get("caption") or "",
            hashtags=[t["name"] for t in traverse(feed, "tags", expected=list) or []
                      if isinstance(t, dict) and t.get("name")],
            video_url=photo.get("photoUrl") or None,  # empty for picture posts (atlases)
            cover_url=photo.get("coverUrl") or traverse(photo, "coverUrls", 0, "url"),
            published_at=datetime.fromtimestamp(stamp / 1000, CN_TZ) if stamp else None,
            # likeCount is display text ("1.2万"); realLikeCount the number.
            engagement=counts(likes=photo.get("realLikeCount") or photo.get("likeCount"),
                              views=photo.get("viewCount"), comments=photo.get("commentCount")),
            keyword=keyword,
            raw=feed,
        )

    # --- follow-ups: GraphQL ``commentListQuery`` and ``visionProfile`` (unsigned on the web, as visionVideoDetail) --
    def graphql_request(self, operation: str, query: str, variables: dict[str, Any], callback: Any, referer: str,
                        **cb_kwargs: Any) -> Request:
        return JsonRequest(f"{self.cfg.origin}/graphql", callback=callback, cb_kwargs=cb_kwargs, dont_filter=True,
                           data={"operationName": operation, "variables": variables, "query": query},
                           headers={"Referer": referer})

    def comments_request(self, post: AdPost, pcursor: str = "") -> Request | None:
        variables = {"photoId": post.post_id, "pcursor": pcursor}
        return self.graphql_request("commentListQuery", COMMENT_LIST_QUERY, variables, self.parse_comments,
                                    f"{self.cfg.origin}/short-video/{post.post_id}", post=post)

    def profile_request(self, post: AdPost) -> Request | None:
        user_id = post.author.id
        if not user_id:
            return None
        return self.graphql_request("visionProfile", VISION_PROFILE_QUERY, {"userId": user_id}, self.parse_profile,
                                    f"{self.cfg.origin}/profile/{user_id}")

    def _graphql_data(self, response: Response, field: str) -> Any:
        """``data.{field}`` of a GraphQL answer; a Request (retry, or what ``refused()`` answers); or None."""
        data = self.load_json(response)
        if data is None:
            return self.retry(response.request, "malformed_json")
        if (result := as_int(traverse(data, "result"))) in REFUSALS:
            return self.refused(REFUSALS[result], response)
        found = traverse(data, "data", field, expected=dict)
        if found is None:
            self.warn_once("followup_api_error", "kuaishou: %s without data (%s)", field,
                           traverse(data, "errors", 0, "message"))
        return found

    def parse_comments(self, response: Response, post: AdPost) -> Any:
        found = self._graphql_data(response, "visionCommentList")
        if not isinstance(found, dict):
            return found
        comments = []
        for root in traverse(found, "rootComments", expected=list) or []:
            for c in (root, *(traverse(root, "subComments", expected=list) or [])) if isinstance(root, dict) else ():
                if isinstance(c, dict):
                    comments.append({"id": str(c.get("commentId") or ""), "text": c.get("content") or "",
                                     "author": {"id": str(c.get("authorId") or ""), "name": c.get("authorName")},
                                     "likes": as_int(c.get("realLikedCount") or c.get("likedCount"), 0),
                                     "reply_to": None if c is root else root.get("commentId"),
                                     "published_at": (as_int(c.get("timestamp")) or 0) // 1000 or None})
        cursor = found.get("pcursor")
        more = cursor and cursor != "no_more"
        return CommentPage(comments, self.comments_request(post, str(cursor)) if more else None)

    def parse_profile(self, response: Response) -> Any:
        found = self._graphql_data(response, "visionProfile")
        if not isinstance(found, dict):
            return found
        profile = traverse(found, "userProfile", "profile", expected=dict)
        if profile is None:
            return None  # result != 1: the account is gone or banned
        return Profile(bio=profile.get("user_text") or None, name=profile.get("user_name"),
                       followers=as_int(traverse(found, "userProfile", "ownerCount", "fan")))


COMMENT_LIST_QUERY = (
    "query commentListQuery($photoId: String, $pcursor: String) {\n"
    "  visionCommentList(photoId: $photoId, pcursor: $pcursor) {\n    commentCount\n    pcursor\n    rootComments {\n"
    "      commentId\n      authorId\n      authorName\n      content\n      headurl\n      timestamp\n"
    "      likedCount\n      realLikedCount\n      liked\n      status\n      authorLiked\n      subCommentCount\n"
    "      subCommentsPcursor\n      subComments {\n        commentId\n        authorId\n        authorName\n"
    "        content\n        headurl\n        timestamp\n        likedCount\n        realLikedCount\n"
    "        liked\n        status\n        authorLiked\n        replyToUserName\n        replyTo\n"
    "        __typename\n      }\n      __typename\n    }\n    __typename\n  }\n}\n"
)
VISION_PROFILE_QUERY = (
    "query visionProfile($userId: String) {\n  visionProfile(userId: $userId) {\n    result\n    hostName\n"
    "    userProfile {\n      ownerCount {\n        fan\n        photo\n        follow\n        photo_public\n"
    "        __typename\n      }\n      profile {\n        gender\n        user_name\n        user_id\n"
    "        headurl\n        user_text\n        user_profile_bg_url\n        __typename\n      }\n"
    "      isFollowing\n      __typename\n    }\n    __typename\n  }\n}\n"
)
