"""Pytest fixtures for tests against a real Elasticsearch node (tests/esnode.py); tests using them are marked ``es``.

Enable with ``pytest_plugins = ["tests.es_fixtures"]`` in tests/conftest.py. The node is started once per session
(about 30 s) and stopped at the end; each test gets its own index prefix, so tests never see each other's posts.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

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


@pytest.fixture
def es_index(es_client: Elasticsearch) -> Iterator[str]:
    """A fresh index prefix for one test; its indices and template are deleted afterwards."""
    prefix = f"adwatch-test-{uuid.uuid4().hex[:8]}"
    yield prefix
    es_client.options(ignore_status=404).indices.delete(index=f"{prefix}-*")
    es_client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-template")
