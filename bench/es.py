"""Elasticsearch indexing throughput: the index stage (docs/s) beside raw ``helpers.bulk`` of the same documents.

Both run in this process, against the same local node (tests/esnode.py, started here unless --url is given), with
the same template, batch size and documents, alternating rounds so neither gets a warmer JVM:
  raw    — ``helpers.bulk`` of ready-made actions (``_index``, ``_id``, ``_source``): the ceiling
  stage  — ``IndexStage.process_item`` over the AdPost items, as a crawl calls it (store look-ups for first_seen
           and the author's first post, document building, external versions, batching) and ``close_spider``
Goal: stage ≥ 90 % of raw.

    .venv/bin/python bench/es.py [--docs 20000] [--rounds 3] [--url http://127.0.0.1:9200]
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from elasticsearch import Elasticsearch, helpers  # noqa: E402
from itemadapter import ItemAdapter  # noqa: E402
from scrapy.utils.test import get_crawler  # noqa: E402

from crawler.items import AdPost, Author, to_plain  # noqa: E402
from pipelines import es_schema  # noqa: E402
from pipelines.detect import detection_sources  # noqa: E402
from pipelines.detection import Detector  # noqa: E402
from pipelines.index import IndexStage  # noqa: E402
from pipelines.store import SqliteStore  # noqa: E402

CN = timezone(timedelta(hours=8))
TEXTS = [
    "专业征信修复，逾期记录可以洗白，加微信 zxxf_{n} 咨询，成功率高",
    "停息挂账、协商还款，{n}位客户已上岸，私信我了解",
    "债务优化 个性化分期 停止催收，电话 138{n:08d}",
    "今天去公园散步，天气很好，晚上吃火锅 #{n}",
    "警惕所谓“征信修复”骗局，公安提醒：不要轻信 {n}",
    "反催收 代理维权 投诉退费，VX: fcs_{n} 免费咨询",
]
BATCH = 500


def make_posts(n: int, seed: int = 5) -> list[AdPost]:
    rng = random.Random(seed)
    detector = Detector()
    start = datetime(2026, 9, 1, tzinfo=CN)
    posts = []
    for i in range(n):
        platform = "weibo" if i % 2 else "douyin"
        text = TEXTS[i % len(TEXTS)].format(n=rng.randrange(10**7))
        ocr = "协商还款 加v tx_{0}".format(i) if i % 7 == 0 else ""
        post = AdPost(
            platform=platform, post_id=str(10_000_000 + i), url=f"https://example.invalid/{platform}/{i}",
            author=Author(id=f"a{i % 997}", name=f"账号{i % 997}"), text=text,
            image_urls=[f"https://wx1.sinaimg.cn/large/{i}.jpg"] if ocr else [],
            published_at=start + timedelta(minutes=17 * i), captured_at=datetime.now(timezone.utc),
            engagement={"likes": i % 50, "comments": i % 9}, keyword="征信修复",
            raw={"id": i, "text": text, "user": {"id": i % 997}},
            ocr=[{"source": "image:0", "text": ocr, "lines": [{"text": ocr, "box": [1, 2, 3, 4]}]}] if ocr else [],
            ocr_text=ocr,
        )
        detection = detector.detect(detection_sources(ItemAdapter(post)))
        post.detection = detection.to_dict()
        post.contacts = post.detection["contacts"]
        post.flagged = detection.flagged
        posts.append(post)
    return posts


def reset(client: Elasticsearch, prefix: str) -> None:
    client.options(ignore_status=404).indices.delete(index=f"{prefix}-*")


def run_raw(client: Elasticsearch, prefix: str, docs: list[dict]) -> float:
    prepare(client, prefix, docs)
    actions = [{"_index": es_schema.index_for(prefix, d), "_id": d["uid"], "_source": d} for d in docs]
    t = time.perf_counter()
    ok, errors = helpers.bulk(client, actions, chunk_size=BATCH, raise_on_error=False, stats_only=True)
    elapsed = time.perf_counter() - t
    assert ok == len(docs) and not errors, (ok, errors)
    return len(docs) / elapsed


def prepare(client: Elasticsearch, prefix: str, docs: list[dict]) -> None:
    """Template and monthly indices exist before timing, for both: a crawl creates an index once a month."""
    reset(client, prefix)
    es_schema.ensure_template(client, prefix, "standard")
    for index in sorted({es_schema.index_for(prefix, d) for d in docs}):
        es_schema.ensure_index(client, prefix, index)


def run_stage(url: str, prefix: str, data_dir: Path, posts: list[AdPost], client: Elasticsearch,
              docs: list[dict]) -> float:
    prepare(client, prefix, docs)
    crawler = get_crawler(settings_dict={
        "ADWATCH_ES_URL": url, "ADWATCH_ES_INDEX": prefix, "ADWATCH_DATA_DIR": str(data_dir),
        "ADWATCH_ES_BATCH_SIZE": BATCH,
    })
    stage = IndexStage.from_crawler(crawler)
    stage.open_spider()
    t = time.perf_counter()
    for post in posts:
        stage.process_item(post)
    stage.close_spider()
    elapsed = time.perf_counter() - t
    indexed = crawler.stats.get_value("adwatch/index/indexed", 0)
    assert indexed == len(posts), crawler.stats.get_stats()
    return len(posts) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", default="", help="an existing node (default: start one with tests/esnode.py)")
    args = parser.parse_args()

    node = None
    url = args.url
    if not url:
        from tests.esnode import EsNode

        node = EsNode(Path(tempfile.mkdtemp(prefix="adwatch-es-bench-")))
        url = node.start()
    client = Elasticsearch(url, request_timeout=120)
    try:
        with tempfile.TemporaryDirectory(prefix="adwatch-bench-") as tmp:
            data_dir = Path(tmp)
            print(f"building {args.docs} posts (detector, store) …", flush=True)
            posts = make_posts(args.docs)
            store = SqliteStore(data_dir / "adwatch.sqlite3")  # the store stage runs before the index stage
            for post in posts:
                store.upsert(to_plain(ItemAdapter(post).asdict()))
            stored, authors = {}, {}
            for doc in store.iter_posts():  # oldest first, as `scrapy reindex` computes the author's first post
                doc["author_first_seen"] = authors.setdefault((doc["platform"], doc["author"]["id"]), doc["first_seen"])
                stored[doc["uid"]] = doc
            store.close()
            docs = [es_schema.to_es_doc(stored[f"{p.platform}:{p.post_id}"]) for p in posts]

            # The harness holds every post and document in memory, which a crawl never does (items pass through):
            # keep that heap out of the garbage collector's way so it does not tax whichever side allocates more.
            gc.collect()
            gc.freeze()
            run_raw(client, "bench-warmup", docs[: min(len(docs), 5000)])  # JIT, caches, index creation paths
            reset(client, "bench-warmup")
            raw, stage = [], []
            for r in range(args.rounds):
                raw.append(run_raw(client, "bench-raw", docs))
                stage.append(run_stage(url, "bench-stage", data_dir, posts, client, docs))
                print(f"round {r + 1}: raw helpers.bulk {raw[-1]:8.0f} docs/s   index stage {stage[-1]:8.0f} docs/s"
                      f"   ratio {stage[-1] / raw[-1]:6.1%}", flush=True)
            for prefix in ("bench-raw", "bench-stage"):
                reset(client, prefix)
            raw_m, stage_m = statistics.median(raw), statistics.median(stage)
            ratio = statistics.median(s / r for s, r in zip(stage, raw))  # each round's pair ran back to back
            print(f"\nES bulk indexing, {args.docs} docs, batch {BATCH}, median of {args.rounds} rounds")
            print(f"  raw helpers.bulk : {raw_m:8.0f} docs/s")
            print(f"  IndexStage       : {stage_m:8.0f} docs/s")
            print(f"  ratio            : {ratio:8.1%}  (median of the per-round ratios; goal ≥ 90 %)")
    finally:
        client.close()
        if node is not None:
            node.stop()
            shutil.rmtree(node.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
