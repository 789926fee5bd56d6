"""Takedown requests rendered per platform from the store (Jinja2, autoescaped, StrictUndefined)."""
