"""Reproducible benchmarks of the resource against peers (``python -m bench.<name>``)."""
