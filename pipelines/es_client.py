"""The Elasticsearch connection: settings read once into :class:`EsConfig`, and the client built from it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from elasticsearch import Elasticsearch
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from pipelines.store import data_dir, store_path

RETRY_STATUS = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class EsConfig:
    """Everything needed to talk to the cluster; secrets are kept out of ``repr`` (and so out of logs)."""

    url: str = field(repr=False)  # may carry user:password@
    index: str = "adwatch-posts"
    analyzer: str = "standard"
    api_key: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)
    ca_certs: str = ""
    batch_size: int = 500
    concurrency: int = 2  # bulk requests in flight: the cluster indexes one batch while the next is built
    flush_seconds: float = 5.0
    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    timeout: float = 30.0
    cooldown: float = 30.0
    spool: Path = Path("var/es-spool.jsonl")
    store: Path | None = None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> EsConfig:
        url = settings.get("ADWATCH_ES_URL") or ""
        if not url:
            raise NotConfigured("ADWATCH_ES_URL is empty: Elasticsearch indexing is off")
        return cls(
            url=url,
            index=settings.get("ADWATCH_ES_INDEX") or "adwatch-posts",
            analyzer=settings.get("ADWATCH_ES_ANALYZER") or "standard",
            api_key=settings.get("ADWATCH_ES_API_KEY") or "",
            username=settings.get("ADWATCH_ES_USERNAME") or "",
            password=settings.get("ADWATCH_ES_PASSWORD") or "",
            ca_certs=settings.get("ADWATCH_ES_CA_CERTS") or "",
            batch_size=settings.getint("ADWATCH_ES_BATCH_SIZE", 500),
            concurrency=max(1, settings.getint("ADWATCH_ES_CONCURRENCY", 2)),
            flush_seconds=settings.getfloat("ADWATCH_ES_FLUSH_SECONDS", 5.0),
            max_retries=settings.getint("ADWATCH_ES_MAX_RETRIES", 3),
            backoff=settings.getfloat("ADWATCH_ES_BACKOFF", 0.5),
            max_backoff=settings.getfloat("ADWATCH_ES_MAX_BACKOFF", 8.0),
            timeout=settings.getfloat("ADWATCH_ES_TIMEOUT", 30.0),
            cooldown=settings.getfloat("ADWATCH_ES_COOLDOWN", 30.0),
            spool=Path(settings.get("ADWATCH_ES_SPOOL") or data_dir(settings) / "es-spool.jsonl"),
            store=store_path(settings),
        )

    @property
    def safe_url(self) -> str:
        """The URL without any ``user:password@`` part, for log lines."""
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))


def make_client(config: EsConfig) -> Elasticsearch:
    auth: dict[str, Any] = {}
    if config.api_key:
        auth["api_key"] = config.api_key
    elif config.username:
        auth["basic_auth"] = (config.username, config.password)
    if config.ca_certs:
        auth["ca_certs"] = config.ca_certs
    return Elasticsearch(
        config.url,
        request_timeout=config.timeout,
        max_retries=config.max_retries,
        retry_on_status=(429, 502, 503, 504),
        retry_on_timeout=True,
        retry_backoff_base=config.backoff,
        retry_backoff_cap=config.max_backoff,
        **auth,
    )
