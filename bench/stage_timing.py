"""Per-stage timing for benchmarks: ``bench.stage_timing.<module>__<Class>`` is that pipeline stage, timed.

``ITEM_PIPELINES = {"bench.stage_timing.pipelines__ocr__OcrStage": 400, …}`` runs the real stage and adds the
seconds each item spent in it to the stat ``adwatch/bench/<stage>/seconds`` (wall time from the call to the
item's return: for media and OCR that includes waiting for downloads and threads).
"""

from __future__ import annotations

import importlib
import inspect
import time
from typing import Any

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred


def timed(base: type) -> type:
    """A subclass of the stage ``base`` whose ``process_item`` records its time per item."""
    label = getattr(base, "name", base.__name__)

    async def process_item(self: Any, item: Any, *args: Any) -> Any:
        start = time.perf_counter()
        result = base.process_item(self, item, *args)
        if isinstance(result, Deferred):
            result = await maybe_deferred_to_future(result)
        elif inspect.isawaitable(result):
            result = await result
        stats = getattr(self, "crawler", None) and self.crawler.stats
        if stats:
            stats.inc_value(f"adwatch/bench/{label}/seconds", time.perf_counter() - start)
            stats.inc_value(f"adwatch/bench/{label}/items")
        return result

    return type(f"Timed{base.__name__}", (base,), {"process_item": process_item, "__module__": __name__})


def __getattr__(name: str) -> type:
    module, _, cls = name.rpartition("__")
    if name.startswith("_") or not module:
        raise AttributeError(name)
    base = getattr(importlib.import_module(module.replace("__", ".")), cls)
    globals()[name] = stage = timed(base)
    return stage


def timed_pipelines(pipelines: dict[str, int]) -> dict[str, int]:
    """The same pipelines, each through its timed subclass."""
    return {f"{__name__}.{path.rpartition('.')[0].replace('.', '__')}__{path.rpartition('.')[2]}": prio
            for path, prio in pipelines.items()}
