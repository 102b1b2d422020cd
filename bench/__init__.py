"""Reproducible benchmarks of the resource against peers.

``python -m bench.<name>`` runs one (``get_image``, ``put_image``,
``check_semver``, ``unpack_layer``); ``python -m bench`` runs them all,
briefly, and prints one table of ratios.
"""
