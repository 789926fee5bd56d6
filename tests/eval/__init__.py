"""Labelled evaluation set of the detector (see make_eval.py and dataset.py)."""
