"""One module per simulated platform; each defines one :class:`~tests.simulator.core.Site` subclass.

Adding a platform adds a module here: the registry below finds every site class by walking the package.
"""

from __future__ import annotations

import importlib
import pkgutil

from tests.simulator.core import Site


def _discover() -> dict[str, type[Site]]:
    sites: dict[str, type[Site]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Site) and value is not Site and value.__module__ == module.__name__:
                sites[value.name] = value
    return sites


SITES: dict[str, type[Site]] = _discover()
