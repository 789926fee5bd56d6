"""Media stage: download a post's images, cover and video as content-addressed evidence, from its CDN only.

A subclass of Scrapy's own ``FilesPipeline``, so downloads share the crawler's scheduler, throttling, retries
and stats. What it adds:

* the SSRF rule — a URL is fetched only when its host matches the platform's ``PLATFORM_MEDIA_HOSTS`` globs on
  a default port, or is exactly one of the simulator's origins (``ADWATCH_SIMULATOR_ORIGINS``); IP literals,
  localhost and anything else are refused before a request exists, and redirects are not followed;
* per-kind size caps through ``download_maxsize``, which aborts on the ``Content-Length`` header, so a 2 GB
  video costs one response head, not 2 GB;
* SHA-256 file names (``ab/abcdef….jpg``), so a poster seen in a hundred posts is stored once;
* one :class:`~crawler.items.MediaAsset` per URL on ``item.media`` — with ``error`` set when it could not be
  fetched; a failed or refused download never drops the post.
"""

from __future__ import annotations

import fnmatch
import hashlib
import ipaddress
import mimetypes
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Self
from urllib.parse import urlsplit

import scrapy.pipelines.media as scrapy_media
from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.files import FilesPipeline
from scrapy.pipelines.media import FileInfo, FileInfoOrError, MediaPipeline
from scrapy.settings import BaseSettings
from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure

from crawler.items import MediaAsset
from pipelines.base import Stage
from pipelines.store import data_dir

KINDS = ("image", "cover", "video")

# Scrapy logs a failed media download with a traceback at ERROR, except "filtered" ones, which it logs at
# DEBUG. Our failures are expected (dead CDN links, oversized videos) and are counted and logged once by the
# stage, so they pass as "filtered". The class is private; fall back to the public one if it goes away.
_QuietFailure: type[Exception] = getattr(scrapy_media, "_MediaRequestFiltered", scrapy_media.FileException)


class MediaFailure(_QuietFailure):  # type: ignore[misc,valid-type]
    """A media URL that could not be used; ``reason`` is the stats event (``too-large``, ``http-404`` …)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def content_path(sha256: str, ext: str = "") -> str:
    """Where content with this digest lives under the media store: ``ab/abcdef….ext``."""
    return f"{sha256[:2]}/{sha256}{ext}"


def keep_content(target: Path, data: bytes) -> None:
    """Put content-addressed ``data`` at ``target`` unless a whole copy is already there.

    The name promises the content, so a later run trusts a file it finds under it: a half-written one (a crawl
    SIGKILLed between creating the file and writing it, a power loss) would be read as a broken picture for good,
    and an ad seen only in its picture would go unflagged on every run after. So the bytes go to a temporary
    sibling renamed over the name (a kill leaves either no file or the whole file), and a copy of another size
    (left by a writer that was not careful) is replaced.
    """
    try:
        if target.stat().st_size == len(data):
            return
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def media_store(settings: BaseSettings) -> Path:
    """The local media folder: ``FILES_STORE`` or ``<ADWATCH_DATA_DIR>/media``."""
    return Path(settings.get("FILES_STORE") or data_dir(settings) / "media")


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.scheme, parts.hostname.lower(), port


def blocked_reason(url: str, patterns: list[str], simulator_origin: str | Iterable[str] | None = None) -> str | None:
    """Why ``url`` must not be fetched, or None when it is on the platform's CDN (or the simulator's origin).

    Only names are allowed, never addresses: an IP literal (127.0.0.1, 10.x, 169.254.169.254, ::1 …) is
    refused even if a pattern would match it, and CDN hosts only on their default port, so a crafted post
    cannot make the crawler probe internal services. The simulator origin must match scheme, host and port.
    """
    origin = _origin(url)
    if origin is None or origin[0] not in ("http", "https"):
        return "bad-url"
    simulators = [simulator_origin] if isinstance(simulator_origin, str) else list(simulator_origin or ())
    if any(origin == _origin(o) for o in simulators if o):
        return None
    scheme, host, port = origin
    try:
        ipaddress.ip_address(host.strip("[]"))
        return "ip-address"
    except ValueError:
        pass
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "local-host"
    if port != {"http": 80, "https": 443}[scheme]:
        return "port"
    if not any(fnmatch.fnmatchcase(host, p.lower()) for p in patterns):
        return "host-not-allowed"
    return None


@dataclass(frozen=True)
class MediaConfig:
    store: str
    hosts: dict[str, list[str]]  # platform → host globs
    simulator_origin: tuple[str, ...]
    max_bytes: dict[str, int]  # kind → cap
    max_images: int


class MediaStage(FilesPipeline, Stage):
    """Download images, cover and video of a post from its platform's CDN; record a MediaAsset for each."""

    name = "media"
    MEDIA_NAME = "media"

    def __init__(self, config: MediaConfig, crawler: Crawler) -> None:
        Stage.__init__(self, crawler.stats, config, crawler)
        FilesPipeline.__init__(self, config.store, crawler=crawler)
        # Redirects stay off (Scrapy's default for media): following one would step around the host rule.
        self.allow_redirects = False
        self._handle_statuses(False)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(cls.config_from_settings(crawler.settings), crawler)

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> MediaConfig:
        caps = {"image": 10 << 20, "cover": 10 << 20, "video": 64 << 20}
        caps.update({k: int(v) for k, v in settings.getdict("ADWATCH_MEDIA_MAX_BYTES").items()})
        return MediaConfig(
            store=str(media_store(settings)),
            hosts={k: list(v) for k, v in settings.getdict("PLATFORM_MEDIA_HOSTS").items()},
            simulator_origin=tuple(settings.getlist("ADWATCH_SIMULATOR_ORIGINS")),
            max_bytes=caps,
            max_images=settings.getint("ADWATCH_MEDIA_MAX_IMAGES", 9),
        )

    # --- What to fetch --------------------------------------------------------------------------------------

    def plan(self, item: Any) -> list[tuple[MediaAsset, Request | None]]:
        """Every media URL of the item as an asset, with the request to fetch it (None when refused).

        Pure: called once to build the requests and again to pair Scrapy's results with them, in order.
        """
        adapter = ItemAdapter(item)
        platform = adapter.get("platform") or ""
        wanted: list[tuple[str, int, str]] = [
            ("image", k, url) for k, url in enumerate((adapter.get("image_urls") or [])[: self.config.max_images])
        ]
        if adapter.get("cover_url"):
            wanted.append(("cover", 0, adapter["cover_url"]))
        if adapter.get("video_url"):
            wanted.append(("video", 0, adapter["video_url"]))
        planned: list[tuple[MediaAsset, Request | None]] = []
        for kind, index, url in wanted:
            asset = MediaAsset(url=url, kind=kind, index=index)
            reason = blocked_reason(url, self.config.hosts.get(platform, []), self.config.simulator_origin)
            if reason:
                asset.error = f"blocked: {reason}"
                planned.append((asset, None))
                continue
            meta = {
                "adwatch_media_kind": kind,
                "download_maxsize": self.config.max_bytes.get(kind, 0),
                # The host rule above is the gate for media; spiders' allowed_domains list page hosts only.
                "allow_offsite": True,
            }
            planned.append((asset, Request(url, callback=NO_CALLBACK, meta=meta)))
        return planned

    def get_media_requests(self, item: Any, info: MediaPipeline.SpiderInfo) -> list[Request]:
        return [request for _, request in self.plan(item) if request is not None]

    def media_to_download(self, request: Request, info: MediaPipeline.SpiderInfo, *, item: Any = None) -> None:
        # Content-addressed: the path is known only from the body, so there is nothing to look up beforehand.
        return None

    # --- Fetching -------------------------------------------------------------------------------------------

    def file_path(self, request: Request, response: Response | None = None,
                  info: MediaPipeline.SpiderInfo | None = None, *, item: Any = None) -> str:
        if response is None:
            raise ValueError("content-addressed media paths need the response body")
        return content_path(hashlib.sha256(response.body).hexdigest(), _extension(request, response))

    async def media_downloaded(self, response: Response, request: Request, info: MediaPipeline.SpiderInfo, *,
                               item: Any = None) -> FileInfo:
        if response.status != 200:
            raise MediaFailure(f"http-{response.status}")
        if not response.body:
            raise MediaFailure("empty")
        sha = hashlib.sha256(response.body).hexdigest()
        path = content_path(sha, _extension(request, response))
        keep_content(Path(self.config.store, path), response.body)  # not FilesPipeline's store: see keep_content
        return {
            "url": request.url,
            "path": path,
            "checksum": sha,
            "status": "downloaded",
            "bytes": len(response.body),  # type: ignore[typeddict-unknown-key]
            "mime": _mime(response),  # type: ignore[typeddict-unknown-key]
        }

    def media_failed(self, failure: Failure, request: Request, info: MediaPipeline.SpiderInfo) -> Any:
        error = failure.value
        if isinstance(error, MediaFailure):
            raise error
        # Over the cap by Content-Length, Scrapy says "max size"; over it mid-stream, it cancels without a word.
        if isinstance(error, (DownloadCancelledError, CancelledError)) and ("max size" in str(error) or not str(error)):
            raise MediaFailure("too-large") from error
        if isinstance(error, IgnoreRequest):
            raise MediaFailure("filtered") from error
        raise MediaFailure(f"download-error/{type(error).__name__}") from error

    # --- Recording ------------------------------------------------------------------------------------------

    def item_completed(self, results: list[FileInfoOrError], item: Any, info: MediaPipeline.SpiderInfo) -> Any:
        adapter = ItemAdapter(item)
        platform = adapter.get("platform")
        pending = iter(results)
        assets: list[MediaAsset] = []
        for asset, request in self.plan(item):
            if request is not None:
                ok, value = next(pending)
                if ok and value:
                    asset.path, asset.sha256 = value["path"], value["checksum"]
                    asset.bytes, asset.mime = value.get("bytes"), value.get("mime")
                else:
                    error = value.value if isinstance(value, Failure) else None
                    asset.error = error.reason if isinstance(error, MediaFailure) else f"failed: {error!r}"
            assets.append(asset)
            self._record(asset, platform)
        adapter["media"] = assets
        return item

    def _record(self, asset: MediaAsset, platform: str | None) -> None:
        if asset.error is None:
            self.count(f"downloaded/{asset.kind}", platform=platform)
            self.count("bytes", asset.bytes or 0)
            return
        reason = asset.error.split(":")[0].split("/")[0]
        event = "blocked" if reason == "blocked" else f"failed/{reason}"
        self.count(event, platform=platform)
        self.warn_once(event, "Media %s %s not used: %s; the post is kept without it",
                       asset.kind, asset.url, asset.error)


def _mime(response: Response) -> str | None:
    value = response.headers.get("Content-Type")
    if not value:
        return None
    return value.decode("latin-1").split(";")[0].strip().lower() or None


def _extension(request: Request, response: Response) -> str:
    """File suffix from the Content-Type, else from the URL path ('.jpg', '.mp4'); '' when neither says."""
    mime = _mime(response)
    ext = mimetypes.guess_extension(mime) if mime else None
    if not ext:
        ext = PurePosixPath(urlsplit(request.url).path).suffix.lower()
        ext = ext if ext in mimetypes.types_map else ""
    return {".jpe": ".jpg", ".jpeg": ".jpg"}.get(ext, ext)
