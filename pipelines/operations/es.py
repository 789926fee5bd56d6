"""``operation_id`` on posts and accounts in Elasticsearch, after operations grew or merged."""

from __future__ import annotations

from collections import defaultdict

from pipelines.es_client import EsConfig, make_client

SET_OPERATION = "ctx._source.operation_id = params.op"


def tag_operations(config: EsConfig, changed: dict[str, str], accounts_index: str = "adwatch-accounts") -> None:
    """Set each changed node's operation id: posts (``uid``) in the posts alias, accounts (``account:key``) in the
    accounts index."""
    posts: dict[str, list[str]] = defaultdict(list)
    accounts: dict[str, list[str]] = defaultdict(list)
    for node, op_id in changed.items():
        if node.startswith("account:"):
            accounts[op_id].append(node.removeprefix("account:"))
        else:
            posts[op_id].append(node)
    client = make_client(config)
    try:
        for index, by_id, groups in ((config.index, False, posts), (accounts_index, True, accounts)):
            if not groups or not client.indices.exists(index=index):
                continue
            for op_id, ids in groups.items():
                for start in range(0, len(ids), 1000):
                    chunk = ids[start : start + 1000]
                    client.update_by_query(index=index, conflicts="proceed", refresh=True,
                                           query={"ids": {"values": chunk}} if by_id else {"terms": {"uid": chunk}},
                                           script={"source": SET_OPERATION, "params": {"op": op_id}})
    finally:
        client.close()
