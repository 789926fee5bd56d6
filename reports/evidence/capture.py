"""Capture flagged posts in a real browser: a full-page screenshot with the URL and capture time drawn onto it,
the page's HTML as served, and (when asked) a video of the visit, plus one capture record per session.

Every post gets a fresh browser context (no cookies, no cache, no profile): what the screenshot shows is what any
visitor saw. Captures live in ``<evidence>/captures/<session>/<platform>/<post_id>/``; ``captures/index.jsonl``
lists them (one line per capture) for the package and the desk.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from crawler.utils import CN_TZ
from reports.evidence.config import EvidenceConfig
from reports.evidence.record import capture_record

logger = logging.getLogger("adwatch.capture")
INDEX = "index.jsonl"
BANNER_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
VIEWPORT = {"width": 1080, "height": 1400}


@dataclass
class Capture:
    """What one post's capture left on disk (paths relative to the captures folder)."""

    uid: str
    url: str
    session: str
    captured_at: str
    status: int | None = None
    files: dict[str, str] = field(default_factory=dict)  # "screenshot" | "html" | "video" -> path
    error: str | None = None


def banner(png: bytes, url: str, when: datetime) -> bytes:
    """The screenshot with a strip on top: the URL and the capture time (Beijing time), as notaries expect."""
    shot = Image.open(BytesIO(png)).convert("RGB")
    try:
        font = ImageFont.truetype(BANNER_FONT, 22)
    except OSError:
        font = ImageFont.load_default()
    lines = [f"取证链接 URL: {url}", f"取证时间 (北京时间 UTC+8): {when.isoformat(timespec='seconds')}"]
    strip = 12 + 34 * len(lines)
    out = Image.new("RGB", (shot.width, shot.height + strip), "white")
    out.paste(shot, (0, strip))
    draw = ImageDraw.Draw(out)
    draw.rectangle([0, 0, shot.width, strip - 1], fill=(255, 244, 214))
    for i, line in enumerate(lines):
        draw.text((12, 8 + 34 * i), line[:160], fill="black", font=font)
    buf = BytesIO()
    out.save(buf, "PNG")
    return buf.getvalue()


def load_index(config: EvidenceConfig) -> dict[str, Capture]:
    """The newest capture of each post (uid -> Capture)."""
    path = config.captures / INDEX
    found: dict[str, Capture] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                capture = Capture(**json.loads(line))
            except (ValueError, TypeError):
                continue  # a line cut by a crash: the capture is redone next time
            found[capture.uid] = capture
    return found


async def _capture_one(browser: Any, config: EvidenceConfig, session: str, post: dict[str, Any],
                       sem: asyncio.Semaphore) -> Capture:
    uid = f"{post['platform']}:{post['post_id']}"
    folder = Path(session) / post["platform"] / str(post["post_id"])
    target = config.captures / folder
    target.mkdir(parents=True, exist_ok=True)
    now = datetime.now(CN_TZ)
    result = Capture(uid=uid, url=post["url"], session=session, captured_at=now.isoformat(timespec="seconds"))
    options: dict[str, Any] = {"viewport": VIEWPORT, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
    if config.capture_video:
        options["record_video_dir"] = str(target)
        options["record_video_size"] = {"width": 720, "height": 932}
    async with sem:
        context = await browser.new_context(**options)  # fresh: no cookies, storage or cache
        page = await context.new_page()
        try:
            response = await page.goto(post["url"], wait_until="load", timeout=config.capture_timeout_ms)
            result.status = response.status if response else None
            (target / "page.html").write_text(await page.content(), encoding="utf-8")
            result.files["html"] = (folder / "page.html").as_posix()
            png = await page.screenshot(full_page=True)
            (target / "screenshot.png").write_bytes(banner(png, post["url"], now))
            result.files["screenshot"] = (folder / "screenshot.png").as_posix()
        except Exception as exc:  # a dead page is evidence of its own; the sweep goes on
            result.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        finally:
            video = page.video
            await context.close()  # the video is written when its context closes
            if video is not None:
                path = Path(await video.path())
                final = target / "capture.webm"
                path.replace(final)
                result.files["video"] = (folder / "capture.webm").as_posix()
    return result


async def _capture_all(config: EvidenceConfig, session: str, posts: list[dict[str, Any]]) -> tuple[list[Capture], str]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=config.chromium, headless=True,
                                          args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            sem = asyncio.Semaphore(max(1, config.capture_concurrency))
            results = await asyncio.gather(*(_capture_one(browser, config, session, post, sem) for post in posts))
            return list(results), browser.version
        finally:
            await browser.close()


def capture_posts(config: EvidenceConfig, posts: Iterable[dict[str, Any]], proxy: str = "",
                  now: datetime | None = None) -> list[Capture]:
    """Capture ``posts`` (stored post dicts: platform, post_id, url) in one session; returns what was captured."""
    todo = [p for p in posts if p.get("url")]
    if not todo:
        return []
    started = (now or datetime.now(CN_TZ)).astimezone(CN_TZ)
    session = started.strftime("CAP-%Y%m%d-%H%M%S")
    results, browser_version = asyncio.run(_capture_all(config, session, todo))
    record = capture_record(session, started, datetime.now(CN_TZ), browser_version, config,
                            [r.url for r in results], proxy)
    (config.captures / session).mkdir(parents=True, exist_ok=True)
    (config.captures / session / "capture-record.json").write_text(
        json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    with (config.captures / INDEX).open("a", encoding="utf-8") as fh:
        for r in results:
            fh.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
    failed = [r for r in results if r.error]
    if failed:
        logger.warning("capture: %d of %d pages could not be captured (first: %s %s)", len(failed), len(results),
                       failed[0].url, failed[0].error)
    return results
