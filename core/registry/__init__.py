"""Talking to a remote registry over the distribution API.

- ``client``: ``Registry``, the client for one repository: ping, challenge
  and authentication, manifests (hashed and verified), tags, blobs.
- ``connect``: from ``source`` to a ready ``Registry`` (reference,
  credentials, TLS).
- ``mirror``: ``registry_mirror``, asked before Docker Hub.
- ``resolve``: many tags resolved at once over a bounded pool.
- ``push``: a ``LocalImage`` uploaded blob by blob, then its manifests.

``Registry``, ``Manifest`` and ``Descriptor`` are exported here: format
plugins import ``Manifest`` from ``registry_image.core.registry``.
"""

from .client import Descriptor, Manifest, Registry

__all__ = ["Descriptor", "Manifest", "Registry"]
