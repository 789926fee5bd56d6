"""Pytest fixtures for tests against a real Elasticsearch node (tests/esnode.py); tests using them are marked ``es``.

Enable with ``pytest_plugins = ["tests.es_fixtures"]`` in tests/conftest.py. The node is started once per session
(about 30 s) and stopped at the end; each test gets its own index prefix, so tests never see each other's posts.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipelines.store import SqliteStore
from tests.esnode import EsNode, provision


@pytest.fixture(scope="session")
def es_node() -> Iterator[EsNode]:
    """A running node: ``.url``; ``.kill()`` (SIGKILL) then ``.start()`` restarts it on the same data and port."""
    home = provision(log=lambda msg: None)
    # Not under pytest's tmp dir: that is private to root, and the node may run as another user.
    workdir = Path(tempfile.mkdtemp(prefix="adwatch-es-"))
    node = EsNode(workdir, home)
    try:
        node.start()
        yield node
    finally:
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def es_url(es_node: EsNode) -> str:
    """The node's URL, restarting the node first if an earlier test left it killed."""
    return es_node.start()


@pytest.fixture
def es_client(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


def drop_prefix(client: Elasticsearch, prefix: str) -> None:
    """Delete the indices and the index template of ``prefix``."""
    client.options(ignore_status=404).indices.delete(index=f"{prefix}-*")
    client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-template")


@pytest.fixture
def es_index(es_client: Elasticsearch) -> Iterator[str]:
    """A fresh index prefix for one test; its indices and template are deleted afterwards."""
    prefix = f"adwatch-test-{uuid.uuid4().hex[:8]}"
    yield prefix
    drop_prefix(es_client, prefix)


@pytest.fixture(scope="module")
def es_module_index(es_node: EsNode) -> Iterator[tuple[str, str]]:
    """``(url, prefix)`` for a module's shared sweep (``ADWATCH_ES_URL`` / ``ADWATCH_ES_INDEX``); dropped after it."""
    url = es_node.start()
    prefix = f"adwatch-mod-{uuid.uuid4().hex[:8]}"
    yield url, prefix
    client = Elasticsearch(url, request_timeout=60)
    drop_prefix(client, prefix)
    client.close()


def assert_index_counts_equal_store(url: str, prefix: str, store: SqliteStore, platforms: Iterable[str]) -> None:
    """Per platform, the index holds as many posts, and as many flagged posts, as the store."""
    client = Elasticsearch(url, request_timeout=60)
    try:
        client.indices.refresh(index=f"{prefix}-*")
        for platform in platforms:
            assert store.count(platform) > 0, f"the sweep stored nothing for {platform}"
            indexed = client.count(index=prefix, query={"term": {"platform": platform}})["count"]
            flagged = client.count(index=prefix, query={"bool": {"filter": [
                {"term": {"platform": platform}}, {"term": {"flagged": True}}]}})["count"]
            assert (platform, indexed, flagged) == (platform, store.count(platform), store.count(platform, True))
    finally:
        client.close()
