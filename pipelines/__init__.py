"""adwatch item pipelines: one module per stage, all of the same shape (see ``pipelines.base``)."""
