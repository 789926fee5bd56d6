"""Video ads on the text platforms (Tieba threads, WeChat articles): posted as the video's stills, as pictures."""

from __future__ import annotations

from tests.simulator import media
from tests.simulator.core import Reply, Site
from tests.simulator.corpus import SimPost


def pictures(post: SimPost) -> list[str]:
    """The texts of a post's pictures: its images, or for a video ad the stills of its video."""
    return post.image_texts or post.frame_texts


def still_reply(site: Site, stem: str) -> Reply:
    """``<post_id>_<k>``: the post's k-th picture (see :func:`pictures`)."""
    post_id, _, k = stem.partition("_")
    post = site.post(post_id)
    texts = pictures(post) if post else []
    if not k.isdigit() or int(k) >= len(texts):
        return 404, {}, b""
    return 200, {"Content-Type": "image/jpeg"}, media.image_bytes(texts[int(k)], site.config.seed)
