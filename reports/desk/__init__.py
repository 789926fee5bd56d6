"""The takedown desk: a small server-rendered web app where staff confirm or reject flagged posts, group confirmed
ones into a batch per platform, download the request in every filing format, seal the evidence, mark the batch
filed, and see what came down and how fast.

Entry points: :func:`reports.desk.app.create_app` (``scrapy desk``), :class:`reports.desk.db.DeskDb` (its tables in
the store's SQLite file), :func:`reports.desk.results.results` (the figures).
"""
