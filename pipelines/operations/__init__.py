"""Operations (团伙): posts and accounts linked, across platforms, by the same normalised contact, near-duplicate
text, the same picture or the same landing link; connected groups spanning several accounts.

Public API::

    book = OperationBook(store_path, min_accounts=2)   # the store's SQLite file, tables of its own
    changed = book.add_posts(post_dicts)               # incremental: {node: operation id} of what moved
    book.operations(); book.operation(op_id); book.operation_of("weibo:123") / ("account:weibo:42")
"""

from pipelines.operations.book import Operation, OperationBook, operation_id
from pipelines.operations.features import PostFeatures, post_features
from pipelines.operations.linker import Link, Linker

__all__ = ["Link", "Linker", "Operation", "OperationBook", "PostFeatures", "operation_id", "post_features"]
